// SPDX-License-Identifier: MIT OR Apache-2.0
//! Unicast: relayed by the kernel, sender stamped by the kernel, boundaries
//! preserved, and a specific error for every way delivery can fail.

use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::suite::{expect_nothing, peer, recv_with, rxbuf, uniq, TestResult, WAIT};
use crate::{ensure, fails_with, ok, tests};
use ipcon::{Error, Message, Target};

tests!(
    unicast_to_port_stamps_sender,
    unicast_to_service_names_both_ends,
    unicast_sender_name_is_oldest_service,
    unicast_send_as_own_service,
    unicast_send_as_foreign_service_rejected,
    unicast_preserves_boundaries_and_order,
    unicast_empty_payload,
    unicast_max_payload_intact,
    unicast_oversize_payload_rejected,
    unicast_to_unknown_service,
    unicast_to_dead_peer,
    unicast_to_non_ipcon_port,
    unicast_full_queue_reports_and_recovers,
    unicast_stamps_other_uid_and_pid,
    recv_timeout_and_would_block,
    fd_is_pollable,
    unicast_concurrent_senders,
);

fn unicast_to_port_stamps_sender() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    ok!(a.send_to_port(b.port(), b"hello"));
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(u.data == b"hello", "payload {:?}", u.data);
            ensure!(u.sender.port == a.port(), "sender port {}", u.sender.port);
            ensure!(u.sender.service.is_none(), "sender has no service");
            ensure!(u.service.is_none(), "addressed by port, not name");
            ensure!(
                u.sender.uid == 0 && u.sender.gid == 0,
                "uid/gid {}/{}",
                u.sender.uid,
                u.sender.gid
            );
            ensure!(u.sender.pid == std::process::id(), "pid {}", u.sender.pid);
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn unicast_to_service_names_both_ends() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let (na, nb) = (uniq("from"), uniq("to"));
    ok!(a.register_service(&na));
    ok!(b.register_service(&nb));
    ok!(a.send_to_service(&nb, b"x"));
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(u.service == Some(nb.as_str()), "addressed {:?}", u.service);
            ensure!(
                u.sender.service == Some(na.as_str()),
                "sender name {:?}",
                u.sender.service
            );
            ensure!(u.sender.port == a.port(), "sender port");
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn unicast_sender_name_is_oldest_service() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    let (first, second) = (uniq("first"), uniq("second"));
    ok!(a.register_service(&first));
    ok!(a.register_service(&second));
    ok!(a.send_to_port(b.port(), b"x"));
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(
                u.sender.service == Some(first.as_str()),
                "stamped {:?}",
                u.sender.service
            );
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn unicast_send_as_own_service() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    let (first, second) = (uniq("first"), uniq("second"));
    ok!(a.register_service(&first));
    ok!(a.register_service(&second));
    ok!(a.send_as(&second, Target::Port(b.port()), b"x"));
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(
                u.sender.service == Some(second.as_str()),
                "stamped {:?}",
                u.sender.service
            );
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn unicast_send_as_foreign_service_rejected() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let theirs = uniq("theirs");
    ok!(b.register_service(&theirs));
    fails_with!(
        a.send_as(&theirs, Target::Port(b.port()), b"spoof"),
        Error::NotOwner
    );
    let mut buf = rxbuf();
    expect_nothing(&b, &mut buf)
}

