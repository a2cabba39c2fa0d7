// SPDX-License-Identifier: MIT OR Apache-2.0
//! Groups: owned by the registering peer, joined and left by name through
//! the kernel, published by the owner, optionally retaining the last message,
//! and overflow reported as a count.

use crate::suite::{expect_nothing, peer, recv_with, rxbuf, uniq, TestResult};
use crate::{ensure, fails_with, ok, tests};
use ipcon::{Error, GroupFlags, JoinFlags, Message};

tests!(
    group_publish_reaches_every_member,
    group_duplicate_name_rejected,
    group_join_unknown,
    group_join_twice_and_leave_not_member,
    group_publish_not_owner,
    group_publish_unknown,
    group_leave_stops_delivery,
    group_unregister_not_owner,
    group_unregister_stops_publish,
    group_list_shows_owner_members_flags,
    group_retained_message_for_late_joiner,
    group_join_without_last_gets_nothing_old,
    group_without_retain_has_nothing_to_replay,
    group_overflow_reports_lost_count,
    group_count_limited_by_memory_not_a_pool,
    group_owner_may_join_own_group,
);

fn expect_group_msg(
    p: &ipcon::Peer,
    buf: &mut [u8],
    group: &str,
    data: &[u8],
    retained: bool,
) -> TestResult {
    recv_with(p, buf, |m| match m {
        Message::Group(g) => {
            ensure!(g.group == group, "group {}", g.group);
            ensure!(g.data == data, "payload {:?}", g.data);
            ensure!(g.retained == retained, "retained {}", g.retained);
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn group_publish_reaches_every_member() -> TestResult {
    let mut owner = peer()?;
    let mut m1 = peer()?;
    let mut m2 = peer()?;
    let (g, svc) = (uniq("grp"), uniq("pub"));
    ok!(owner.register_service(&svc));
    ok!(owner.register_group(&g, GroupFlags::empty()));
    ok!(m1.join(&g, JoinFlags::empty()));
    ok!(m2.join(&g, JoinFlags::empty()));
    ok!(owner.publish(&g, b"reading 1"));
    let mut buf = rxbuf();
    for m in [&m1, &m2] {
        recv_with(m, &mut buf, |msg| match msg {
            Message::Group(gm) => {
                ensure!(gm.group == g, "group {}", gm.group);
                ensure!(gm.data == b"reading 1", "payload");
                ensure!(gm.sender.port == owner.port(), "sender {}", gm.sender.port);
                ensure!(
                    gm.sender.service == Some(svc.as_str()),
                    "sender name {:?}",
                    gm.sender.service
                );
                ensure!(gm.sender.pid == std::process::id(), "pid");
                ensure!(!gm.retained, "not a replay");
                Ok(())
            }
            other => Err(format!("got {other:?}")),
        })?;
    }
    // The owner did not join: it gets nothing.
    expect_nothing(&owner, &mut buf)
}

fn group_duplicate_name_rejected() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let g = uniq("gdup");
    ok!(a.register_group(&g, GroupFlags::empty()));
    fails_with!(b.register_group(&g, GroupFlags::empty()), Error::NameTaken);
    // Services and groups are separate name spaces.
    ok!(b.register_service(&g));
    fails_with!(
        b.register_group("bad name", GroupFlags::empty()),
        Error::InvalidName
    );
    Ok(())
}

fn group_join_unknown() -> TestResult {
    let mut a = peer()?;
    fails_with!(
        a.join(&uniq("nogroup"), JoinFlags::empty()),
        Error::NoSuchGroup
    );
    fails_with!(a.leave(&uniq("nogroup")), Error::NoSuchGroup);
    Ok(())
}

fn group_join_twice_and_leave_not_member() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let g = uniq("g2x");
    ok!(a.register_group(&g, GroupFlags::empty()));
    fails_with!(b.leave(&g), Error::NotMember);
    ok!(b.join(&g, JoinFlags::empty()));
    fails_with!(b.join(&g, JoinFlags::empty()), Error::AlreadyMember);
    ok!(b.leave(&g));
    fails_with!(b.leave(&g), Error::NotMember);
    Ok(())
}

fn group_publish_not_owner() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let g = uniq("gown");
    ok!(a.register_group(&g, GroupFlags::empty()));
    ok!(b.join(&g, JoinFlags::empty()));
    fails_with!(b.publish(&g, b"forged"), Error::NotOwner);
    let mut buf = rxbuf();
    expect_nothing(&b, &mut buf)
}

fn group_publish_unknown() -> TestResult {
    let mut a = peer()?;
    fails_with!(a.publish(&uniq("nogroup"), b"x"), Error::NoSuchGroup);
    Ok(())
}

fn group_leave_stops_delivery() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let g = uniq("gleave");
    ok!(a.register_group(&g, GroupFlags::empty()));
    ok!(b.join(&g, JoinFlags::empty()));
    ok!(a.publish(&g, b"one"));
    let mut buf = rxbuf();
    expect_group_msg(&b, &mut buf, &g, b"one", false)?;
    ok!(b.leave(&g));
    ok!(a.publish(&g, b"two"));
    expect_nothing(&b, &mut buf)
}

