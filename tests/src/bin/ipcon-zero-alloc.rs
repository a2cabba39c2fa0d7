// SPDX-License-Identifier: MIT OR Apache-2.0
//! The zero-allocation proof, run by the VM suite (`zero_allocation` in
//! `t_system.rs`): a counting global allocator watches a steady-state loop
//! of what a daemon does all day (send by name, port and id; receive;
//! publish; events; a non-blocking and a timed-out receive; the std
//! `io::Error` conversions of both error types) and the program fails
//! unless that loop made no heap allocation at all.
//!
//! Setting up (opening peers, registering, the buffers) may allocate; the
//! loop runs once to warm up, then `ITERATIONS` times under the counter.
//! The process has one thread, so the global count is the loop's.
//!
//! Output: `zero-alloc: N iterations, M operations, 0 allocations`, exit
//! status 0; or what allocated, exit status 1 (2: setup failed).

use std::alloc::System;
use std::process::ExitCode;
use std::time::Duration;

use ipcon::{
    Error, EventKind, GroupFlags, JoinFlags, Message, Peer, RecvError, Target, RECV_BUFFER_SIZE,
};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const ITERATIONS: u32 = 500;

/// The peers of the loop.
struct Peers {
    /// Owns the service and the group, subscribed to events.
    server: Peer,
    /// A client: sends requests, member of the group.
    client: Peer,
    service: String,
    group: String,
    scratch: String,
}

fn setup() -> Result<Peers, Error> {
    let tag = std::process::id();
    let mut server = Peer::open()?;
    let mut client = Peer::open()?;
    let service = format!("zeroalloc.{tag}.svc");
    let group = format!("zeroalloc.{tag}.grp");
    let scratch = format!("zeroalloc.{tag}.tmp");
    server.register_service(&service)?;
    server.register_group(&group, GroupFlags::RETAIN)?;
    client.join(&group, JoinFlags::empty())?;
    client.subscribe_events()?;
    Ok(Peers {
        server,
        client,
        service,
        group,
        scratch,
    })
}

/// One round of the steady state; returns the operations done, or what
/// went wrong (a `&'static str`: making a message would allocate).
fn round(p: &mut Peers, buf: &mut [u8]) -> Result<u32, &'static str> {
    let mut ops = 0;
    // A request by name, received by the server.
    p.client
        .send_to_service(&p.service, b"request")
        .map_err(|_| "send_to_service")?;
    let (from_id, from_port) = match p.server.recv_timeout(buf, Duration::from_secs(5)) {
        Ok(Message::Unicast(m)) if m.data == b"request" => (m.sender.id, m.sender.port),
        _ => return Err("the server did not get the request"),
    };
    // The reply by id, then one by port, received by the client.
    p.server
        .send(Target::Id(from_id), b"reply")
        .map_err(|_| "send by id")?;
    p.server
        .send_to_port(from_port, b"reply")
        .map_err(|_| "send by port")?;
    for _ in 0..2 {
        match p.client.recv(buf) {
            Ok(Message::Unicast(m)) if m.data == b"reply" => {}
            _ => return Err("the client did not get a reply"),
        }
    }
    ops += 5;
    // A publish, received by the member.
    p.server
        .publish(&p.group, b"21.5 C")
        .map_err(|_| "publish")?;
    match p.client.recv(buf) {
        Ok(Message::Group(g)) if g.data == b"21.5 C" => {}
        _ => return Err("the member did not get the group message"),
    }
    ops += 2;
    // Events: a service added and removed.
    p.server
        .register_service(&p.scratch)
        .map_err(|_| "register")?;
    p.server
        .unregister_service(&p.scratch)
        .map_err(|_| "unregister")?;
    for kind in [EventKind::ServiceAdded, EventKind::ServiceRemoved] {
        match p.client.recv(buf) {
            Ok(Message::Event(e)) if e.kind == kind => {}
            _ => return Err("the subscriber did not get the event"),
        }
    }
    ops += 4;
    // Nothing queued: WouldBlock, and a timed-out receive; both through
    // the std io::Error conversions, as `?` in std code does them.
    let e = p
        .client
        .try_recv(buf)
        .err()
        .ok_or("try_recv found a message")?;
    let io: std::io::Error = e.into();
    if io.kind() != std::io::ErrorKind::WouldBlock {
        return Err("WouldBlock is not io::ErrorKind::WouldBlock");
    }
    let e = p
        .client
        .recv_timeout(buf, Duration::from_millis(1))
        .err()
        .ok_or("recv_timeout found a message")?;
    if e != RecvError::TimedOut {
        return Err("recv_timeout did not time out");
    }
    let io: std::io::Error = Error::from(e).into();
    if io.kind() != std::io::ErrorKind::TimedOut {
        return Err("TimedOut is not io::ErrorKind::TimedOut");
    }
    // A request error, converted too.
    let e = p
        .client
        .publish(&p.group, b"not mine")
        .err()
        .ok_or("a member could publish")?;
    let io: std::io::Error = e.into();
    if io.kind() != std::io::ErrorKind::PermissionDenied {
        return Err("NotOwner is not io::ErrorKind::PermissionDenied");
    }
    ops += 4;
    Ok(ops)
}

fn main() -> ExitCode {
    let mut peers = match setup() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("zero-alloc: setup: {e}");
            return ExitCode::from(2);
        }
    };
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    // Warm up: anything lazily set up on first use happens here.
    if let Err(why) = round(&mut peers, &mut buf) {
        eprintln!("zero-alloc: warm-up: {why}");
        return ExitCode::FAILURE;
    }

    let region = Region::new(GLOBAL);
    let mut ops = 0u32;
    let mut failure = None;
    for _ in 0..ITERATIONS {
        match round(&mut peers, &mut buf) {
            Ok(n) => ops += n,
            Err(why) => {
                failure = Some(why);
                break;
            }
        }
    }
    let stats = region.change();

    if let Some(why) = failure {
        eprintln!("zero-alloc: {why}");
        return ExitCode::FAILURE;
    }
    let allocations = stats.allocations + stats.reallocations;
    println!("zero-alloc: {ITERATIONS} iterations, {ops} operations, {allocations} allocations");
    if allocations != 0 {
        eprintln!(
            "zero-alloc: the steady state allocated: {} allocations, {} reallocations, {} bytes",
            stats.allocations, stats.reallocations, stats.bytes_allocated
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
