// SPDX-License-Identifier: MIT OR Apache-2.0
//! ipcon benchmarks, run inside the VM by `qemu/run bench`: unicast round
//! trip latency, one-way unicast throughput and group fan-out. Prints
//! numbers; passes or fails nothing (`--quick` only checks it runs).
//!
//! Under QEMU's TCG every instruction is emulated: compare numbers between
//! runs of the same harness, not with real hardware.

use std::time::{Duration, Instant};

use ipcon::{Error, GroupFlags, JoinFlags, Message, Peer, RECV_BUFFER_SIZE};

fn open() -> Peer {
    Peer::open().unwrap_or_else(|e| {
        eprintln!("ipcon-bench: {e}");
        std::process::exit(1)
    })
}

/// Echo server on its own peer and thread: replies to every unicast with
/// the same payload, until it receives an empty message.
fn echo_server(name: String) -> (std::thread::JoinHandle<()>, std::sync::mpsc::Receiver<()>) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut p = open();
        p.register_service(&name).expect("register");
        ready_tx.send(()).ok();
        let mut buf = vec![0u8; RECV_BUFFER_SIZE];
        let mut reply = vec![0u8; RECV_BUFFER_SIZE];
        loop {
            let (from, len) = match p.recv(&mut buf) {
                Ok(Message::Unicast(m)) => {
                    reply[..m.data.len()].copy_from_slice(m.data);
                    (m.sender.port, m.data.len())
                }
                Ok(_) => continue,
                Err(e) => panic!("echo recv: {e}"),
            };
            if len == 0 {
                return;
            }
            p.send_to_port(from, &reply[..len]).expect("echo send");
        }
    });
    (h, ready_rx)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn round_trip(size: usize, n: usize) {
    let name = format!("bench.echo.{}", std::process::id());
    let (h, ready) = echo_server(name.clone());
    ready.recv().expect("server ready");
    let mut c = open();
    let msg = vec![0xa5u8; size];
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        c.send_to_service(&name, &msg).expect("send");
        match c.recv_timeout(&mut buf, Duration::from_secs(5)) {
            Ok(Message::Unicast(m)) if m.data.len() == size => {}
            other => panic!("round trip: {other:?}"),
        }
        times.push(t.elapsed());
    }
    c.send_to_service(&name, b"").expect("stop");
    h.join().expect("server");
    times.sort();
    println!(
        "unicast round trip {size:>5} B: p50 {:>7.1} us  p99 {:>7.1} us  ({n} round trips)",
        percentile(&times, 0.5).as_secs_f64() * 1e6,
        percentile(&times, 0.99).as_secs_f64() * 1e6
    );
}

fn one_way(size: usize, n: usize) {
    let rx = open();
    let port = rx.port();
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut buf = vec![0u8; RECV_BUFFER_SIZE];
        let mut got = 0;
        while got < n {
            match rx.recv_timeout(&mut buf, Duration::from_secs(5)) {
                Ok(Message::Unicast(_)) => got += 1,
                other => panic!("one way: {other:?}"),
            }
        }
        done_tx.send(()).ok();
    });
    let mut tx = open();
    let msg = vec![0x5au8; size];
    let t = Instant::now();
    let mut full = 0u64;
    for _ in 0..n {
        loop {
            match tx.send_to_port(port, &msg) {
                Ok(()) => break,
                Err(Error::QueueFull) => {
                    full += 1;
                    std::thread::yield_now();
                }
                Err(e) => panic!("send: {e}"),
            }
        }
    }
    done_rx.recv().expect("receiver");
    let secs = t.elapsed().as_secs_f64();
    h.join().expect("receiver");
    println!(
        "unicast one way    {size:>5} B: {:>9.0} msg/s {:>8.1} MiB/s  ({n} messages, {full} QueueFull retries)",
        n as f64 / secs,
        n as f64 * size as f64 / secs / (1024.0 * 1024.0)
    );
}

fn fan_out(members: usize, n: usize) {
    let group = format!("bench.group.{}", std::process::id());
    let mut owner = open();
    owner
        .register_group(&group, GroupFlags::empty())
        .expect("group");
    let mut handles = Vec::new();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    for _ in 0..members {
        let group = group.clone();
        let ready_tx = ready_tx.clone();
        handles.push(std::thread::spawn(move || {
            let mut m = open();
            m.join(&group, JoinFlags::empty()).expect("join");
            ready_tx.send(()).ok();
            let mut buf = vec![0u8; RECV_BUFFER_SIZE];
            let (mut got, mut lost) = (0u64, 0u64);
            while got + lost < n as u64 {
                match m.recv_timeout(&mut buf, Duration::from_secs(5)) {
                    Ok(Message::Group(_)) => got += 1,
                    Ok(Message::Lost(l)) => lost += u64::from(l.count),
                    other => panic!("fan out: {other:?}"),
                }
            }
            (got, lost)
        }));
    }
    for _ in 0..members {
        ready_rx.recv().expect("member ready");
    }
    let msg = [0x42u8; 64];
    let t = Instant::now();
    for _ in 0..n {
        owner.publish(&group, &msg).expect("publish");
    }
    let publish_secs = t.elapsed().as_secs_f64();
    // More messages let members that lost some learn the count.
    let (mut got, mut lost) = (0, 0);
    let stop = Instant::now() + Duration::from_secs(10);
    while handles.iter().any(|h| !h.is_finished()) && Instant::now() < stop {
        owner.publish(&group, &msg).expect("publish");
        std::thread::sleep(Duration::from_millis(20));
    }
    for h in handles {
        let (g, l) = h.join().expect("member");
        got += g;
        lost += l;
    }
    println!(
        "group fan-out {members:>2} members, 64 B: {:>9.0} publish/s {:>9.0} deliveries/s  (delivered {got}, lost {lost})",
        n as f64 / publish_secs,
        (n * members) as f64 / publish_secs
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("usage: ipcon-bench [--quick]\nRuns ipcon benchmarks against the loaded module and prints numbers.");
        return;
    }
    let k = if quick { 20 } else { 1 };
    println!("ipcon benchmarks (kernel relay; numbers under QEMU TCG are emulated)");
    round_trip(64, 4000 / k);
    round_trip(4096, 2000 / k);
    round_trip(65536, 300 / k);
    one_way(64, 20000 / k);
    one_way(4096, 5000 / k);
    fan_out(1, 5000 / k);
    fan_out(8, 2000 / k);
}
