// SPDX-License-Identifier: MIT OR Apache-2.0
//! The halves and the async peers against the real module: a receive
//! blocked in one thread while another sends, owned halves reunited, and
//! for Tokio and async-io: a receive future dropped after it registered
//! its waker loses nothing, receives cancelled by a timer every
//! millisecond lose nothing and keep the order, many requests at once on
//! one shared peer.

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::suite::{peer, recv_with, rxbuf, uniq, TestResult, WAIT};
use crate::{ensure, ok, tests};
use ipcon::{Message, RecvError};

tests!(
    halves_receive_while_requesting,
    halves_owned_reunite,
    tokio_dropped_recv_loses_nothing,
    tokio_cancelled_receives_lose_nothing,
    tokio_many_concurrent_requests,
    tokio_stream_of_messages,
    async_io_dropped_recv_loses_nothing,
    async_io_cancelled_receives_lose_nothing,
    async_io_many_concurrent_requests,
);

/// One thread blocks in recv (no timeout) on the receiving half while the
/// other registers a service and sends to it on the requesting half.
fn halves_receive_while_requesting() -> TestResult {
    let mut p = peer()?;
    let name = uniq("halves");
    let (mut tx, rx) = p.split();
    std::thread::scope(|s| -> TestResult {
        let receiver = s.spawn(move || -> Result<String, String> {
            let mut buf = rxbuf();
            match rx.recv(&mut buf) {
                Ok(Message::Unicast(m)) => Ok(String::from_utf8_lossy(m.data).into_owned()),
                other => Err(format!("recv: {other:?}")),
            }
        });
        // The receiver is (very likely) blocked in recv by now; requests
        // must not wait for it.
        std::thread::sleep(Duration::from_millis(50));
        let start = Instant::now();
        ok!(tx.register_service(&name));
        ok!(tx.resolve_owner(&name));
        ok!(tx.send_to_service(&name, b"while you wait"));
        ensure!(
            start.elapsed() < WAIT,
            "requests waited {:?}",
            start.elapsed()
        );
        let got = receiver.join().map_err(|_| "receiver panicked")??;
        ensure!(got == "while you wait", "{got:?}");
        Ok(())
    })?;
    // The halves were borrowed: the peer is whole again.
    ok!(p.unregister_service(&name));
    Ok(())
}

/// Owned halves in threads, reunited; halves of two peers refuse.
fn halves_owned_reunite() -> TestResult {
    let (mut tx, rx) = peer()?.into_split();
    let (tx2, rx2) = peer()?.into_split();
    let port = tx.port();
    let h = std::thread::spawn(move || {
        let mut buf = rxbuf();
        let r = rx
            .recv_timeout(&mut buf, WAIT)
            .map(|m| matches!(m, Message::Unicast(u) if u.data == b"owned"));
        (rx, r)
    });
    ok!(tx.send_to_port(port, b"owned"));
    let (rx, got) = h.join().map_err(|_| "receiver panicked")?;
    ensure!(got == Ok(true), "{got:?}");
    let err = match tx.reunite(rx2) {
        Err(e) => e,
        Ok(_) => return Err("halves of two peers reunited".into()),
    };
    let ipcon::ReuniteError(tx, rx2) = err;
    let mut p = ok!(tx.reunite(rx));
    ok!(tx2.reunite(rx2));
    ok!(p.send_to_port(port, b"whole"));
    let mut buf = rxbuf();
    recv_with(&p, &mut buf, |m| match m {
        Message::Unicast(u) if u.data == b"whole" => Ok(()),
        other => Err(format!("{other:?}")),
    })
}

/// Poll `f` once with a waker that does nothing.
fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn tokio_rt() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))
}

/// A recv future polled (waker registered), then a message arrives, then
/// the future is dropped unfinished: the next recv gets the message.
fn tokio_dropped_recv_loses_nothing() -> TestResult {
    let rt = tokio_rt()?;
    rt.block_on(async {
        let a = ok!(ipcon::tokio::AsyncPeer::open());
        let mut b = peer()?;
        let mut buf = rxbuf();
        {
            let mut f = std::pin::pin!(a.recv(&mut buf));
            ensure!(poll_once(f.as_mut()).is_pending(), "a message was waiting");
            ok!(b.send_to_port(a.port(), b"kept"));
            tokio::time::sleep(Duration::from_millis(50)).await;
            // Dropped here, unfinished, after the socket became readable.
        }
        let got = tokio::time::timeout(WAIT, a.recv(&mut buf)).await;
        match got {
            Ok(Ok(Message::Unicast(u))) if u.data == b"kept" => Ok(()),
            other => Err(format!("after the dropped future: {other:?}")),
        }
    })
}

/// How many messages the cancellation tests send.
const CANCEL_MESSAGES: u32 = 300;

