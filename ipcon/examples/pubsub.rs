// SPDX-License-Identifier: MIT OR Apache-2.0
//! Publish/subscribe with a late joiner.
//!
//! A sensor owns the group `example.temperature`, registered with
//! [`GroupFlags::RETAIN`] so the kernel keeps its last message. Two
//! displays join and get three readings as they are published. Then a
//! third display joins late with [`JoinFlags::LAST`]: the kernel hands it
//! the retained reading at once (flagged `retained`), and from then on it
//! gets new readings like the others.
//!
//! Every peer runs in its own thread here to keep the example in one
//! file; across processes it works the same. Only the owner may publish;
//! members join and leave by name, and the kernel keeps the member list.
//!
//! ```text
//! cargo run --example pubsub
//! ```
//!
//! While it runs, `ipcon listen --last example.temperature` in another
//! shell is one more late joiner. Exit status 0 when every display got
//! what it should, 1 otherwise.

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ipcon::{GroupFlags, JoinFlags, Message, Peer, RecvError, RECV_BUFFER_SIZE};

const GROUP: &str = "example.temperature";
const WAIT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    match run() {
        Ok(()) => {
            println!("pubsub: every display got its readings");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pubsub: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut sensor = Peer::open().map_err(|e| e.to_string())?;
    sensor
        .register_group(GROUP, GroupFlags::RETAIN)
        .map_err(|e| format!("registering {GROUP}: {e}"))?;
    println!("sensor: owns {GROUP} (port {})", sensor.port());

    // Each display tells us when it has joined, so that no reading is
    // published before the members are there.
    let (joined_tx, joined) = mpsc::channel();
    let mut displays = Vec::new();
    for name in ["display-1", "display-2"] {
        let tx = joined_tx.clone();
        displays.push(thread::spawn(move || display(name, JoinFlags::NONE, 4, tx)));
    }
    for _ in 0..2 {
        joined
            .recv_timeout(WAIT)
            .map_err(|_| "a display did not join")?;
    }

    for reading in ["21.5 C", "21.7 C", "22.1 C"] {
        println!("sensor: publishes {reading}");
        sensor
            .publish(GROUP, reading.as_bytes())
            .map_err(|e| e.to_string())?;
    }

    // The late joiner gets "22.1 C" at once, replayed by the kernel.
    let tx = joined_tx.clone();
    displays.push(thread::spawn(move || {
        display("late", JoinFlags::LAST, 2, tx)
    }));
    joined
        .recv_timeout(WAIT)
        .map_err(|_| "the late display did not join")?;

    println!("sensor: publishes 22.4 C");
    sensor
        .publish(GROUP, b"22.4 C")
        .map_err(|e| e.to_string())?;

    for d in displays {
        d.join().map_err(|_| "a display panicked")??;
    }
    Ok(())
}

/// Join the group, say so, then print `expect` readings.
fn display(
    name: &str,
    flags: JoinFlags,
    expect: usize,
    joined: mpsc::Sender<()>,
) -> Result<(), String> {
    let mut peer = Peer::open().map_err(|e| e.to_string())?;
    peer.join(GROUP, flags)
        .map_err(|e| format!("{name}: joining: {e}"))?;
    joined.send(()).map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    for _ in 0..expect {
        match peer.recv_timeout(&mut buf, WAIT) {
            Ok(Message::Group(m)) => println!(
                "{name}: {} from port {}{}",
                String::from_utf8_lossy(m.data),
                m.sender.port,
                if m.retained {
                    " (retained, replayed on join)"
                } else {
                    ""
                }
            ),
            Ok(Message::Lost(l)) => println!("{name}: lost {} readings", l.count),
            Ok(other) => return Err(format!("{name}: unexpected {other:?}")),
            Err(RecvError::TimedOut) => return Err(format!("{name}: no reading within {WAIT:?}")),
            Err(e) => return Err(format!("{name}: {e}")),
        }
    }
    Ok(())
}
