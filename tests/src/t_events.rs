// SPDX-License-Identifier: MIT OR Apache-2.0
//! Kernel events: services and groups added and removed, peers gone (SIGKILL
//! included), in order per name, and overflow reported as a count.

use std::process::{Command, Stdio};

use crate::suite::{expect_nothing, peer, recv_with, rxbuf, uniq, wait_event, TestResult};
use crate::{ensure, fails_with, ok, tests};
use ipcon::{Error, EventKind, GroupFlags, JoinFlags, Message};

tests!(
    events_service_added_and_removed,
    events_group_added_and_removed,
    events_in_order_for_one_name,
    events_subscribe_twice_and_unsubscribe,
    events_not_sent_without_subscription,
    events_peer_gone_on_close,
    events_sigkilled_peer_is_cleaned_up,
    events_overflow_reports_lost_count,
);

fn events_service_added_and_removed() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut a = peer()?;
    let name = uniq("evs");
    ok!(a.register_service(&name));
    ok!(a.unregister_service(&name));
    let mut buf = rxbuf();
    for kind in [EventKind::ServiceAdded, EventKind::ServiceRemoved] {
        recv_with(&w, &mut buf, |m| match m {
            Message::Event(ev) => {
                ensure!(ev.kind == kind, "got {:?}, expected {kind:?}", ev.kind);
                ensure!(ev.name == Some(name.as_str()), "name {:?}", ev.name);
                ensure!(ev.port == a.port(), "port {}", ev.port);
                Ok(())
            }
            other => Err(format!("got {other:?}")),
        })?;
    }
    Ok(())
}

fn events_group_added_and_removed() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut a = peer()?;
    let g = uniq("evg");
    ok!(a.register_group(&g, GroupFlags::empty()));
    ok!(a.unregister_group(&g));
    let mut buf = rxbuf();
    for kind in [EventKind::GroupAdded, EventKind::GroupRemoved] {
        recv_with(&w, &mut buf, |m| match m {
            Message::Event(ev) => {
                ensure!(ev.kind == kind, "got {:?}, expected {kind:?}", ev.kind);
                ensure!(ev.name == Some(g.as_str()), "name {:?}", ev.name);
                ensure!(ev.port == a.port(), "port {}", ev.port);
                Ok(())
            }
            other => Err(format!("got {other:?}")),
        })?;
    }
    Ok(())
}