/// Send CANCEL_MESSAGES numbered messages to `port`, a few at a time.
/// Halfway, wait until the receiver has taken everything so far (`seen`),
/// then pause: its timer then cancels receives while the rest is still to
/// come, whatever the speed of the machine.
fn numbered_sender(
    port: u32,
    seen: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> std::thread::JoinHandle<TestResult> {
    std::thread::spawn(move || {
        let mut b = peer()?;
        for i in 0..CANCEL_MESSAGES {
            if i == CANCEL_MESSAGES / 2 {
                let deadline = Instant::now() + WAIT;
                while seen.load(std::sync::atomic::Ordering::Relaxed) < i as usize
                    && Instant::now() < deadline
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(30));
            }
            let deadline = Instant::now() + WAIT;
            loop {
                match b.send_to_port(port, &i.to_ne_bytes()) {
                    Ok(()) => break,
                    Err(ipcon::Error::QueueFull) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(1))
                    }
                    Err(e) => return Err(format!("send {i}: {e:?}")),
                }
            }
            if i % 8 == 0 {
                std::thread::sleep(Duration::from_micros(300));
            }
        }
        Ok(())
    })
}

/// Check that `got` is 0..CANCEL_MESSAGES in order.
fn in_order(got: &[u32], cancelled: u32) -> TestResult {
    ensure!(
        got.len() == CANCEL_MESSAGES as usize
            && got.iter().enumerate().all(|(i, &n)| n == i as u32),
        "received {} of {CANCEL_MESSAGES} ({cancelled} receives cancelled), first wrong at {:?}",
        got.len(),
        got.iter().enumerate().find(|(i, &n)| n != *i as u32)
    );
    ensure!(
        cancelled > 0,
        "no receive was cancelled: the test proves nothing"
    );
    Ok(())
}

fn number(m: Message<'_>) -> Result<u32, String> {
    match m {
        Message::Unicast(u) => u
            .data
            .try_into()
            .map(u32::from_ne_bytes)
            .map_err(|_| format!("payload {:?}", u.data)),
        other => Err(format!("unexpected {other:?}")),
    }
}

/// Receives raced against a 1 ms timeout while messages stream in: the
/// cancelled ones lose nothing, and the order holds.
fn tokio_cancelled_receives_lose_nothing() -> TestResult {
    let rt = tokio_rt()?;
    rt.block_on(async {
        let a = ok!(ipcon::tokio::AsyncPeer::open());
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sender = numbered_sender(a.port(), seen.clone());
        let (mut got, mut cancelled) = (Vec::new(), 0u32);
        let mut buf = rxbuf();
        let deadline = Instant::now() + 4 * WAIT;
        while got.len() < CANCEL_MESSAGES as usize && Instant::now() < deadline {
            match tokio::time::timeout(Duration::from_millis(1), a.recv(&mut buf)).await {
                Ok(Ok(m)) => {
                    got.push(number(m)?);
                    seen.store(got.len(), std::sync::atomic::Ordering::Relaxed);
                }
                Ok(Err(e)) => return Err(format!("recv: {e:?}")),
                Err(_) => cancelled += 1,
            }
        }
        sender.join().map_err(|_| "sender panicked")??;
        in_order(&got, cancelled)
    })
}

/// 64 tasks make requests at once on one shared AsyncPeer (register,
/// resolve, send to themselves, unregister): every request gets its own
/// answer, and the peer receives every message.
fn tokio_many_concurrent_requests() -> TestResult {
    const TASKS: usize = 64;
    let rt = tokio_rt()?;
    rt.block_on(async {
        let a = Arc::new(ok!(ipcon::tokio::AsyncPeer::open()));
        let mut set = tokio::task::JoinSet::new();
        for t in 0..TASKS {
            let a = a.clone();
            set.spawn(async move {
                let name = uniq(&format!("tk{t}"));
                a.register_service(&name)
                    .await
                    .map_err(|e| format!("register {name}: {e:?}"))?;
                let owner = a
                    .resolve_owner(&name)
                    .await
                    .map_err(|e| format!("resolve: {e:?}"))?;
                if owner.id != a.id() {
                    return Err(format!("{name} resolved to id {}", owner.id));
                }
                a.send_to_service(&name, name.as_bytes())
                    .await
                    .map_err(|e| format!("send: {e:?}"))?;
                a.unregister_service(&name)
                    .await
                    .map_err(|e| format!("unregister: {e:?}"))?;
                Ok::<String, String>(name)
            });
        }
        let mut names = std::collections::BTreeSet::new();
        while let Some(r) = set.join_next().await {
            names.insert(r.map_err(|e| format!("task: {e}"))??);
        }
        let mut buf = rxbuf();
        for _ in 0..TASKS {
            match tokio::time::timeout(WAIT, a.recv(&mut buf)).await {
                Ok(Ok(Message::Unicast(u))) => {
                    let n = String::from_utf8_lossy(u.data).into_owned();
                    ensure!(names.remove(&n), "unexpected or repeated {n:?}");
                }
                other => return Err(format!("{} messages missing: {other:?}", names.len())),
            }
        }
        Ok(())
    })
}