fn group_unregister_not_owner() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let g = uniq("gun");
    ok!(a.register_group(&g, GroupFlags::empty()));
    fails_with!(b.unregister_group(&g), Error::NotOwner);
    fails_with!(b.unregister_group(&uniq("nogroup")), Error::NoSuchGroup);
    Ok(())
}

fn group_unregister_stops_publish() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let g = uniq("gend");
    ok!(a.register_group(&g, GroupFlags::empty()));
    ok!(b.join(&g, JoinFlags::empty()));
    ok!(a.unregister_group(&g));
    fails_with!(a.publish(&g, b"x"), Error::NoSuchGroup);
    fails_with!(b.leave(&g), Error::NoSuchGroup);
    // The name can be registered again, by anyone, with no old members.
    ok!(b.register_group(&g, GroupFlags::empty()));
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut members = None;
    ok!(a.groups(&mut buf, |gi| if gi.name == g {
        members = Some(gi.members)
    }));
    ensure!(
        members == Some(0),
        "re-registered group has members {members:?}"
    );
    Ok(())
}

fn group_list_shows_owner_members_flags() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let mut c = peer()?;
    let (g1, g2) = (uniq("gl1"), uniq("gl2"));
    ok!(a.register_group(&g1, GroupFlags::RETAIN));
    ok!(b.register_group(&g2, GroupFlags::empty()));
    ok!(b.join(&g1, JoinFlags::empty()));
    ok!(c.join(&g1, JoinFlags::empty()));
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut seen = Vec::new();
    ok!(c.groups(&mut buf, |gi| seen.push((
        gi.name.to_string(),
        gi.owner,
        gi.members,
        gi.retain
    ))));
    ensure!(
        seen.contains(&(g1.clone(), a.port(), 2, true)),
        "{g1} wrong in {seen:?}"
    );
    ensure!(
        seen.contains(&(g2.clone(), b.port(), 0, false)),
        "{g2} wrong in {seen:?}"
    );
    Ok(())
}

fn group_retained_message_for_late_joiner() -> TestResult {
    let mut a = peer()?;
    let mut early = peer()?;
    let g = uniq("gret");
    ok!(a.register_group(&g, GroupFlags::RETAIN));
    ok!(early.join(&g, JoinFlags::empty()));
    ok!(a.publish(&g, b"21.0C"));
    ok!(a.publish(&g, b"21.5C"));
    let mut buf = rxbuf();
    expect_group_msg(&early, &mut buf, &g, b"21.0C", false)?;
    expect_group_msg(&early, &mut buf, &g, b"21.5C", false)?;
    let mut late = peer()?;
    ok!(late.join(&g, JoinFlags::LAST));
    expect_group_msg(&late, &mut buf, &g, b"21.5C", true)?;
    expect_nothing(&late, &mut buf)?;
    // Later publishes reach the late joiner normally; the early one gets no replay.
    ok!(a.publish(&g, b"22.0C"));
    expect_group_msg(&late, &mut buf, &g, b"22.0C", false)?;
    expect_group_msg(&early, &mut buf, &g, b"22.0C", false)?;
    expect_nothing(&early, &mut buf)
}