fn events_in_order_for_one_name() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let name = uniq("evo");
    // Two peers race for one name; whatever happens, the events about it
    // must alternate added/removed, each removal naming the last adder.
    let mut handles = Vec::new();
    for _ in 0..2 {
        let name = name.clone();
        handles.push(std::thread::spawn(move || -> Result<u32, String> {
            let mut p = ipcon::Peer::open().map_err(|e| format!("{e:?}"))?;
            let mut won = 0;
            // At most 160 events queue up unread: well inside the default
            // receive buffer, so no Lost notice can interleave.
            for _ in 0..40 {
                match p.register_service(&name) {
                    Ok(()) => {
                        won += 1;
                        p.unregister_service(&name).map_err(|e| format!("{e:?}"))?;
                    }
                    Err(Error::NameTaken) => {}
                    Err(e) => return Err(format!("{e:?}")),
                }
            }
            Ok(won)
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.join().map_err(|_| "thread panicked")??;
    }
    let mut buf = rxbuf();
    let mut owner = None;
    let mut seen = 0;
    while seen < 2 * total {
        let step = recv_with(&w, &mut buf, |m| match m {
            Message::Event(ev) if ev.name == Some(name.as_str()) => Ok(Some((ev.kind, ev.port))),
            Message::Event(_) => Ok(None),
            other => Err(format!("got {other:?}")),
        })?;
        let Some((kind, port)) = step else { continue };
        seen += 1;
        match (kind, owner) {
            (EventKind::ServiceAdded, None) => owner = Some(port),
            (EventKind::ServiceRemoved, Some(o)) if o == port => owner = None,
            _ => {
                return Err(format!(
                    "event {seen}: {kind:?} port {port} while owner {owner:?}"
                ))
            }
        }
    }
    ensure!(owner.is_none(), "ended with owner {owner:?}");
    Ok(())
}

fn events_subscribe_twice_and_unsubscribe() -> TestResult {
    let mut w = peer()?;
    fails_with!(w.unsubscribe_events(), Error::NotSubscribed);
    ok!(w.subscribe_events());
    fails_with!(w.subscribe_events(), Error::AlreadySubscribed);
    ok!(w.unsubscribe_events());
    let mut a = peer()?;
    ok!(a.register_service(&uniq("quiet")));
    let mut buf = rxbuf();
    expect_nothing(&w, &mut buf)
}

fn events_not_sent_without_subscription() -> TestResult {
    let w = peer()?;
    let mut a = peer()?;
    ok!(a.register_group(&uniq("q"), GroupFlags::empty()));
    let mut buf = rxbuf();
    expect_nothing(&w, &mut buf)
}

fn events_peer_gone_on_close() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let port = {
        let mut a = peer()?;
        ok!(a.register_service(&uniq("bye")));
        a.port()
    };
    let mut buf = rxbuf();
    wait_event(&w, &mut buf, "peer gone", |ev| {
        ev.kind == EventKind::PeerGone && ev.port == port
    })
}

fn events_sigkilled_peer_is_cleaned_up() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut owner = peer()?;
    let theirs = uniq("kgroup");
    ok!(owner.register_group(&theirs, GroupFlags::empty()));
    let (svc, grp) = (uniq("ksvc"), uniq("kgrp"));
    let exe = ok!(std::env::current_exe());
    let mut child = ok!(Command::new(exe)
        .args(["--child", "hold", &svc, &grp, &theirs])
        .stdout(Stdio::piped())
        .spawn());
    // The child prints its port once everything is registered.
    let port = crate::child::read_ready(&mut child)?;
    let mut buf = rxbuf();
    wait_event(&w, &mut buf, "child's service", |ev| {
        ev.kind == EventKind::ServiceAdded && ev.name == Some(svc.as_str())
    })?;
    ok!(child.kill());
    ok!(child.wait());
    let mut gone = (false, false, false);
    let deadline = std::time::Instant::now() + crate::suite::WAIT;
    while gone != (true, true, true) {
        ensure!(
            std::time::Instant::now() < deadline,
            "cleanup events seen: {gone:?}"
        );
        if let Message::Event(ev) = ok!(w.recv_timeout(&mut buf, crate::suite::WAIT)) {
            match ev.kind {
                EventKind::ServiceRemoved if ev.name == Some(svc.as_str()) => {
                    ensure!(ev.port == port, "port");
                    gone.0 = true
                }
                EventKind::GroupRemoved if ev.name == Some(grp.as_str()) => {
                    ensure!(!gone.2, "group removed after peer gone");
                    gone.1 = true
                }
                EventKind::PeerGone if ev.port == port => {
                    ensure!(gone.0 && gone.1, "peer gone before its names were removed");
                    gone.2 = true
                }
                _ => {}
            }
        }
    }
    fails_with!(w.resolve(&svc), Error::NoSuchService);
    fails_with!(w.join(&grp, JoinFlags::empty()), Error::NoSuchGroup);
    let mut dump = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut members = None;
    ok!(w.groups(&mut dump, |gi| if gi.name == theirs {
        members = Some(gi.members)
    }));
    ensure!(members == Some(0), "dead member still counted: {members:?}");
    Ok(())
}

fn events_overflow_reports_lost_count() -> TestResult {
    // 3000 registrations of one user overflow the event queue; lift the
    // per-user service limit, which is not the subject here.
    let _limit = crate::param::Param::unlimited("max_services")?;
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut a = peer()?;
    let prefix = uniq("evflood");
    let n = 3000u32;
    for i in 0..n {
        ok!(a.register_service(&format!("{prefix}.{i}")));
    }
    let mut buf = rxbuf();
    let mut got = 0u32;
    loop {
        match w.recv_timeout(&mut buf, crate::suite::QUIET) {
            Ok(Message::Event(ev)) if ev.kind == EventKind::ServiceAdded => got += 1,
            Ok(other) => return Err(format!("while draining: {other:?}")),
            Err(ipcon::RecvError::TimedOut) => break,
            Err(e) => return Err(format!("{e:?}")),
        }
    }
    ensure!(
        got < n,
        "all {n} events arrived: the queue never overflowed"
    );
    let last = format!("{prefix}.last");
    ok!(a.register_service(&last));
    let lost = recv_with(&w, &mut buf, |m| match m {
        Message::Lost(l) => {
            ensure!(l.group.is_none(), "events notice names group {:?}", l.group);
            Ok(l.count)
        }
        other => Err(format!("expected a lost notice, got {other:?}")),
    })?;
    ensure!(
        got + lost == n,
        "received {got} + lost {lost} != {n} events"
    );
    wait_event(&w, &mut buf, "event after the lost notice", |ev| {
        ev.name == Some(last.as_str())
    })
}
