// SPDX-License-Identifier: MIT OR Apache-2.0
//! The header's ordering and accounting guarantees under concurrency: no
//! message from a peer after its PEER_GONE, event order per name and per
//! peer, the retained replay before every later publish, exact lost counts
//! while members come and go. The module delivers with no lock that
//! registrations or teardown need, so these are what could break. And the
//! list dumps, which are read in parts while registrations go on.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ipcon::{EventKind, GroupFlags, JoinFlags, Message, Peer, RecvError};

use crate::child::{self, Proc};
use crate::suite::{peer, rxbuf, uniq, TestResult, QUIET, WAIT};
use crate::{ensure, ok, tests};

tests!(
    no_message_after_peer_gone,
    event_order_per_name_and_peer,
    retained_replay_before_later_publishes,
    lost_counts_exact_while_members_churn,
    lists_name_each_entry_once_while_names_churn,
    peers_open_while_others_close,
);

/// What a receiver saw of one round: messages from the peer after its
/// PEER_GONE, whether the PEER_GONE came, and whether events were lost
/// (which makes the round say nothing).
struct Round {
    after_gone: u32,
    before_gone: u32,
    gone: bool,
    lost_events: bool,
}

fn watch_round(w: &Peer, buf: &mut [u8], id: u64) -> Result<Round, String> {
    let mut r = Round {
        after_gone: 0,
        before_gone: 0,
        gone: false,
        lost_events: false,
    };
    let deadline = Instant::now() + WAIT;
    // Until the PEER_GONE, and a quiet period after it.
    loop {
        let left = if r.gone {
            QUIET
        } else {
            deadline.saturating_duration_since(Instant::now())
        };
        match w.recv_timeout(buf, left) {
            Ok(Message::Unicast(u)) if u.sender.id == id => {
                if r.gone {
                    r.after_gone += 1;
                } else {
                    r.before_gone += 1;
                }
            }
            Ok(Message::Event(ev)) if ev.kind == EventKind::PeerGone && ev.id == id => {
                r.gone = true;
            }
            Ok(Message::Lost(l)) if l.group.is_none() => r.lost_events = true,
            Ok(_) => {}
            Err(RecvError::TimedOut) => return Ok(r),
            Err(e) => return Err(format!("receiving: {e:?}")),
        }
    }
}

/// A peer's receive socket is closed while its control socket is sending:
/// the sends in flight are delivered before its PEER_GONE, none after.
fn no_message_after_peer_gone() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let _ = w.set_recv_buffer_size(1 << 20);
    let mut buf = rxbuf();
    let (mut verified, rounds) = (0, 12);
    for round in 0..rounds {
        let mut p = Proc::spawn(child::command(&["pair-race", &w.port().to_string()])?)?;
        let (_, id) = p.ready()?;
        // Let the flood get going, then pull R from under it.
        std::thread::sleep(Duration::from_millis(20 + 7 * round));
        p.tell("close")?;
        let r = watch_round(&w, &mut buf, id)?;
        let said = p.finish()?;
        ensure!(
            said.len() == 1 && said[0].starts_with("stopped "),
            "child said {said:?}"
        );
        ensure!(
            r.after_gone == 0,
            "round {round}: {} messages of peer {id} after its PEER_GONE",
            r.after_gone
        );
        if r.lost_events {
            continue; // the PEER_GONE may be among them: says nothing
        }
        ensure!(r.gone, "round {round}: no PEER_GONE for peer {id}");
        verified += 1;
    }
    ensure!(
        verified >= rounds / 2,
        "only {verified} of {rounds} rounds without lost events"
    );
    Ok(())
}

