// SPDX-License-Identifier: MIT OR Apache-2.0
//! Helper roles run as separate processes (`ipcon-vmtests --child ROLE ...`):
//! another uid, a process to SIGKILL, a peer in another network namespace,
//! and the security roles (`as`, `try`, `serve`, ...) that report what the
//! kernel answered on stdout, one line per answer, for the parent to check.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipcon::policy::{self, Action, Rule, Who};
use ipcon::{Error, EventKind, GroupFlags, JoinFlags, Message, Peer};

use crate::suite::{QUIET, WAIT};

/// Payload of the `retain` operation and of the `retain-limit` role.
pub const RETAIN_PAYLOAD: usize = 12000;

/// Run a role; the return value is the process exit status.
pub fn run(args: &[String]) -> i32 {
    let r = match args.first().map(String::as_str) {
        Some("send-to") if args.len() == 3 => send_to(&args[1], &args[2]),
        Some("hold") if args.len() == 4 => hold(&args[1], &args[2], &args[3]),
        Some("netns-check") if args.len() == 2 => netns_check(&args[1]),
        Some("as") if args.len() >= 5 => match set_creds(&args[1], &args[2], &args[3]) {
            Ok(()) => return run(&args[4..]),
            Err(e) => Err(e),
        },
        Some("try") if args.len() % 2 == 1 => try_ops(&args[1..]),
        Some("serve") if args.len() % 2 == 1 => serve(&args[1..]),
        Some("sender-loop") if args.len() == 2 => sender_loop(&args[1]),
        Some("takeover") if args.len() == 4 => takeover(&args[1], &args[2], &args[3]),
        Some("deputy") if args.len() == 2 => deputy(&args[1]),
        Some("pidns-send") if args.len() == 2 => pidns_send(&args[1]),
        Some("recv-one") if args.len() == 1 => recv_one(),
        Some("limit") if args.len() == 4 => limit(&args[1], &args[2], &args[3]),
        Some("retain-limit") if args.len() == 3 => retain_limit(&args[1], &args[2]),
        Some("cg-publish") if args.len() == 5 => cg_publish(&args[1], &args[2], &args[3], &args[4]),
        Some("raw-policy") if args.len() == 1 => raw_policy(),
        Some("pair-race") if args.len() == 2 => crate::race_roles::pair_race(&args[1]),
        Some("churn") if args.len() == 3 => crate::race_roles::churn(&args[1], &args[2]),
        Some("publish-seq") if args.len() == 2 => crate::race_roles::publish_seq(&args[1]),
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

fn num<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s:?}"))
}

/// `as UID GID GROUPS ROLE...`: take these credentials (GROUPS: comma
/// separated supplementary gids, or `-` for none), then run ROLE. The
/// process has a single thread here, so the thread's credentials that
/// rustix sets are the whole process's.
fn set_creds(uid: &str, gid: &str, groups: &str) -> Result<(), String> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    let uid = Uid::from_raw(num(uid)?);
    let gid = Gid::from_raw(num(gid)?);
    let groups = if groups == "-" {
        Vec::new()
    } else {
        groups
            .split(',')
            .map(|g| num(g).map(Gid::from_raw))
            .collect::<Result<Vec<_>, _>>()?
    };
    set_thread_groups(&groups).map_err(|e| format!("setgroups: {e}"))?;
    set_thread_res_gid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
    set_thread_res_uid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))
}

/// One operation of `try` and `serve`, by name, on `p`.
fn op(p: &mut Peer, op: &str, arg: &str) -> Result<Result<(), Error>, String> {
    Ok(match op {
        "own-service" => p.register_service(arg),
        "own-group" => p.register_group(arg, GroupFlags::empty()),
        "join" => p.join(arg, JoinFlags::empty()),
        "send" => p.send_to_service(arg, b"try"),
        "send-port" => p.send_to_port(num(arg)?, b"try"),
        "send-id" => p.send_to_id(num(arg)?, b"try"),
        // The bypass a policy must not allow: resolve, then send by port or id.
        "send-resolved" => p.resolve(arg).and_then(|port| p.send_to_port(port, b"try")),
        "send-owner-id" => p
            .resolve_owner(arg)
            .and_then(|o| p.send_to_id(o.id, b"try")),
        "subscribe" => p.subscribe_events(),
        "retain" => p
            .register_group(arg, GroupFlags::RETAIN)
            .and_then(|()| p.publish(arg, &[0x5a; RETAIN_PAYLOAD])),
        "set-policy" => {
            let mut buf = vec![0u8; policy::POLICY_BUFFER_SIZE];
            let rules = [Rule {
                action: Action::Own,
                pattern: "ipcon.probe",
                who: Who::Anyone,
            }];
            p.set_policy(policy::Default::Allow, &rules, &mut buf)
        }
        "get-policy" => {
            let mut buf = vec![0u8; policy::POLICY_BUFFER_SIZE];
            p.policy(&mut buf).map(|_| ())
        }
        other => return Err(format!("unknown operation {other}")),
    })
}

