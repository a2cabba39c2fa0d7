// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ipcon demo: run it where the ipcon kernel module is loaded.
//!
//! One executable plays every role; the orchestrator re-executes itself
//! with a role argument:
//!
//! 1. `echo`: a service "demo.echo" answering three requests from the
//!    orchestrator, which prints the replies with their kernel-stamped sender;
//! 2. two `subscriber`s of the group "demo.temperature" (registered with the
//!    retain flag by the orchestrator, which publishes readings);
//! 3. a `late` joiner that joins with the LAST flag and gets the retained
//!    reading at once;
//! 4. a `watcher` subscribed to kernel events, and a `worker` registering
//!    "demo.worker" that is then killed with SIGKILL: the watcher reports
//!    SRV_REMOVED and PEER_GONE.
//!
//! Exits 0 when every step worked, 1 otherwise. Every receive has a timeout,
//! so the demo never hangs.
//!
//! ```text
//! cargo run --example demo
//! ```

use std::process::{Child, Command, ExitCode};
use std::thread::sleep;
use std::time::{Duration, Instant};

use ipcon::{Error, EventKind, GroupFlags, JoinFlags, Message, Peer, RECV_BUFFER_SIZE};

const SERVICE: &str = "demo.echo";
const GROUP: &str = "demo.temperature";
const WORKER: &str = "demo.worker";
const WATCHER: &str = "demo.watcher";
const READINGS: [&str; 3] = ["21.5 C", "21.7 C", "22.1 C"];
const WAIT: Duration = Duration::from_secs(5);

type Res<T = ()> = Result<T, String>;

fn ctx(what: &str) -> impl FnOnce(Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn open(role: &str) -> Res<Peer> {
    let peer = Peer::open().map_err(ctx("opening a peer"))?;
    println!("[{role}] peer open, port {}", peer.port());
    Ok(peer)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let role = args.get(1).map(String::as_str).unwrap_or("main");
    let result = match role {
        "main" => orchestrate(),
        "echo" => echo(),
        "subscriber" => subscriber(args.get(2).map(String::as_str).unwrap_or("sub")),
        "late" => late(),
        "watcher" => watcher(),
        "worker" => worker(),
        other => Err(format!("unknown role {other:?}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let tag = if role == "main" { "demo" } else { role };
            eprintln!("[{tag}] FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Children that are killed if the orchestrator bails out early.
struct Children(Vec<(String, Child)>);

impl Children {
    fn spawn(&mut self, args: &[&str]) -> Res<usize> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let child = Command::new(exe)
            .args(args)
            .spawn()
            .map_err(|e| format!("spawning {args:?}: {e}"))?;
        self.0.push((args.join(" "), child));
        Ok(self.0.len() - 1)
    }

    /// Wait for child `i` to exit successfully within `timeout`.
    fn wait(&mut self, i: usize, timeout: Duration) -> Res {
        let (name, child) = &mut self.0[i];
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("{name} failed ({status})")),
                Ok(None) if start.elapsed() > timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{name} did not finish in {timeout:?}"));
                }
                Ok(None) => sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for {name}: {e}")),
            }
        }
    }

    fn kill(&mut self, i: usize) -> Res {
        let (name, child) = &mut self.0[i];
        child.kill().map_err(|e| format!("killing {name}: {e}"))?;
        child.wait().map_err(|e| format!("reaping {name}: {e}"))?;
        Ok(())
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, child) in &mut self.0 {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Retry `f` until it succeeds or `WAIT` passes.
fn until<T>(what: &str, mut f: impl FnMut() -> Result<Option<T>, Error>) -> Res<T> {
    let start = Instant::now();
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) | Err(Error::NoSuchService) | Err(Error::NoSuchGroup) => {}
            Err(e) => return Err(format!("{what}: {e}")),
        }
        if start.elapsed() > WAIT {
            return Err(format!("timed out: {what}"));
        }
        sleep(Duration::from_millis(20));
    }
}

fn orchestrate() -> Res {
    let mut peer = open("demo")?;
    let mut kids = Children(Vec::new());
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];

    // 1. Request / reply with a service.
    println!("--- 1. service {SERVICE}: request / reply");
    let echo = kids.spawn(&["echo"])?;
    let port = until("waiting for the echo service", || {
        peer.resolve(SERVICE).map(Some)
    })?;
    println!("[client] {SERVICE} resolved to port {port}");
    for i in 1..=3 {
        let req = format!("ping {i}");
        peer.send_to_service(SERVICE, req.as_bytes())
            .map_err(ctx("sending a request"))?;
        match peer
            .recv_timeout(&mut buf, WAIT)
            .map_err(ctx("waiting for a reply"))?
        {
            Message::Unicast(m) => println!(
                "[client] reply from port {} (service {}, pid {}, uid {}): \"{}\"",
                m.sender.port,
                m.sender.service.unwrap_or("-"),
                m.sender.pid,
                m.sender.uid,
                text(m.data)
            ),
            other => return Err(format!("expected a reply, got {other:?}")),
        }
    }
    kids.wait(echo, WAIT)?;

    // 2. A retained group with two subscribers.
    println!("--- 2. group {GROUP}: publish to two subscribers");
    peer.register_group(GROUP, GroupFlags::RETAIN)
        .map_err(ctx("registering the group"))?;
    let subs = [
        kids.spawn(&["subscriber", "sub-1"])?,
        kids.spawn(&["subscriber", "sub-2"])?,
    ];
    let mut dump = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    until("waiting for two members", || {
        let mut members = 0;
        peer.groups(&mut dump, |g| {
            if g.name == GROUP {
                members = g.members;
            }
        })?;
        Ok((members >= 2).then_some(()))
    })?;
    for reading in READINGS {
        println!("[publisher] {GROUP} <- \"{reading}\"");
        peer.publish(GROUP, reading.as_bytes())
            .map_err(ctx("publishing"))?;
    }
    for s in subs {
        kids.wait(s, WAIT)?;
    }

    // 3. A late joiner gets the retained reading.
    println!("--- 3. late joiner with the LAST flag");
    let late = kids.spawn(&["late"])?;
    kids.wait(late, WAIT)?;

    // 4. Events: a worker is killed.
    println!("--- 4. events: SIGKILL a worker");
    let watcher = kids.spawn(&["watcher"])?;
    until("waiting for the watcher", || {
        peer.resolve(WATCHER).map(Some)
    })?;
    let worker = kids.spawn(&["worker"])?;
    let worker_port = until("waiting for the worker", || peer.resolve(WORKER).map(Some))?;
    println!("[demo] killing the worker (port {worker_port}) with SIGKILL");
    kids.kill(worker)?;
    kids.wait(watcher, WAIT)?;

    println!("--- all demo steps passed");
    Ok(())
}