/// Four processes register and unregister services at once and exit: for
/// each name the events alternate added/removed, each with its owner's id,
/// and every event about a peer comes before its PEER_GONE.
fn event_order_per_name_and_peer() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let _ = w.set_recv_buffer_size(1 << 20);
    let prefix = uniq("order");
    let n = 30;
    let mut procs = Vec::new();
    for k in 0..4 {
        procs.push(Proc::spawn(child::command(&[
            "churn",
            &format!("{prefix}.{k}"),
            &n.to_string(),
        ])?)?);
    }
    let mut ids = Vec::new();
    for p in &mut procs {
        let said = p.finish()?;
        let id = said
            .first()
            .and_then(|l| l.strip_prefix("done "))
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| format!("churn said {said:?}"))?;
        ids.push(id);
    }

    // name -> (registered?, owner id); ids that are gone
    let mut names: HashMap<String, (bool, u64)> = HashMap::new();
    let mut gone: Vec<u64> = Vec::new();
    let mut buf = rxbuf();
    let (mut events, want) = (0u32, 4 * (2 * n) + 4);
    while events < want {
        match w.recv_timeout(&mut buf, WAIT) {
            Ok(Message::Event(ev)) => {
                let ours = ev.name.is_some_and(|n| n.starts_with(&prefix))
                    || (ev.kind == EventKind::PeerGone && ids.contains(&ev.id));
                if !ours {
                    continue;
                }
                events += 1;
                ensure!(
                    !gone.contains(&ev.id),
                    "{:?} {:?} of peer {} after its PEER_GONE",
                    ev.kind,
                    ev.name,
                    ev.id
                );
                match ev.kind {
                    EventKind::PeerGone => gone.push(ev.id),
                    EventKind::ServiceAdded | EventKind::ServiceRemoved => {
                        let name = ev.name.unwrap_or_default().to_string();
                        let added = ev.kind == EventKind::ServiceAdded;
                        let (was, owner) = names.get(&name).copied().unwrap_or((false, ev.id));
                        ensure!(
                            was != added,
                            "{name}: {:?} twice in a row",
                            ev.kind
                        );
                        ensure!(owner == ev.id, "{name}: owner {} then {}", owner, ev.id);
                        names.insert(name, (added, ev.id));
                    }
                    other => return Err(format!("unexpected event {other:?}")),
                }
            }
            Ok(Message::Lost(l)) if l.group.is_none() => {
                return Err(format!(
                    "{} events lost after {events} of {want}: the queue was too small to check the order",
                    l.count
                ))
            }
            Ok(_) => {}
            Err(e) => return Err(format!("after {events} of {want} events: {e:?}")),
        }
    }
    ensure!(gone.len() == 4, "PEER_GONE for {gone:?} of {ids:?}");
    ensure!(
        names.values().all(|(registered, _)| !registered),
        "names left registered after their owners were gone"
    );
    Ok(())
}

/// Joiners asking for the retained message while the owner publishes
/// 1, 2, 3, ...: each gets the retained message first, then the following
/// numbers in order, none twice and none skipped (unless a lost notice
/// says so).
fn retained_replay_before_later_publishes() -> TestResult {
    let group = uniq("replay");
    let mut owner = Proc::spawn(child::command(&["publish-seq", &group])?)?;
    owner.ready()?;
    let joiners: Vec<_> = (0..6)
        .map(|k| {
            let group = group.clone();
            std::thread::spawn(move || -> TestResult {
                std::thread::sleep(Duration::from_millis(5 * k));
                let mut p = peer()?;
                ok!(p.join(&group, JoinFlags::LAST));
                let mut buf = rxbuf();
                let mut last: Option<u32> = None;
                let mut got = 0;
                while got < 20 {
                    match p.recv_timeout(&mut buf, WAIT) {
                        Ok(Message::Group(g)) => {
                            let seq =
                                u32::from_ne_bytes(g.data.try_into().map_err(|_| "bad payload")?);
                            match last {
                                None => ensure!(g.retained, "first message {seq} not the replay"),
                                Some(prev) => {
                                    ensure!(!g.retained, "a second replay ({seq}) after {prev}");
                                    ensure!(seq == prev + 1, "{seq} after {prev}");
                                }
                            }
                            last = Some(seq);
                            got += 1;
                        }
                        // At 1 kHz into an empty queue nothing should be lost;
                        // if it is, the order cannot be checked.
                        Ok(Message::Lost(l)) => {
                            return Err(format!("{} messages lost after {got}", l.count))
                        }
                        Ok(other) => return Err(format!("unexpected {other:?}")),
                        Err(e) => return Err(format!("after {got} messages: {e:?}")),
                    }
                }
                Ok(())
            })
        })
        .collect();
    let mut result = Ok(());
    for j in joiners {
        let r = j.join().map_err(|_| "joiner panicked".to_string())?;
        if result.is_ok() {
            result = r;
        }
    }
    let said = owner.finish()?;
    ensure!(
        said.len() == 1 && said[0].starts_with("published "),
        "owner said {said:?}"
    );
    result
}