fn unicast_preserves_boundaries_and_order() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    let mut buf = rxbuf();
    // Sizes around the 32 KiB chunk boundary, queued before any is read.
    // Two batches: the default receive queue (net.core.rmem_default) is
    // about 160 KiB on 32-bit kernels, and a 33-64 KiB message takes a
    // 64 KiB buffer, so three of them would not fit there.
    let batches: [&[usize]; 2] = [&[1, 3000, 17, 40000], &[2, 32768, 32769]];
    let mut i = 0;
    for sizes in batches {
        for (k, n) in sizes.iter().enumerate() {
            let msg: Vec<u8> = (0..*n).map(|j| ((i + k) * 31 + j) as u8).collect();
            ok!(a.send_to_port(b.port(), &msg));
        }
        for n in sizes {
            recv_with(&b, &mut buf, |m| match m {
                Message::Unicast(u) => {
                    ensure!(
                        u.data.len() == *n,
                        "message {i}: {} bytes, sent {n}",
                        u.data.len()
                    );
                    ensure!(
                        u.data
                            .iter()
                            .enumerate()
                            .all(|(j, v)| *v == (i * 31 + j) as u8),
                        "message {i}: payload corrupted"
                    );
                    Ok(())
                }
                other => Err(format!("got {other:?}")),
            })?;
            i += 1;
        }
    }
    Ok(())
}

fn unicast_empty_payload() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    ok!(a.send_to_port(b.port(), b""));
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(u.data.is_empty(), "payload {:?}", u.data);
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn unicast_max_payload_intact() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    let msg: Vec<u8> = (0..ipcon::PAYLOAD_MAX).map(|j| (j % 251) as u8).collect();
    ok!(a.send_to_port(b.port(), &msg));
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(
                u.data == &msg[..],
                "{} bytes arrived, content equal: false",
                u.data.len()
            );
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn unicast_oversize_payload_rejected() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    let msg = vec![7u8; ipcon::PAYLOAD_MAX + 1];
    fails_with!(a.send_to_port(b.port(), &msg), Error::PayloadTooLarge);
    let mut buf = rxbuf();
    expect_nothing(&b, &mut buf)
}

fn unicast_to_unknown_service() -> TestResult {
    let mut a = peer()?;
    fails_with!(
        a.send_to_service(&uniq("nobody"), b"x"),
        Error::NoSuchService
    );
    Ok(())
}

fn unicast_to_dead_peer() -> TestResult {
    let mut a = peer()?;
    let port = {
        let b = peer()?;
        b.port()
    };
    fails_with!(a.send_to_port(port, b"x"), Error::PeerGone);
    Ok(())
}

fn unicast_to_non_ipcon_port() -> TestResult {
    // A genetlink socket that never talked to ipcon must not receive relays.
    let raw = ok!(crate::raw::Raw::open());
    let mut a = peer()?;
    fails_with!(a.send_to_port(raw.port(), b"x"), Error::PeerGone);
    fails_with!(a.send_to_port(0, b"x"), Error::PeerGone);
    Ok(())
}

fn unicast_full_queue_reports_and_recovers() -> TestResult {
    let mut a = peer()?;
    let b = peer()?;
    let msg = vec![0x5au8; 8192];
    let mut sent = 0usize;
    let mut full = false;
    for _ in 0..10_000 {
        match a.send_to_port(b.port(), &msg) {
            Ok(()) => sent += 1,
            Err(Error::QueueFull) => {
                full = true;
                break;
            }
            Err(e) => return Err(format!("send #{sent}: {e:?}")),
        }
    }
    ensure!(full, "queue never filled after {sent} messages");
    ensure!(sent > 0, "not even one message fit");
    // Everything that was acknowledged arrives, whole; nothing else does.
    let mut buf = rxbuf();
    for i in 0..sent {
        recv_with(&b, &mut buf, |m| match m {
            Message::Unicast(u) if u.data.len() == 8192 => Ok(()),
            other => Err(format!("message {i} of {sent}: {other:?}")),
        })?;
    }
    expect_nothing(&b, &mut buf)?;
    ok!(a.send_to_port(b.port(), b"again"));
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) if u.data == b"again" => Ok(()),
        other => Err(format!("after drain: {other:?}")),
    })
}

