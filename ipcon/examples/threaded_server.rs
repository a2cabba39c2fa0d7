// SPDX-License-Identifier: MIT OR Apache-2.0
//! A threaded server: one thread blocks in `recv` while another sends the
//! replies, on the two halves of one peer.
//!
//! [`Peer::split`] gives a [`Receiver`](ipcon::Receiver) and a
//! [`Requester`](ipcon::Requester) that borrow the peer (no allocation),
//! so they go to threads of a [`std::thread::scope`]. The receiving
//! thread hands each request (`N`, a number) over a channel to the main
//! thread, which answers `N*N` to the requester's id while the receiving
//! thread is already waiting for the next request. The main thread stops
//! the receiving one with a message to the peer itself.
//!
//! Client threads, each with a peer of its own, send their requests all
//! at once and then collect the answers.
//!
//! ```text
//! cargo run --example threaded_server
//! cargo run --example threaded_server -- --clients 8 --requests 20
//! ```
//!
//! Exit status 0 when every client got every answer.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ipcon::{Error, Message, Peer, RecvError, RECV_BUFFER_SIZE};

const SERVICE: &str = "example.threads";
const STOP: &[u8] = b"stop";
const WAIT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut clients, mut requests) = (4u32, 10u32);
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().and_then(|v| v.parse::<u32>().ok());
        match (flag.as_str(), value) {
            ("--clients", Some(n)) if n > 0 => clients = n,
            ("--requests", Some(n)) if n > 0 => requests = n,
            _ => {
                eprintln!("usage: threaded_server [--clients N] [--requests N]");
                return ExitCode::from(2);
            }
        }
    }
    match run(clients, requests) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("threaded_server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(clients: u32, requests: u32) -> Result<(), String> {
    let mut peer = Peer::open().map_err(|e| e.to_string())?;
    peer.register_service(SERVICE).map_err(|e| e.to_string())?;
    let me = peer.id();
    println!("server: {SERVICE} on port {}", peer.port());

    let (mut tx, rx) = peer.split();
    let (queue, work) = mpsc::channel::<(u64, u64)>();
    let served = thread::scope(|s| -> Result<u32, String> {
        // The receiving thread: blocks in recv, never sends.
        let receiver = s.spawn(move || -> Result<(), String> {
            let mut buf = vec![0u8; RECV_BUFFER_SIZE];
            loop {
                match rx.recv(&mut buf) {
                    Ok(Message::Unicast(m)) if m.sender.id == me && m.data == STOP => return Ok(()),
                    Ok(Message::Unicast(m)) => {
                        let n = std::str::from_utf8(m.data)
                            .ok()
                            .and_then(|t| t.parse::<u64>().ok())
                            .unwrap_or(0);
                        // The main thread may be gone after an error.
                        let _ = queue.send((m.sender.id, n));
                    }
                    Ok(_) => {}
                    Err(RecvError::Truncated { len }) => println!("server: skipped {len} bytes"),
                    Err(e) => return Err(format!("receiving: {e}")),
                }
            }
        });

        let workers: Vec<_> = (0..clients)
            .map(|i| s.spawn(move || client(i, requests)))
            .collect();

        // The main thread: replies with the requesting half while the
        // receiving thread waits in recv.
        let mut answer = || -> Result<u32, String> {
            let mut served = 0;
            let deadline = Instant::now() + WAIT;
            while served < clients * requests {
                let left = deadline.saturating_duration_since(Instant::now());
                let (id, n) = work
                    .recv_timeout(left)
                    .map_err(|_| format!("only {served} requests arrived"))?;
                match tx.send_to_id(id, (n * n).to_string().as_bytes()) {
                    Ok(()) => served += 1,
                    Err(e @ (Error::PeerGone | Error::QueueFull)) => {
                        println!("server: reply to id {id} dropped: {e}")
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
            Ok(served)
        };
        let served = answer();
        // Whatever happened, stop the receiving thread: the scope waits
        // for it.
        tx.send_to_id(me, STOP).map_err(|e| e.to_string())?;
        receiver.join().map_err(|_| "the receiver panicked")??;
        for w in workers {
            w.join().map_err(|_| "a client panicked")??;
        }
        served
    })?;
    println!("server: {served} requests from {clients} clients answered by two threads");
    Ok(())
}

/// Send `requests` numbers at once, then check every answer.
fn client(i: u32, requests: u32) -> Result<(), String> {
    let mut peer = Peer::open().map_err(|e| e.to_string())?;
    for n in 1..=u64::from(requests) {
        peer.send_to_service(SERVICE, n.to_string().as_bytes())
            .map_err(|e| format!("client {i}: {e}"))?;
    }
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut sum = 0u64;
    for _ in 0..requests {
        match peer.recv_timeout(&mut buf, WAIT) {
            Ok(Message::Unicast(m)) => {
                sum += std::str::from_utf8(m.data)
                    .ok()
                    .and_then(|t| t.parse::<u64>().ok())
                    .ok_or(format!("client {i}: answer {:?}", m.data))?;
            }
            Ok(other) => return Err(format!("client {i}: unexpected {other:?}")),
            Err(e) => return Err(format!("client {i}: {e}")),
        }
    }
    // 1 + 4 + ... + n^2
    let n = u64::from(requests);
    if sum != n * (n + 1) * (2 * n + 1) / 6 {
        return Err(format!("client {i}: the answers add up to {sum}"));
    }
    println!("client {i}: {requests} answers, all right");
    Ok(())
}
