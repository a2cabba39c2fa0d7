// SPDX-License-Identifier: MIT OR Apache-2.0
//! Whole-system behaviour: network namespaces, many peers, and unloading
//! the module under live peers (last: it reloads the module).

use std::process::Command;

use crate::suite::{expect_nothing, peer, rxbuf, uniq, TestResult};
use crate::{ensure, fails_with, ok, tests};
use ipcon::{Error, GroupFlags, JoinFlags};

tests!(
    netns_services_are_separate,
    netns_events_do_not_cross,
    many_peers_open_and_close,
    benchmark_program_runs,
    module_unload_with_live_peers,
);

fn in_new_netns(args: &[&str]) -> Result<std::process::ExitStatus, String> {
    let exe = ok!(std::env::current_exe());
    let exe = exe.to_str().ok_or("exe path")?.to_string();
    let mut cmd = Command::new("unshare");
    cmd.arg("-n").arg(exe).arg("--child").args(args);
    cmd.status().map_err(|e| format!("unshare: {e}"))
}

fn netns_services_are_separate() -> TestResult {
    let mut a = peer()?;
    let name = uniq("ns");
    ok!(a.register_service(&name));
    let st = in_new_netns(&["netns-check", &name])?;
    ensure!(st.success(), "child in the new namespace failed: {st}");
    // Our own service is untouched by the other namespace.
    ensure!(ok!(a.resolve(&name)) == a.port(), "owner changed");
    Ok(())
}

fn netns_events_do_not_cross() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let name = uniq("nsev");
    let st = in_new_netns(&["netns-check", &name])?;
    ensure!(st.success(), "child failed: {st}");
    let mut buf = rxbuf();
    // The child's service and its peer-gone event stay in its namespace.
    expect_nothing(&w, &mut buf)
}

fn many_peers_open_and_close() -> TestResult {
    let name = uniq("churn");
    for round in 0..5 {
        let mut peers = Vec::new();
        for i in 0..100 {
            let mut p = peer()?;
            ok!(p.register_service(&format!("{name}.{i}")));
            ok!(p.register_group(&format!("{name}.{i}"), GroupFlags::RETAIN));
            ok!(p.publish(&format!("{name}.{i}"), &[round as u8; 1000]));
            peers.push(p);
        }
        drop(peers);
    }
    let mut p = peer()?;
    fails_with!(p.resolve(&format!("{name}.0")), Error::NoSuchService);
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut left = 0;
    ok!(p.services(&mut buf, |s| if s.name.starts_with(&name) {
        left += 1
    }));
    ensure!(left == 0, "{left} services survived their peers");
    Ok(())
}

fn benchmark_program_runs() -> TestResult {
    // `qemu/run bench` must not rot: run it with few iterations.
    let exe = ok!(std::env::current_exe());
    let bench = exe.with_file_name("ipcon-bench");
    let out = ok!(Command::new(&bench).arg("--quick").output());
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "{bench:?}: {} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        text.contains("round trip") && text.contains("fan-out"),
        "output: {text}"
    );
    Ok(())
}

fn sh(cmd: &str, args: &[&str]) -> TestResult {
    let st = Command::new(cmd)
        .args(args)
        .status()
        .map_err(|e| format!("{cmd}: {e}"))?;
    ensure!(st.success(), "{cmd} {args:?}: {st}");
    Ok(())
}

fn module_unload_with_live_peers() -> TestResult {
    // Live state of every kind, plus undelivered messages in a queue.
    let mut owner = peer()?;
    let mut member = peer()?;
    let mut watcher = peer()?;
    let (svc, grp) = (uniq("unload"), uniq("unloadg"));
    ok!(owner.register_service(&svc));
    ok!(owner.register_group(&grp, GroupFlags::RETAIN));
    ok!(member.join(&grp, JoinFlags::empty()));
    ok!(watcher.subscribe_events());
    ok!(owner.publish(&grp, b"queued"));
    ok!(owner.send_to_port(member.port(), b"queued too"));

    sh("rmmod", &["ipcon"])?;
    // The old peers get errors, not crashes.
    ensure!(
        owner.publish(&grp, b"x").is_err(),
        "publish worked without the module"
    );
    ensure!(
        member.resolve(&svc).is_err(),
        "resolve worked without the module"
    );
    fails_with!(ipcon::Peer::open(), Error::NotLoaded);
    let msg = format!("{}", ipcon::Peer::open().err().ok_or("no error")?);
    ensure!(msg.contains("not loaded"), "error text: {msg}");
    // The command-line tool says what to do, with its own exit status
    // (checked after the module is back, so that a failure leaves it loaded).
    let cli = crate::t_cli::check_not_loaded();

    // As the packages install it: under /lib/modules/$(uname -r), indexed
    // by depmod.
    sh("modprobe", &["ipcon"])?;
    cli?;
    let mut fresh = peer()?;
    // A fresh module knows nothing of the old state.
    ok!(fresh.register_service(&svc));
    ok!(fresh.register_group(&grp, GroupFlags::empty()));
    // Closing the old peers now must not disturb the new module.
    drop((owner, member, watcher));
    ensure!(ok!(fresh.resolve(&svc)) == fresh.port(), "state lost");
    let mut buf = rxbuf();
    expect_nothing(&fresh, &mut buf)
}
