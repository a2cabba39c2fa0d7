// SPDX-License-Identifier: MIT OR Apache-2.0
//! One thread, one `poll(2)` loop, several peers: a service, an event
//! watcher and a timer.
//!
//! The server keeps a counter per client. Its loop waits on two peers at
//! once: `service` provides `example.counter` (each request `incr` adds one
//! to the sender's counter and gets the new value back) and owns the
//! retained group `example.counter.stats`; `events` is subscribed to
//! kernel events, so a client's counter is dropped when its peer is gone.
//! The poll timeout doubles as a timer: every 200 ms the number of clients
//! is published to the stats group. A [`Peer`] is `AsFd` (its receive
//! socket), so it goes straight into `poll`/`epoll`; when it is readable,
//! [`Peer::try_recv`] drains it until [`RecvError::WouldBlock`].
//!
//! Here three client threads send a few requests each and then close their
//! peers; the loop ends when all three are gone. A real daemon would also
//! poll its other file descriptors in the same loop.
//!
//! ```text
//! cargo run --example poll_loop
//! ```
//!
//! Exit status 0 when every client got its answers and was forgotten.

use std::collections::HashMap;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use ipcon::{Error, EventKind, GroupFlags, Message, Peer, RecvError, RECV_BUFFER_SIZE};
use rustix::event::{poll, PollFd, PollFlags, Timespec};

const SERVICE: &str = "example.counter";
const STATS: &str = "example.counter.stats";
const TICK: Duration = Duration::from_millis(200);
const CLIENTS: usize = 3;
const REQUESTS: u32 = 3;
const WAIT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("poll_loop: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let e = |e: Error| e.to_string();
    let mut service = Peer::open().map_err(e)?;
    service.register_service(SERVICE).map_err(e)?;
    service
        .register_group(STATS, GroupFlags::RETAIN)
        .map_err(e)?;
    let mut events = Peer::open().map_err(e)?;
    events.subscribe_events().map_err(e)?;
    println!(
        "server: {SERVICE} on port {}, events on port {}",
        service.port(),
        events.port()
    );

    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| thread::spawn(move || client(i)))
        .collect();

    let mut counters: HashMap<u32, u32> = HashMap::new();
    let mut gone = 0;
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut next_tick = Instant::now() + TICK;
    let deadline = Instant::now() + 4 * WAIT;
    while gone < CLIENTS {
        if Instant::now() > deadline {
            return Err(format!("only {gone} of {CLIENTS} clients finished"));
        }
        let left = next_tick.saturating_duration_since(Instant::now());
        let timeout = Timespec {
            tv_sec: left.as_secs() as i64,
            tv_nsec: left.subsec_nanos().into(),
        };
        let mut fds = [
            PollFd::new(&service, PollFlags::IN),
            PollFd::new(&events, PollFlags::IN),
        ];
        match poll(&mut fds, Some(&timeout)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(err) => return Err(format!("poll: {err}")),
        }
        let (requests_ready, events_ready) =
            (!fds[0].revents().is_empty(), !fds[1].revents().is_empty());

        if requests_ready {
            // Drain: several requests may be queued.
            loop {
                let (port, reply) = match service.try_recv(&mut buf) {
                    Ok(Message::Unicast(m)) if m.data == b"incr" => {
                        let n = counters.entry(m.sender.port).or_default();
                        *n += 1;
                        (m.sender.port, n.to_string())
                    }
                    Ok(Message::Unicast(m)) => (m.sender.port, "error: say incr".into()),
                    Ok(_) => continue,
                    Err(RecvError::WouldBlock) => break,
                    Err(err) => return Err(err.to_string()),
                };
                if let Err(err) = service.send_to_port(port, reply.as_bytes()) {
                    println!("server: reply to port {port} dropped: {err}");
                }
            }
        }
        if events_ready {
            loop {
                match events.try_recv(&mut buf) {
                    Ok(Message::Event(ev)) if ev.kind == EventKind::PeerGone => {
                        if let Some(n) = counters.remove(&ev.port) {
                            println!("server: client port {} gone after {n} requests", ev.port);
                            gone += 1;
                        }
                    }
                    Ok(Message::Lost(l)) => println!("server: lost {} events", l.count),
                    Ok(_) => {}
                    Err(RecvError::WouldBlock) => break,
                    Err(err) => return Err(err.to_string()),
                }
            }
        }
        if Instant::now() >= next_tick {
            let stats = format!("clients={}", counters.len());
            service.publish(STATS, stats.as_bytes()).map_err(e)?;
            next_tick = Instant::now() + TICK;
        }
    }
    for c in clients {
        c.join().map_err(|_| "a client panicked")??;
    }
    println!("server: all {CLIENTS} clients served and forgotten");
    Ok(())
}

/// Send `incr` REQUESTS times, checking each answer, then close the peer.
fn client(i: usize) -> Result<(), String> {
    let mut peer = Peer::open().map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    for n in 1..=REQUESTS {
        peer.send_to_service(SERVICE, b"incr")
            .map_err(|e| e.to_string())?;
        match peer.recv_timeout(&mut buf, WAIT) {
            Ok(Message::Unicast(m)) if m.data == n.to_string().as_bytes() => {}
            Ok(other) => return Err(format!("client {i}: unexpected {other:?}")),
            Err(e) => return Err(format!("client {i}: {e}")),
        }
    }
    println!("client {i}: port {} counted to {REQUESTS}", peer.port());
    Ok(())
    // Dropping the peer closes its sockets: the server sees peer-gone.
}
