// SPDX-License-Identifier: MIT OR Apache-2.0
//! Helper roles run as separate processes (`ipcon-vmtests --child ROLE ...`):
//! another uid, a process to SIGKILL, a peer in another network namespace.

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc;

use ipcon::{Error, GroupFlags, JoinFlags, Peer};

/// Run a role; the return value is the process exit status.
pub fn run(args: &[String]) -> i32 {
    let r = match args.first().map(String::as_str) {
        Some("send-to") if args.len() == 3 => send_to(&args[1], &args[2]),
        Some("hold") if args.len() == 4 => hold(&args[1], &args[2], &args[3]),
        Some("netns-check") if args.len() == 2 => netns_check(&args[1]),
        _ => Err(format!("unknown child role {args:?}")),
    };
    match r {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("child {args:?}: {e}");
            1
        }
    }
}

fn open() -> Result<Peer, String> {
    Peer::open().map_err(|e| format!("open: {e:?}"))
}

fn send_to(port: &str, text: &str) -> Result<(), String> {
    let port: u32 = port.parse().map_err(|_| "bad port")?;
    let mut p = open()?;
    p.send_to_port(port, text.as_bytes())
        .map_err(|e| format!("send: {e:?}"))
}

/// Register a service and a group, join another group, report the port on
/// stdout, then wait to be killed.
fn hold(svc: &str, grp: &str, join: &str) -> Result<(), String> {
    let mut p = open()?;
    p.register_service(svc).map_err(|e| format!("{e:?}"))?;
    p.register_group(grp, GroupFlags::RETAIN)
        .map_err(|e| format!("{e:?}"))?;
    p.join(join, JoinFlags::empty())
        .map_err(|e| format!("{e:?}"))?;
    p.subscribe_events().map_err(|e| format!("{e:?}"))?;
    println!("ready {}", p.port());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

/// In a fresh network namespace: the parent's service is invisible, the same
/// name can be registered here, and the list shows only this namespace.
fn netns_check(name: &str) -> Result<(), String> {
    let mut p = open()?;
    match p.resolve(name) {
        Err(Error::NoSuchService) => {}
        other => return Err(format!("resolve {name} across namespaces: {other:?}")),
    }
    p.register_service(name)
        .map_err(|e| format!("register: {e:?}"))?;
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut all = Vec::new();
    p.services(&mut buf, |s| all.push((s.name.to_string(), s.port)))
        .map_err(|e| format!("list: {e:?}"))?;
    if all != [(name.to_string(), p.port())] {
        return Err(format!("namespace lists {all:?}"));
    }
    Ok(())
}

/// Read the child's "ready PORT" line (5 s at most).
pub fn read_ready(child: &mut Child) -> Result<u32, String> {
    let out = child.stdout.take().ok_or("child stdout not piped")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(crate::suite::WAIT)
        .map_err(|_| "child did not get ready")?;
    line.trim()
        .strip_prefix("ready ")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| format!("child said {line:?}"))
}
