// SPDX-License-Identifier: MIT OR Apache-2.0
//! An event watcher that reacts to a peer's death: a tiny supervisor.
//!
//! The supervisor subscribes to kernel events and starts a worker process
//! (this same program, run as `watch_peers worker`) that registers the
//! service `example.worker`. It learns the worker's port from the
//! `service-added` event. Then the worker is killed with SIGKILL: no
//! chance to say goodbye, yet the kernel notices the closed sockets,
//! removes the service and announces `service-removed` and `peer-gone`.
//! The supervisor reacts by starting a new worker, and sees the service
//! come back on a new port.
//!
//! Shows: [`Peer::subscribe_events`], [`Message::Event`] with
//! [`EventKind`], and that events about one name arrive in order.
//!
//! ```text
//! cargo run --example watch_peers
//! ```
//!
//! `ipcon monitor` in another shell shows the same events. Exit status 0
//! when every step was seen, 1 otherwise.

use std::process::{Child, Command, ExitCode};
use std::time::{Duration, Instant};

use ipcon::{EventKind, Message, Peer, RECV_BUFFER_SIZE};

const SERVICE: &str = "example.worker";
const WAIT: Duration = Duration::from_secs(5);

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        return worker();
    }
    match supervise() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("watch_peers: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The worker: provide the service until killed (give up after a minute,
/// so that a lost worker does not linger).
fn worker() -> ExitCode {
    let mut peer = match Peer::open() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("worker: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = peer.register_service(SERVICE) {
        eprintln!("worker: registering {SERVICE}: {e}");
        return ExitCode::FAILURE;
    }
    std::thread::sleep(Duration::from_secs(60));
    ExitCode::FAILURE
}

/// A worker process, killed when dropped.
struct Worker(Child);

impl Worker {
    fn start() -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let child = Command::new(exe)
            .arg("worker")
            .spawn()
            .map_err(|e| format!("starting a worker: {e}"))?;
        Ok(Worker(child))
    }

    /// SIGKILL, then reap.
    fn kill(&mut self) -> Result<(), String> {
        self.0.kill().map_err(|e| e.to_string())?;
        self.0.wait().map_err(|e| e.to_string())?;
        Ok(())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Receive events until `want` matches one (returning its port).
fn wait_for(
    peer: &Peer,
    buf: &mut [u8],
    what: &str,
    want: impl Fn(EventKind, Option<&str>, u32) -> bool,
) -> Result<u32, String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match peer.recv_timeout(buf, left) {
            Ok(Message::Event(ev)) if want(ev.kind, ev.name, ev.port) => return Ok(ev.port),
            Ok(Message::Lost(l)) => return Err(format!("lost {} events", l.count)),
            Ok(_) => {} // other peers' events
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    }
}

/// Matches events of `kind` about the service.
fn service_event(kind: EventKind) -> impl Fn(EventKind, Option<&str>, u32) -> bool {
    move |k, name, _| k == kind && name == Some(SERVICE)
}

fn supervise() -> Result<(), String> {
    let mut peer = Peer::open().map_err(|e| e.to_string())?;
    // Subscribe before starting the worker, so that no event is missed.
    peer.subscribe_events().map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let svc = service_event;

    let mut worker = Worker::start()?;
    let port = wait_for(&peer, &mut buf, "the worker", svc(EventKind::ServiceAdded))?;
    println!(
        "supervisor: {SERVICE} is up on port {port} (pid {})",
        worker.0.id()
    );

    println!("supervisor: killing the worker with SIGKILL");
    worker.kill()?;
    wait_for(
        &peer,
        &mut buf,
        "service-removed",
        svc(EventKind::ServiceRemoved),
    )?;
    println!("supervisor: service-removed {SERVICE}");
    wait_for(&peer, &mut buf, "peer-gone", |k, _, p| {
        k == EventKind::PeerGone && p == port
    })?;
    println!("supervisor: peer-gone port {port}: the worker died, starting a new one");

    let mut again = Worker::start()?;
    let new_port = wait_for(
        &peer,
        &mut buf,
        "the new worker",
        svc(EventKind::ServiceAdded),
    )?;
    println!(
        "supervisor: {SERVICE} is back on port {new_port} (pid {})",
        again.0.id()
    );
    again.kill()?;
    Ok(())
}