/// The Stream of owned messages, moved into another task.
fn tokio_stream_of_messages() -> TestResult {
    let rt = tokio_rt()?;
    rt.block_on(async {
        let a = Arc::new(ok!(ipcon::tokio::AsyncPeer::open()));
        let mut b = peer()?;
        for text in ["one", "two", "three"] {
            ok!(b.send_to_port(a.port(), text.as_bytes()));
        }
        let reader = a.clone();
        let task = tokio::spawn(async move {
            let mut stream = reader.messages();
            let mut out = Vec::new();
            while out.len() < 3 {
                let next = std::future::poll_fn(|cx| {
                    futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
                });
                match next.await {
                    Some(Ok(m)) => out.push(m),
                    other => return Err(format!("stream: {other:?}")),
                }
            }
            Ok(out)
        });
        let owned = match tokio::time::timeout(WAIT, task).await {
            Ok(Ok(r)) => r?,
            other => return Err(format!("stream task: {other:?}")),
        };
        let texts: Vec<Vec<u8>> = owned
            .iter()
            .map(|m| match m.message() {
                Message::Unicast(u) => u.data.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        ensure!(
            texts == [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()],
            "{texts:?}"
        );
        Ok(())
    })
}

fn async_io_dropped_recv_loses_nothing() -> TestResult {
    smol::block_on(async {
        let a = ok!(ipcon::async_io::AsyncPeer::open());
        let mut b = peer()?;
        let mut buf = rxbuf();
        {
            let mut f = std::pin::pin!(a.recv(&mut buf));
            ensure!(poll_once(f.as_mut()).is_pending(), "a message was waiting");
            ok!(b.send_to_port(a.port(), b"kept"));
            smol::Timer::after(Duration::from_millis(50)).await;
        }
        let got = smol::future::or(async { Some(a.recv(&mut buf).await) }, async {
            smol::Timer::after(WAIT).await;
            None
        })
        .await;
        match got {
            Some(Ok(Message::Unicast(u))) if u.data == b"kept" => Ok(()),
            other => Err(format!("after the dropped future: {other:?}")),
        }
    })
}

fn async_io_cancelled_receives_lose_nothing() -> TestResult {
    smol::block_on(async {
        let a = ok!(ipcon::async_io::AsyncPeer::open());
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let sender = numbered_sender(a.port(), seen.clone());
        let (mut got, mut cancelled) = (Vec::new(), 0u32);
        let mut buf = rxbuf();
        let deadline = Instant::now() + 4 * WAIT;
        while got.len() < CANCEL_MESSAGES as usize && Instant::now() < deadline {
            let r = smol::future::or(async { Some(a.recv(&mut buf).await) }, async {
                smol::Timer::after(Duration::from_millis(1)).await;
                None
            })
            .await;
            match r {
                Some(Ok(m)) => {
                    got.push(number(m)?);
                    seen.store(got.len(), std::sync::atomic::Ordering::Relaxed);
                }
                Some(Err(RecvError::WouldBlock)) => return Err("recv: WouldBlock".into()),
                Some(Err(e)) => return Err(format!("recv: {e:?}")),
                None => cancelled += 1,
            }
        }
        sender.join().map_err(|_| "sender panicked")??;
        in_order(&got, cancelled)
    })
}

fn async_io_many_concurrent_requests() -> TestResult {
    const TASKS: usize = 64;
    let ex = smol::Executor::new();
    let threads: Vec<_> = (0..2).map(|_| smol::channel::bounded::<()>(1)).collect();
    std::thread::scope(|s| {
        // Two executor threads, as a multi-threaded smol program has.
        for (_, stop) in &threads {
            let ex = &ex;
            let stop = stop.clone();
            s.spawn(move || smol::block_on(ex.run(stop.recv())));
        }
        let r = smol::block_on(ex.run(async {
            let a = Arc::new(ok!(ipcon::async_io::AsyncPeer::open()));
            let tasks: Vec<_> = (0..TASKS)
                .map(|t| {
                    let a = a.clone();
                    ex.spawn(async move {
                        let name = uniq(&format!("ai{t}"));
                        a.register_service(&name)
                            .await
                            .map_err(|e| format!("register: {e:?}"))?;
                        a.send_to_service(&name, name.as_bytes())
                            .await
                            .map_err(|e| format!("send: {e:?}"))?;
                        a.unregister_service(&name)
                            .await
                            .map_err(|e| format!("unregister: {e:?}"))?;
                        Ok::<String, String>(name)
                    })
                })
                .collect();
            let mut names = std::collections::BTreeSet::new();
            for t in tasks {
                names.insert(t.await?);
            }
            let mut buf = rxbuf();
            for _ in 0..TASKS {
                let m = smol::future::or(async { Some(a.recv(&mut buf).await) }, async {
                    smol::Timer::after(WAIT).await;
                    None
                })
                .await;
                match m {
                    Some(Ok(Message::Unicast(u))) => {
                        let n = String::from_utf8_lossy(u.data).into_owned();
                        ensure!(names.remove(&n), "unexpected or repeated {n:?}");
                    }
                    other => return Err(format!("{} messages missing: {other:?}", names.len())),
                }
            }
            Ok(())
        }));
        for (tx, _) in &threads {
            let _ = tx.try_send(());
        }
        r
    })
}
