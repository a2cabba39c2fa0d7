// SPDX-License-Identifier: MIT OR Apache-2.0
//! An async-io daemon on smol (feature `async-io`): the deliveries as a
//! `Stream`, a task per request, and a timer racing the stream.
//!
//! The daemon registers the service `example.smol` and reads requests
//! from [`AsyncPeer::messages`], a `Stream` of owned messages that can
//! move into the reply tasks. The next item races a 2 ms timer
//! (`future::or`); a tick drops the pending `next()` future, which is
//! cancellation safe, so no request is lost. Each request is answered by
//! a task on the shared `Arc<AsyncPeer>`.
//!
//! A request `TEXT` is answered `ok TEXT`.
//!
//! ```text
//! cargo run --example smol_daemon --features async-io                 # until killed
//! cargo run --example smol_daemon --features async-io -- --count 100  # exit after 100
//! ```
//!
//! Then: `ipcon call example.smol hello`. Exit status 0, or 1 on an error.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ipcon::async_io::AsyncPeer;
use ipcon::{Error, Message};
use smol::stream::StreamExt;
use smol::{future, Executor, Timer};

const SERVICE: &str = "example.smol";
const TICK: Duration = Duration::from_millis(2);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match args.as_slice() {
        [] => None,
        [flag, n] if flag == "--count" => match n.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => {
                eprintln!("usage: smol_daemon [--count N]");
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: smol_daemon [--count N]");
            return ExitCode::from(2);
        }
    };
    let ex = Executor::new();
    match future::block_on(ex.run(serve(&ex, count))) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("smol_daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What the next turn of the loop brings.
enum Turn {
    Delivery(Option<Result<ipcon::OwnedMessage, ipcon::RecvError>>),
    Tick,
}

async fn serve(ex: &Executor<'_>, count: Option<u64>) -> Result<(), Error> {
    let peer = Arc::new(AsyncPeer::open()?);
    peer.register_service(SERVICE).await?;
    println!("smol_daemon: serving {SERVICE} on port {}", peer.port());

    let mut messages = peer.messages();
    let mut replies = Vec::new();
    let (mut received, mut ticks) = (0u64, 0u64);
    while count.is_none_or(|c| received < c) {
        let next = async { Turn::Delivery(messages.next().await) };
        let tick = async {
            Timer::after(TICK).await;
            Turn::Tick
        };
        // A tick drops the pending next(): nothing is lost.
        match future::or(next, tick).await {
            Turn::Tick => ticks += 1,
            Turn::Delivery(None) => break,
            Turn::Delivery(Some(item)) => {
                let msg = item?;
                let Message::Unicast(req) = msg.message() else {
                    continue;
                };
                received += 1;
                let mut reply = b"ok ".to_vec();
                reply.extend_from_slice(req.data);
                let (peer, id) = (peer.clone(), req.sender.id);
                replies.push(ex.spawn(async move {
                    match peer.send_to_id(id, &reply).await {
                        Ok(()) => 1u64,
                        Err(Error::PeerGone | Error::QueueFull) => 0,
                        Err(e) => {
                            eprintln!("smol_daemon: reply: {e}");
                            0
                        }
                    }
                }));
            }
        }
    }
    let mut answered = 0;
    for r in replies {
        answered += r.await;
    }
    println!("smol_daemon: {received} requests, {answered} answered, {ticks} ticks");
    Ok(())
}