fn unicast_stamps_other_uid_and_pid() -> TestResult {
    let b = peer()?;
    let exe = ok!(std::env::current_exe());
    let mut child = ok!(Command::new(exe)
        .args(["--child", "send-to", &b.port().to_string(), "from-uid-1000"])
        .uid(1000)
        .gid(1001)
        .spawn());
    let pid = child.id();
    let status = ok!(child.wait());
    ensure!(status.success(), "child failed: {status}");
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(u.data == b"from-uid-1000", "payload {:?}", u.data);
            ensure!(u.sender.uid == 1000, "uid {}", u.sender.uid);
            ensure!(u.sender.gid == 1001, "gid {}", u.sender.gid);
            ensure!(u.sender.pid == pid, "pid {} (child {pid})", u.sender.pid);
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn recv_timeout_and_would_block() -> TestResult {
    let b = peer()?;
    let mut buf = rxbuf();
    fails_with!(b.try_recv(&mut buf), ipcon::RecvError::WouldBlock);
    let start = std::time::Instant::now();
    fails_with!(
        b.recv_timeout(&mut buf, std::time::Duration::from_millis(200)),
        ipcon::RecvError::TimedOut
    );
    ensure!(
        start.elapsed() >= std::time::Duration::from_millis(190),
        "returned early"
    );
    let mut a = peer()?;
    ok!(a.send_to_port(b.port(), b"now"));
    // The message is queued before the ack returns: try_recv sees it.
    match b.try_recv(&mut buf) {
        Ok(Message::Unicast(u)) if u.data == b"now" => Ok(()),
        other => Err(format!("try_recv: {other:?}")),
    }
}

fn fd_is_pollable() -> TestResult {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    use std::os::fd::AsFd;
    let b = peer()?;
    let bfd = b.as_fd();
    let mut a = peer()?;
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(&bfd, PollFlags::IN)];
    let n = ok!(poll(&mut fds, Some(&zero)));
    ensure!(n == 0, "readable before anything was sent");
    ok!(a.send_to_port(b.port(), b"poll"));
    let mut fds = [PollFd::new(&bfd, PollFlags::IN)];
    let wait = Timespec {
        tv_sec: WAIT.as_secs() as i64,
        tv_nsec: 0,
    };
    let n = ok!(poll(&mut fds, Some(&wait)));
    ensure!(
        n == 1 && fds[0].revents().contains(PollFlags::IN),
        "not readable"
    );
    let mut buf = rxbuf();
    match b.try_recv(&mut buf) {
        Ok(Message::Unicast(u)) if u.data == b"poll" => Ok(()),
        other => Err(format!("after poll: {other:?}")),
    }
}

fn unicast_concurrent_senders() -> TestResult {
    let mut b = peer()?;
    let name = uniq("sink");
    ok!(b.register_service(&name));
    let threads = 4;
    let per = 200;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let name = name.clone();
            std::thread::spawn(move || -> Result<(), String> {
                let mut a = ipcon::Peer::open().map_err(|e| format!("{e:?}"))?;
                for i in 0..per {
                    let msg = format!("{t}:{i}");
                    loop {
                        match a.send_to_service(&name, msg.as_bytes()) {
                            Ok(()) => break,
                            Err(Error::QueueFull) => {
                                std::thread::sleep(std::time::Duration::from_millis(2))
                            }
                            Err(e) => return Err(format!("thread {t} msg {i}: {e:?}")),
                        }
                    }
                }
                Ok(())
            })
        })
        .collect();
    let mut buf = rxbuf();
    let mut next = vec![0usize; threads];
    for _ in 0..threads * per {
        recv_with(&b, &mut buf, |m| match m {
            Message::Unicast(u) => {
                let s = std::str::from_utf8(u.data).map_err(|e| e.to_string())?;
                let (t, i) = s.split_once(':').ok_or("bad payload")?;
                let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
                ensure!(next[t] == i, "thread {t}: got {i}, expected {}", next[t]);
                next[t] += 1;
                Ok(())
            }
            other => Err(format!("got {other:?}")),
        })?;
    }
    for h in handles {
        h.join().map_err(|_| "sender thread panicked")??;
    }
    Ok(())
}