/// How a test reads an outcome: `ok`, or the error's `Debug` (`Denied`).
fn outcome(r: Result<(), Error>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

/// `try OP ARG...`: on one peer, run each operation and print its outcome,
/// one line each. Names it got are given back before it exits, so that the
/// next child may take them at once.
fn try_ops(ops: &[String]) -> Result<(), String> {
    let mut p = open()?;
    let mut owned = Vec::new();
    for pair in ops.chunks(2) {
        let r = op(&mut p, &pair[0], &pair[1])?;
        if r.is_ok() {
            owned.push((pair[0].as_str(), pair[1].as_str()));
        }
        println!("{}", outcome(r));
    }
    for (what, name) in owned {
        let r = match what {
            "own-service" => p.unregister_service(name),
            "own-group" | "retain" => p.unregister_group(name),
            _ => Ok(()),
        };
        r.map_err(|e| format!("giving back {name}: {e:?}"))?;
    }
    Ok(())
}

/// `serve OP ARG...`: run operations that must succeed, print
/// "ready PORT ID", then print every delivery until killed:
/// `uni DATA`, `grp GROUP DATA`, `event KIND NAME`, `lost`.
fn serve(ops: &[String]) -> Result<(), String> {
    let mut p = open()?;
    for pair in ops.chunks(2) {
        op(&mut p, &pair[0], &pair[1])?.map_err(|e| format!("{} {}: {e:?}", pair[0], pair[1]))?;
    }
    println!("ready {} {}", p.port(), p.id());
    let mut buf = vec![0u8; ipcon::RECV_BUFFER_SIZE];
    loop {
        match p.recv(&mut buf).map_err(|e| format!("recv: {e:?}"))? {
            Message::Unicast(u) => println!("uni {}", String::from_utf8_lossy(u.data)),
            Message::Group(g) => println!("grp {} {}", g.group, String::from_utf8_lossy(g.data)),
            Message::Event(ev) => println!("event {} {}", ev.kind, ev.name.unwrap_or("-")),
            Message::Lost(_) => println!("lost"),
            other => println!("other {other:?}"),
        }
    }
}

/// Send to service `name` in a loop, printing each change of outcome: `ok`
/// or `Denied`. Any other error is printed as `error ...` and ends the
/// role. A full queue is flow control, not an answer of the policy: retry.
fn sender_loop(name: &str) -> Result<(), String> {
    let mut p = open()?;
    let mut last: Option<bool> = None;
    loop {
        let allowed = match p.send_to_service(name, b"tick") {
            Ok(()) => true,
            Err(Error::Denied) => false,
            Err(Error::QueueFull) => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(e) => {
                println!("error {e:?}");
                return Err(format!("send: {e:?}"));
            }
        };
        if last != Some(allowed) {
            println!("{}", if allowed { "ok" } else { "Denied" });
            last = Some(allowed);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Retry a raw request while the kernel says EBUSY (the port still belongs
/// to a socket being closed: transient by the UAPI).
fn request_retrying(raw: &crate::raw::Raw, msg: &[u8]) -> Result<i32, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let e = raw.request(msg)?;
        if e != crate::raw::errno::EBUSY || Instant::now() > deadline {
            return Ok(e);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `takeover PORT NAME DEST`: bind the freed netlink port PORT, try to
/// register NAME (print `reg ERRNO`), send "attacker" to port DEST (print
/// `send ERRNO`), print `ready`; on a line on stdin, print whether anything
/// arrived on the stolen port (`nothing` or `got N bytes`); then wait.
fn takeover(port: &str, name: &str, dest: &str) -> Result<(), String> {
    use crate::raw::{attr, cstr, Raw};
    use ipcon::uapi::*;
    let (port, dest): (u32, u32) = (num(port)?, num(dest)?);
    let deadline = Instant::now() + WAIT;
    let mut raw = loop {
        match Raw::open_at(port) {
            Ok(r) => break r,
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(name));
    let m = raw.ipcon(IPCON_CMD_SRV_REG, &a);
    println!("reg {}", request_retrying(&raw, &m)?);
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &dest.to_ne_bytes());
    attr(&mut a, IPCON_A_DATA, b"attacker");
    let m = raw.ipcon(IPCON_CMD_SEND, &a);
    println!("send {}", request_retrying(&raw, &m)?);
    println!("ready");
    wait_line()?;
    let mut buf = vec![0u8; 70000];
    match raw.recv_within(&mut buf, QUIET)? {
        None => println!("nothing"),
        Some(n) => println!("got {n} bytes"),
    }
    wait_line()
}

/// `deputy PORT` (started as root): open one peer as uid/gid 1000 and one
/// as root, and a raw socket as 1000 that sends nothing yet; then write to
/// each with the other credentials. The stamp must follow the opener both
/// ways.
fn deputy(port: &str) -> Result<(), String> {
    use rustix::process::{getegid, geteuid, Gid, Uid};
    use rustix::thread::{set_thread_res_gid, set_thread_res_uid};
    let port: u32 = num(port)?;
    let (root_u, root_g) = (Uid::ROOT, Gid::ROOT);
    let (user_u, user_g) = (Uid::from_raw(1000), Gid::from_raw(1000));
    // Effective and real ids change, the saved ones stay root so that we
    // can come back (as a setuid-root program does).
    let become_user = || -> Result<(), String> {
        set_thread_res_gid(user_g, user_g, root_g).map_err(|e| format!("setresgid: {e}"))?;
        set_thread_res_uid(user_u, user_u, root_u).map_err(|e| format!("setresuid: {e}"))
    };
    let become_root = || -> Result<(), String> {
        set_thread_res_uid(root_u, root_u, root_u).map_err(|e| format!("setresuid: {e}"))?;
        set_thread_res_gid(root_g, root_g, root_g).map_err(|e| format!("setresgid: {e}"))
    };
    let mut opened_by_root = open()?;
    become_user()?;
    let mut opened_by_user = open()?;
    // A socket opened as 1000 that has not spoken to ipcon yet, as a socket
    // handed to a setuid program (its stderr, say) would be: its first
    // request, written by root, creates the peer.
    let mut handed = crate::raw::Raw::open()?;
    become_root()?;
    if geteuid() != root_u || getegid() != root_g {
        return Err("did not get root back".into());
    }
    opened_by_user
        .send_to_port(port, b"opened-by-1000")
        .map_err(|e| format!("send as root: {e:?}"))?;
    {
        use crate::raw::attr;
        use ipcon::uapi::*;
        let mut a = Vec::new();
        attr(&mut a, IPCON_A_PORT, &port.to_ne_bytes());
        attr(&mut a, IPCON_A_DATA, b"handed-by-1000");
        let req = handed.ipcon(IPCON_CMD_SEND, &a);
        match handed.request(&req)? {
            0 => {}
            e => return Err(format!("raw send as root: errno {e}")),
        }
    }
    become_user()?;
    if geteuid() != user_u {
        return Err("did not become uid 1000".into());
    }
    opened_by_root
        .send_to_port(port, b"opened-by-root")
        .map_err(|e| format!("send as 1000: {e:?}"))?;
    println!("sent");
    Ok(())
}

/// `pidns-send PORT`: send "pid GETPID nspid A,B,..." (our pid as we see
/// it, and the NSpid line of /proc/self/status, outermost first).
fn pidns_send(port: &str) -> Result<(), String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let nspid = status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .ok_or("no NSpid line in /proc/self/status")?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(",");
    let mut p = open()?;
    let text = format!("pid {} nspid {nspid}", std::process::id());
    p.send_to_port(num(port)?, text.as_bytes())
        .map_err(|e| format!("send: {e:?}"))
}

/// `recv-one`: print "ready PORT ID", then "pid P uid U" of the first
/// unicast received (within `WAIT`).
fn recv_one() -> Result<(), String> {
    let p = open()?;
    println!("ready {} {}", p.port(), p.id());
    let mut buf = vec![0u8; ipcon::RECV_BUFFER_SIZE];
    match p.recv_timeout(&mut buf, WAIT) {
        Ok(Message::Unicast(u)) => {
            println!("pid {} uid {}", u.sender.pid, u.sender.uid);
            Ok(())
        }
        other => Err(format!("recv: {other:?}")),
    }
}

/// Wait for one line on stdin (the parent's go-ahead); EOF is an error.
fn wait_line() -> Result<(), String> {
    let mut s = String::new();
    match std::io::stdin().read_line(&mut s) {
        Ok(0) => Err("stdin closed".into()),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("stdin: {e}")),
    }
}

/// Wait until `watch` (subscribed to events) sees `port`'s PEER_GONE: by
/// then the kernel has released what the peer held.
fn wait_gone(watch: &Peer, port: u32) -> Result<(), String> {
    let mut buf = vec![0u8; ipcon::RECV_BUFFER_SIZE];
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match watch.recv_timeout(&mut buf, left) {
            Ok(Message::Event(ev)) if ev.kind == EventKind::PeerGone && ev.port == port => {
                return Ok(())
            }
            Ok(_) => {}
            Err(e) => return Err(format!("waiting for peer {port} to go: {e:?}")),
        }
    }
}

/// Create object `i` of `kind` on `p` (the groups to join exist already).
fn make(kind: &str, tag: &str, p: &mut Peer, i: usize) -> Result<(), Error> {
    let name = format!("{tag}.{i}");
    match kind {
        "services" => p.register_service(&name),
        "groups" => p.register_group(&name, GroupFlags::empty()),
        _ => p.join(&name, JoinFlags::empty()),
    }
}

/// Remove object `i` of `kind` from `p`.
fn unmake(kind: &str, tag: &str, p: &mut Peer, i: usize) -> Result<(), Error> {
    let name = format!("{tag}.{i}");
    match kind {
        "services" => p.unregister_service(&name),
        "groups" => p.unregister_group(&name),
        _ => p.leave(&name),
    }
}

/// `limit KIND N TAG` (KIND: services, groups, memberships, subscriptions;
/// the module parameter is N): create N objects spread over two peers
/// (the limit is per user, not per peer), then print:
///   `over R R`     one more on each peer (both must be LimitReached),
///   `full`         and wait for a line on stdin,
///   `freed R R`    after removing one: one more (ok), and another (limit),
///   `closed R`     after closing the second peer: one more (ok).
fn limit(kind: &str, n: &str, tag: &str) -> Result<(), String> {
    let n: usize = num(n)?;
    if n < 3 {
        return Err("limit needs N >= 3".into());
    }
    if kind == "subscriptions" {
        return limit_subscriptions(n);
    }
    if !["services", "groups", "memberships"].contains(&kind) {
        return Err(format!("unknown limit kind {kind}"));
    }
    let mut watch = open()?;
    watch
        .subscribe_events()
        .map_err(|e| format!("subscribe: {e:?}"))?;
    let (mut a, mut b) = (open()?, open()?);
    for i in 0..n {
        let p = if i % 2 == 0 { &mut a } else { &mut b };
        make(kind, tag, p, i).map_err(|e| format!("{kind} {} of {n}: {e:?}", i + 1))?;
    }
    let (ra, rb) = (make(kind, tag, &mut a, n), make(kind, tag, &mut b, n));
    println!("over {} {}", outcome(ra), outcome(rb));
    println!("full");
    wait_line()?;
    unmake(kind, tag, &mut a, 0).map_err(|e| format!("removing one: {e:?}"))?;
    let r1 = make(kind, tag, &mut a, n);
    let r2 = make(kind, tag, &mut b, n + 1);
    println!("freed {} {}", outcome(r1), outcome(r2));
    let gone = b.port();
    drop(b);
    wait_gone(&watch, gone)?;
    println!("closed {}", outcome(make(kind, tag, &mut a, n + 1)));
    Ok(())
}

/// `limit subscriptions N`: the same protocol; each subscription is a peer
/// of its own (the event watcher is the first).
fn limit_subscriptions(n: usize) -> Result<(), String> {
    let mut watch = open()?;
    watch
        .subscribe_events()
        .map_err(|e| format!("subscription 1 of {n}: {e:?}"))?;
    let mut held = Vec::new();
    for i in 1..n {
        let mut p = open()?;
        p.subscribe_events()
            .map_err(|e| format!("subscription {} of {n}: {e:?}", i + 1))?;
        held.push(p);
    }
    let (mut x, mut y) = (open()?, open()?);
    let (rx, ry) = (x.subscribe_events(), y.subscribe_events());
    println!("over {} {}", outcome(rx), outcome(ry));
    println!("full");
    wait_line()?;
    held[0]
        .unsubscribe_events()
        .map_err(|e| format!("unsubscribe: {e:?}"))?;
    let (r1, r2) = (x.subscribe_events(), y.subscribe_events());
    println!("freed {} {}", outcome(r1), outcome(r2));
    let gone = held[1].port();
    drop(held.remove(1));
    wait_gone(&watch, gone)?;
    println!("closed {}", outcome(y.subscribe_events()));
    Ok(())
}

/// `retain-limit TAG MAX`: register retained groups TAG.0..TAG.(MAX-1) and
/// a plain group TAG.plain, print "ready PORT ID", wait for a line. Then:
/// replace the retained message of TAG.0 ten times (must never hit the
/// limit: a replaced message is no longer counted), publish to TAG.1, ...
/// printing `ok I` until `limit I`, publish to the plain group (`plain R`,
/// not retained so not counted), print `full` and wait for a line; then
/// remove TAG.1 and retry the refused publish (`freed R`).
fn retain_limit(tag: &str, max: &str) -> Result<(), String> {
    let max: usize = num(max)?;
    let mut p = open()?;
    let group = |i: usize| format!("{tag}.{i}");
    for i in 0..max {
        p.register_group(&group(i), GroupFlags::RETAIN)
            .map_err(|e| format!("register {}: {e:?}", group(i)))?;
    }
    let plain = format!("{tag}.plain");
    p.register_group(&plain, GroupFlags::empty())
        .map_err(|e| format!("register {plain}: {e:?}"))?;
    let data = vec![0x5au8; RETAIN_PAYLOAD];
    println!("ready {} {}", p.port(), p.id());
    wait_line()?;
    for k in 0..10 {
        p.publish(&group(0), &data)
            .map_err(|e| format!("replacing the retained message, #{k}: {e:?}"))?;
    }
    let mut refused = None;
    for i in 1..max {
        match p.publish(&group(i), &data) {
            Ok(()) => println!("ok {i}"),
            Err(Error::LimitReached) => {
                println!("limit {i}");
                refused = Some(i);
                break;
            }
            Err(e) => return Err(format!("publish {}: {e:?}", group(i))),
        }
    }
    let refused = refused.ok_or(format!("{max} retained messages never hit the limit"))?;
    println!("plain {}", outcome(p.publish(&plain, &data)));
    println!("full");
    wait_line()?;
    p.unregister_group(&group(1))
        .map_err(|e| format!("unregister: {e:?}"))?;
    println!("freed {}", outcome(p.publish(&group(refused), &data)));
    Ok(())
}

/// `cg-publish CGROUP TAG N SIZE`: move into cgroup directory CGROUP,
/// register N retained groups, print "ready"; on a line on stdin publish
/// SIZE bytes to each and print "done"; then wait for stdin to close.
/// Everything user space needs is allocated before "ready", so what grows
/// between "ready" and "done" is the kernel's retained messages.
fn cg_publish(cgroup: &str, tag: &str, n: &str, size: &str) -> Result<(), String> {
    let (n, size): (usize, usize) = (num(n)?, num(size)?);
    let procs = format!("{cgroup}/cgroup.procs");
    std::fs::write(&procs, std::process::id().to_string()).map_err(|e| format!("{procs}: {e}"))?;
    let mut p = open()?;
    let names: Vec<String> = (0..n).map(|i| format!("{tag}.{i}")).collect();
    for name in &names {
        p.register_group(name, GroupFlags::RETAIN)
            .map_err(|e| format!("register {name}: {e:?}"))?;
    }
    let data = vec![0x33u8; size];
    println!("ready");
    wait_line()?;
    for name in &names {
        p.publish(name, &data)
            .map_err(|e| format!("publish {name}: {e:?}"))?;
    }
    println!("done");
    let mut rest = String::new();
    let _ = std::io::stdin().read_line(&mut rest);
    Ok(())
}

/// `raw-policy`: POLICY_SET and POLICY_GET straight to the family; print
/// "set ERRNO get ERRNO".
fn raw_policy() -> Result<(), String> {
    use ipcon::uapi::*;
    let mut r = crate::raw::Raw::open()?;
    let m = r.policy_set(Some(&IPCON_POLICY_ALLOW.to_ne_bytes()), &[]);
    let set = r.request(&m)?;
    let m = r.dump(IPCON_CMD_POLICY_GET);
    let get = r.request(&m)?;
    println!("set {set} get {get}");
    Ok(())
}

/// `ipcon-vmtests --child ARGS...`.
pub fn command(args: &[&str]) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--child").args(args);
    Ok(cmd)
}

/// A role run as `uid`/`gid` with exactly the supplementary `groups`.
pub fn command_as(uid: u32, gid: u32, groups: &[u32], args: &[&str]) -> Result<Command, String> {
    let groups = if groups.is_empty() {
        "-".to_string()
    } else {
        groups
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    let (uid, gid) = (uid.to_string(), gid.to_string());
    let mut all = vec!["as", &uid, &gid, &groups];
    all.extend_from_slice(args);
    command(&all)
}

/// A role run by `unshare FLAGS...` (new namespaces).
pub fn command_unshared(flags: &[&str], args: &[&str]) -> Result<Command, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new("unshare");
    cmd.args(flags).arg(exe).arg("--child").args(args);
    Ok(cmd)
}

/// A running role whose stdout is read line by line. Killed (SIGKILL) and
/// reaped when dropped, so that a failing test leaves nothing behind.
pub struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdin: Option<ChildStdin>,
    what: String,
}

impl Proc {
    /// Start `cmd` with piped stdin and stdout (stderr is inherited).
    pub fn spawn(mut cmd: Command) -> Result<Proc, String> {
        let what = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {what}: {e}"))?;
        let out = child.stdout.take().ok_or("child stdout not piped")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(l) = line else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Ok(Proc {
            stdin: child.stdin.take(),
            child,
            lines,
            what,
        })
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line (within `WAIT`).
    pub fn line(&self) -> Result<String, String> {
        self.lines.recv_timeout(WAIT).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => {
                format!("{}: nothing said within {WAIT:?}", self.what)
            }
            mpsc::RecvTimeoutError::Disconnected => format!("{}: exited early", self.what),
        })
    }

    /// The next line must be `want`.
    pub fn expect(&self, want: &str) -> Result<(), String> {
        let got = self.line()?;
        if got == want {
            Ok(())
        } else {
            Err(format!("{}: said {got:?}, expected {want:?}", self.what))
        }
    }

    /// The "ready PORT ID" line.
    pub fn ready(&self) -> Result<(u32, u64), String> {
        let line = self.line()?;
        let mut w = line.split_whitespace();
        match (w.next(), w.next(), w.next()) {
            (Some("ready"), Some(port), Some(id)) => Ok((num(port)?, num(id)?)),
            _ => Err(format!(
                "{}: said {line:?}, expected ready PORT ID",
                self.what
            )),
        }
    }

    /// Nothing is said within `QUIET` (and the child is still running).
    pub fn quiet(&self) -> Result<(), String> {
        match self.lines.recv_timeout(QUIET) {
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(()),
            Ok(l) => Err(format!("{}: unexpectedly said {l:?}", self.what)),
            Err(_) => Err(format!("{}: exited early", self.what)),
        }
    }

    /// Nothing has been said so far (does not wait).
    pub fn silent_so_far(&self) -> Result<(), String> {
        match self.lines.try_recv() {
            Err(mpsc::TryRecvError::Empty) => Ok(()),
            Ok(l) => Err(format!("{}: unexpectedly said {l:?}", self.what)),
            Err(_) => Err(format!("{}: exited early", self.what)),
        }
    }

    /// Write one line to the child's stdin.
    pub fn tell(&mut self, line: &str) -> Result<(), String> {
        let w = self.stdin.as_mut().ok_or("stdin closed")?;
        writeln!(w, "{line}").map_err(|e| format!("{}: stdin: {e}", self.what))
    }

    /// SIGKILL the child and reap it.
    pub fn kill(&mut self) -> Result<(), String> {
        self.child
            .kill()
            .map_err(|e| format!("kill {}: {e}", self.what))?;
        self.child
            .wait()
            .map(|_| ())
            .map_err(|e| format!("wait {}: {e}", self.what))
    }

    /// Close stdin, read the rest of the output (each line within `WAIT`)
    /// and wait for a successful exit.
    pub fn finish(&mut self) -> Result<Vec<String>, String> {
        drop(self.stdin.take());
        let mut out = Vec::new();
        loop {
            match self.lines.recv_timeout(WAIT) {
                Ok(l) => out.push(l),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("{}: still running; said {out:?}", self.what))
                }
            }
        }
        let st = self
            .child
            .wait()
            .map_err(|e| format!("wait {}: {e}", self.what))?;
        if st.success() {
            Ok(out)
        } else {
            Err(format!("{}: {st}; said {out:?}", self.what))
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