/// A member that does not read while others join and leave during a
/// publish storm: what it gets plus what the lost notices count is exactly
/// what was published.
fn lost_counts_exact_while_members_churn() -> TestResult {
    let mut owner = peer()?;
    let group = uniq("lostc");
    ok!(owner.register_group(&group, GroupFlags::empty()));
    let mut slow = peer()?;
    ok!(slow.join(&group, JoinFlags::empty()));

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (group, stop) = (group.clone(), stop.clone());
        std::thread::spawn(move || -> Result<u32, String> {
            let mut peers: Vec<Peer> = (0..4).map(|_| peer()).collect::<Result<_, _>>()?;
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for p in &mut peers {
                    ok!(p.join(&group, JoinFlags::empty()));
                }
                for p in &mut peers {
                    ok!(p.leave(&group));
                }
                n += 1;
            }
            Ok(n)
        })
    };
    let published = 300u32;
    let data = vec![3u8; 2048];
    for _ in 0..published {
        ok!(owner.publish(&group, &data));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let cycles = churn.join().map_err(|_| "churn panicked")??;

    // Drain; then one more publish brings the lost notice for the rest.
    let mut buf = rxbuf();
    let (mut got, mut lost) = (0u32, 0u32);
    let mut drain = |slow: &Peer, got: &mut u32, lost: &mut u32| -> TestResult {
        loop {
            match slow.recv_timeout(&mut buf, QUIET) {
                Ok(Message::Group(_)) => *got += 1,
                Ok(Message::Lost(l)) => *lost += l.count,
                Ok(other) => return Err(format!("unexpected {other:?}")),
                Err(RecvError::TimedOut) => return Ok(()),
                Err(e) => return Err(format!("{e:?}")),
            }
        }
    };
    drain(&slow, &mut got, &mut lost)?;
    ok!(owner.publish(&group, b"last"));
    drain(&slow, &mut got, &mut lost)?;
    ensure!(
        got + lost == published + 1,
        "got {got} + lost {lost} != {} published ({cycles} churn cycles)",
        published + 1
    );
    ensure!(lost > 0, "nothing was lost: the queue never filled");
    Ok(())
}

/// Services and groups registered and removed while the lists are read in
/// many parts: every name that exists for the whole listing is listed
/// exactly once (a dump resumed by position in a bucket would repeat one
/// or skip one when the bucket changed between two parts).
fn lists_name_each_entry_once_while_names_churn() -> TestResult {
    // More names than one user may have by default: the subject is the
    // dump, not the limits (t_security).
    let _services = crate::param::Param::unlimited("max_services")?;
    let _groups = crate::param::Param::unlimited("max_groups")?;
    let mut owner = peer()?;
    let prefix = uniq("stable");
    let n = 600;
    for i in 0..n {
        ok!(owner.register_service(&format!("{prefix}.{i}")));
        ok!(owner.register_group(&format!("{prefix}.{i}"), GroupFlags::empty()));
    }

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (prefix, stop) = (uniq("churn"), stop.clone());
        std::thread::spawn(move || -> Result<u32, String> {
            let mut p = peer()?;
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let names: Vec<String> = (0..32).map(|i| format!("{prefix}.{n}.{i}")).collect();
                for name in &names {
                    ok!(p.register_service(name));
                    ok!(p.register_group(name, GroupFlags::empty()));
                }
                for name in &names {
                    ok!(p.unregister_service(name));
                    ok!(p.unregister_group(name));
                }
                n += 1;
            }
            Ok(n)
        })
    };

    let mut lister = peer()?;
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut check = || -> TestResult {
        let deadline = Instant::now() + Duration::from_secs(4);
        let mut listings = 0;
        while listings < 10 || Instant::now() < deadline {
            let mut seen: HashMap<String, u32> = HashMap::new();
            ok!(
                lister.services(&mut buf, |s| if s.name.starts_with(&prefix) {
                    *seen.entry(format!("srv {}", s.name)).or_default() += 1;
                })
            );
            ok!(lister.groups(&mut buf, |g| if g.name.starts_with(&prefix) {
                *seen.entry(format!("grp {}", g.name)).or_default() += 1;
            }));
            let twice: Vec<_> = seen.iter().filter(|(_, &k)| k > 1).collect();
            ensure!(twice.is_empty(), "listed more than once: {twice:?}");
            ensure!(
                seen.len() == 2 * n,
                "listing {listings} showed {} of the {n} services and {n} groups",
                seen.len()
            );
            listings += 1;
        }
        Ok(())
    };
    let checked = check();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let cycles = churn.join().map_err(|_| "churn panicked")??;
    checked?;
    ensure!(cycles > 0, "the churn made no change during the listings");
    Ok(())
}

/// Threads open and drop peers as fast as they can: a new socket often gets
/// the port of one just closed in another thread (a process's first free
/// port is its pid), whose teardown in the kernel may still be pending.
/// Peer::open waits for it; no open fails.
fn peers_open_while_others_close() -> TestResult {
    let deadline = Instant::now() + Duration::from_secs(3);
    let workers: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || -> Result<u32, String> {
                let mut opened = 0;
                while Instant::now() < deadline {
                    let p = ok!(Peer::open());
                    ensure!(p.port() != 0, "port 0");
                    opened += 1;
                }
                Ok(opened)
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.join().map_err(|_| "a worker panicked")??;
    }
    ensure!(total > 0, "no peer was opened");
    Ok(())
}
