// SPDX-License-Identifier: MIT OR Apache-2.0
//! A Tokio daemon (feature `tokio`): a service answered by a task per
//! request, and a timer, in one `select!` loop.
//!
//! The daemon registers the service `example.tokio` and the retained
//! group `example.tokio.stats`. Its loop waits for either the next request
//! ([`AsyncPeer::recv`]) or the next tick of a 2 ms timer, which publishes
//! how many requests were answered. Each tick drops a pending `recv`
//! future: `recv` is cancellation safe, so no request is lost (the VM
//! suite sends hundreds at once and checks every answer). Each request is
//! answered by a task of its own on the shared `Arc<AsyncPeer>`, so many
//! requests are in flight on one peer at a time.
//!
//! A request `TEXT` is answered `ok TEXT`.
//!
//! ```text
//! cargo run --example tokio_daemon --features tokio                 # until killed
//! cargo run --example tokio_daemon --features tokio -- --count 100  # exit after 100
//! ```
//!
//! Then: `ipcon call example.tokio hello`. Exit status 0, or 1 on an error.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ipcon::tokio::AsyncPeer;
use ipcon::{Error, GroupFlags, Message, RECV_BUFFER_SIZE};
use tokio::task::JoinSet;

const SERVICE: &str = "example.tokio";
const STATS: &str = "example.tokio.stats";
const TICK: Duration = Duration::from_millis(2);

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = match args.as_slice() {
        [] => None,
        [flag, n] if flag == "--count" => match n.parse::<u64>() {
            Ok(n) => Some(n),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    match serve(count).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tokio_daemon: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: tokio_daemon [--count N]");
    ExitCode::from(2)
}

async fn serve(count: Option<u64>) -> Result<(), Error> {
    let peer = Arc::new(AsyncPeer::open()?);
    peer.register_service(SERVICE).await?;
    peer.register_group(STATS, GroupFlags::RETAIN).await?;
    println!("tokio_daemon: serving {SERVICE} on port {}", peer.port());

    let answered = Arc::new(AtomicU64::new(0));
    let mut replies = JoinSet::new();
    let mut ticker = tokio::time::interval(TICK);
    let (mut received, mut ticks) = (0u64, 0u64);
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    while count.is_none_or(|c| received < c) {
        tokio::select! {
            msg = peer.recv(&mut buf) => {
                let Message::Unicast(req) = msg? else { continue };
                received += 1;
                let mut reply = b"ok ".to_vec();
                reply.extend_from_slice(req.data);
                let (peer, answered, id) = (peer.clone(), answered.clone(), req.sender.id);
                replies.spawn(async move {
                    match peer.send_to_id(id, &reply).await {
                        Ok(()) => {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        // The client is gone or not reading: its problem.
                        Err(Error::PeerGone | Error::QueueFull) => {}
                        Err(e) => eprintln!("tokio_daemon: reply: {e}"),
                    }
                });
            }
            // Every tick cancels the pending recv above; nothing is lost.
            _ = ticker.tick() => {
                ticks += 1;
                let n = answered.load(Ordering::Relaxed);
                peer.publish(STATS, format!("answered={n}").as_bytes()).await?;
            }
        }
        // Reap finished reply tasks as we go.
        while replies.try_join_next().is_some() {}
    }
    while replies.join_next().await.is_some() {}
    println!(
        "tokio_daemon: {received} requests, {} answered, {ticks} ticks",
        answered.load(Ordering::Relaxed)
    );
    Ok(())
}
