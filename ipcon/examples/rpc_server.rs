// SPDX-License-Identifier: MIT OR Apache-2.0
//! Request/response, the server: a service that adds numbers.
//!
//! Registers the service `example.sum` and answers every request (text
//! with whitespace-separated integers, such as `1 2 3`) with their sum
//! (`6`), or with `error: ...`. The reply goes to the peer id the kernel
//! stamped on the request ([`Sender::id`](ipcon::Sender::id)): clients
//! need no address of their own, cannot lie about who they are, and a
//! reply never reaches another process that got a departed client's port.
//!
//! Shows: [`Peer::register_service`], [`Peer::recv`], the sender stamp,
//! [`Peer::send_to_id`], and a client that exits before its reply
//! ([`Error::PeerGone`]) not stopping the service.
//!
//! ```text
//! cargo run --example rpc_server                 # serve until killed
//! cargo run --example rpc_server -- --count 3    # exit after 3 requests
//! ```
//!
//! Then, in another shell: `cargo run --example rpc_client -- '1 2 3'`, or
//! `ipcon call example.sum '1 2 3'`. Exit status 0, or 1 on an error.

use std::process::ExitCode;

use ipcon::{Error, Message, Peer, RECV_BUFFER_SIZE};

/// The service name.
const SERVICE: &str = "example.sum";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match args.as_slice() {
        [] => None,
        [flag, n] if flag == "--count" => match n.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    match serve(count) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rpc_server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: rpc_server [--count N]");
    ExitCode::from(2)
}

fn serve(count: Option<u64>) -> Result<(), Error> {
    let mut peer = Peer::open()?;
    peer.register_service(SERVICE)?;
    println!("rpc_server: serving {SERVICE} on port {}", peer.port());

    // One buffer for any request, allocated once: receiving never allocates.
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut answered = 0;
    while count.is_none_or(|c| answered < c) {
        let Message::Unicast(req) = peer.recv(&mut buf)? else {
            continue; // a service only gets unicasts; ignore anything else
        };
        let text = String::from_utf8_lossy(req.data);
        let reply = sum(&text);
        println!(
            "rpc_server: request from port {} (pid {}, uid {}): {text:?} -> {reply:?}",
            req.sender.port, req.sender.pid, req.sender.uid
        );
        match peer.send_to_id(req.sender.id, reply.as_bytes()) {
            Ok(()) => {}
            // The client is gone or not reading: its problem, not ours.
            Err(e @ (Error::PeerGone | Error::QueueFull)) => {
                println!("rpc_server: reply to port {} dropped: {e}", req.sender.port)
            }
            Err(e) => return Err(e),
        }
        answered += 1;
    }
    Ok(())
}

/// "1 2 3" -> "6"; anything else -> "error: ...".
fn sum(request: &str) -> String {
    let mut total: i64 = 0;
    for word in request.split_whitespace() {
        let Ok(n) = word.parse::<i64>() else {
            return format!("error: not an integer: {word}");
        };
        let Some(t) = total.checked_add(n) else {
            return "error: overflow".into();
        };
        total = t;
    }
    total.to_string()
}
