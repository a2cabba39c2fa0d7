// SPDX-License-Identifier: MIT OR Apache-2.0
//! Request/response, the client: ask the `example.sum` service of
//! `rpc_server` to add numbers.
//!
//! Waits up to 5 s for the service to appear (so client and server can be
//! started together), then sends each request and waits up to 5 s for its
//! reply. Only a message from the service's port counts as the reply.
//!
//! Shows: [`Peer::resolve`] and [`Error::NoSuchService`] while the service
//! is not there yet, [`Peer::send_to_service`], and
//! [`Peer::recv_timeout`] with [`RecvError::TimedOut`](ipcon::RecvError::TimedOut).
//!
//! ```text
//! cargo run --example rpc_server &
//! cargo run --example rpc_client -- '1 2 3' '40 2'
//! ```
//!
//! Prints `rpc_client: 1 2 3 = 6` per request. Exit status 0, or 1 if the
//! service never appeared or did not reply in time.

use std::process::ExitCode;
use std::thread::sleep;
use std::time::{Duration, Instant};

use ipcon::{Error, Message, Peer, RecvError, RECV_BUFFER_SIZE};

const SERVICE: &str = "example.sum";
const WAIT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    let mut requests: Vec<String> = std::env::args().skip(1).collect();
    if requests.is_empty() {
        requests = vec!["1 2 3".into(), "40 2".into()];
    }
    match run(&requests) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rpc_client: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(requests: &[String]) -> Result<(), String> {
    let mut peer = Peer::open().map_err(|e| e.to_string())?;

    // The service may not be registered yet: retry for a while.
    let start = Instant::now();
    let port = loop {
        match peer.resolve(SERVICE) {
            Ok(port) => break port,
            Err(Error::NoSuchService) if start.elapsed() < WAIT => sleep(Duration::from_millis(50)),
            Err(Error::NoSuchService) => {
                return Err(format!(
                    "no service {SERVICE} after {WAIT:?}: is rpc_server running?"
                ))
            }
            Err(e) => return Err(format!("resolving {SERVICE}: {e}")),
        }
    };

    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    for request in requests {
        peer.send_to_service(SERVICE, request.as_bytes())
            .map_err(|e| format!("sending {request:?}: {e}"))?;
        let deadline = Instant::now() + WAIT;
        let reply = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match peer.recv_timeout(&mut buf, left) {
                Ok(Message::Unicast(m)) if m.sender.port == port => {
                    break String::from_utf8_lossy(m.data).into_owned()
                }
                Ok(_) => continue, // not from the service: not our reply
                Err(RecvError::TimedOut) => {
                    return Err(format!("no reply to {request:?} within {WAIT:?}"))
                }
                Err(e) => return Err(format!("waiting for the reply: {e}")),
            }
        };
        println!("rpc_client: {request} = {reply}");
    }
    Ok(())
}