fn group_join_without_last_gets_nothing_old() -> TestResult {
    let mut a = peer()?;
    let mut late = peer()?;
    let g = uniq("gnolast");
    ok!(a.register_group(&g, GroupFlags::RETAIN));
    ok!(a.publish(&g, b"old"));
    ok!(late.join(&g, JoinFlags::empty()));
    let mut buf = rxbuf();
    expect_nothing(&late, &mut buf)
}

fn group_without_retain_has_nothing_to_replay() -> TestResult {
    let mut a = peer()?;
    let mut late = peer()?;
    let g = uniq("gnoret");
    ok!(a.register_group(&g, GroupFlags::empty()));
    ok!(a.publish(&g, b"old"));
    ok!(late.join(&g, JoinFlags::LAST));
    let mut buf = rxbuf();
    expect_nothing(&late, &mut buf)
}

fn group_overflow_reports_lost_count() -> TestResult {
    let mut a = peer()?;
    let mut slow = peer()?;
    let g = uniq("gflood");
    ok!(a.register_group(&g, GroupFlags::empty()));
    ok!(slow.join(&g, JoinFlags::empty()));
    let n = 200u32;
    let msg = vec![1u8; 4096];
    for _ in 0..n {
        ok!(a.publish(&g, &msg));
    }
    // Drain: what was queued arrives; then, once there is room, one more
    // publish makes the kernel report the exact number dropped.
    let mut buf = rxbuf();
    let mut got = 0u32;
    loop {
        match slow.recv_timeout(&mut buf, crate::suite::QUIET) {
            Ok(Message::Group(_)) => got += 1,
            Ok(other) => return Err(format!("while draining: {other:?}")),
            Err(ipcon::RecvError::TimedOut) => break,
            Err(e) => return Err(format!("{e:?}")),
        }
    }
    ensure!(got < n, "all {n} arrived: the queue never overflowed");
    ok!(a.publish(&g, b"after"));
    let lost = recv_with(&slow, &mut buf, |m| match m {
        Message::Lost(l) => {
            ensure!(l.group == Some(g.as_str()), "lost notice for {:?}", l.group);
            Ok(l.count)
        }
        other => Err(format!("expected a lost notice, got {other:?}")),
    })?;
    ensure!(
        got + lost == n,
        "received {got} + lost {lost} != published {n}"
    );
    expect_group_msg(&slow, &mut buf, &g, b"after", false)
}

fn group_count_limited_by_memory_not_a_pool() -> TestResult {
    // No fixed pool of groups (the original IPCON had 127): with the
    // per-user limit lifted, 1000 groups of one user all register.
    let _limit = crate::param::Param::unlimited("max_groups")?;
    let mut a = peer()?;
    let prefix = uniq("many");
    for i in 0..1000 {
        ok!(a.register_group(&format!("{prefix}.{i}"), GroupFlags::empty()));
    }
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut n = 0;
    ok!(a.groups(&mut buf, |gi| if gi.name.starts_with(&prefix) {
        n += 1
    }));
    ensure!(n == 1000, "listed {n} of 1000 groups");
    Ok(())
}

fn group_owner_may_join_own_group() -> TestResult {
    let mut a = peer()?;
    let g = uniq("gself");
    ok!(a.register_group(&g, GroupFlags::empty()));
    ok!(a.join(&g, JoinFlags::empty()));
    ok!(a.publish(&g, b"echo"));
    let mut buf = rxbuf();
    expect_group_msg(&a, &mut buf, &g, b"echo", false)
}