fn echo() -> Res {
    let mut peer = open("echo")?;
    peer.register_service(SERVICE)
        .map_err(ctx("registering the service"))?;
    println!("[echo] serving {SERVICE}");
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut answered = 0;
    while answered < 3 {
        let (from, reply) = match peer
            .recv_timeout(&mut buf, WAIT)
            .map_err(ctx("waiting for a request"))?
        {
            Message::Unicast(m) => {
                println!(
                    "[echo] request from port {} (pid {}): \"{}\"",
                    m.sender.port,
                    m.sender.pid,
                    text(m.data)
                );
                (m.sender.port, format!("echo: {}", text(m.data)))
            }
            other => {
                println!("[echo] ignoring {other:?}");
                continue;
            }
        };
        peer.send_to_port(from, reply.as_bytes())
            .map_err(ctx("replying"))?;
        answered += 1;
    }
    Ok(())
}

fn subscriber(name: &str) -> Res {
    let mut peer = open(name)?;
    peer.join(GROUP, JoinFlags::empty())
        .map_err(ctx("joining"))?;
    println!("[{name}] joined {GROUP}");
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    for expected in READINGS {
        match peer
            .recv_timeout(&mut buf, WAIT)
            .map_err(ctx("waiting for a reading"))?
        {
            Message::Group(m) if m.group == GROUP && m.data == expected.as_bytes() => println!(
                "[{name}] {GROUP}: \"{}\" from port {} (pid {})",
                text(m.data),
                m.sender.port,
                m.sender.pid
            ),
            other => return Err(format!("expected \"{expected}\", got {other:?}")),
        }
    }
    Ok(())
}

fn late() -> Res {
    let mut peer = open("late")?;
    peer.join(GROUP, JoinFlags::LAST).map_err(ctx("joining"))?;
    let last = READINGS[READINGS.len() - 1];
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    match peer
        .recv_timeout(&mut buf, WAIT)
        .map_err(ctx("waiting for the retained reading"))?
    {
        Message::Group(m) if m.retained && m.data == last.as_bytes() => {
            println!(
                "[late] joined {GROUP}, retained reading at once: \"{}\"",
                text(m.data)
            );
            Ok(())
        }
        other => Err(format!("expected the retained \"{last}\", got {other:?}")),
    }
}

fn watcher() -> Res {
    let mut peer = open("watcher")?;
    peer.subscribe_events()
        .map_err(ctx("subscribing to events"))?;
    // Registering a service tells the orchestrator we are ready.
    peer.register_service(WATCHER).map_err(ctx("registering"))?;
    println!("[watcher] subscribed to events");
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let (mut worker, mut removed, mut gone) = (None, false, false);
    while !(removed && gone) {
        let ev = match peer
            .recv_timeout(&mut buf, WAIT)
            .map_err(ctx("waiting for events"))?
        {
            Message::Event(ev) => ev,
            Message::Lost(l) => return Err(format!("lost {} events", l.count)),
            _ => continue,
        };
        let name = ev.name.unwrap_or("-");
        match ev.kind {
            EventKind::ServiceAdded if name == WORKER => {
                println!("[watcher] SRV_ADDED {name} (port {})", ev.port);
                worker = Some(ev.port);
            }
            EventKind::ServiceRemoved if name == WORKER => {
                println!("[watcher] SRV_REMOVED {name} (port {})", ev.port);
                removed = true;
            }
            EventKind::PeerGone if Some(ev.port) == worker => {
                println!("[watcher] PEER_GONE port {}", ev.port);
                gone = true;
            }
            _ => {}
        }
    }
    Ok(())
}

fn worker() -> Res {
    let mut peer = open("worker")?;
    peer.register_service(WORKER).map_err(ctx("registering"))?;
    println!("[worker] serving {WORKER}, waiting to be killed");
    // Killed by the orchestrator; give up after a while so it never lingers.
    sleep(Duration::from_secs(30));
    Err("was not killed".into())
}
