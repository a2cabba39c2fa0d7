// SPDX-License-Identifier: MIT OR Apache-2.0
//! Whole-system behaviour: the policy loaded at boot, network namespaces,
//! many peers, and unloading the module under live peers (last: it reloads
//! the module, which drops the policy).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cmd;
use crate::suite::{expect_nothing, peer, rxbuf, skip, uniq, TestResult};
use crate::{ensure, fails_with, ok, tests};
use ipcon::{Error, GroupFlags, JoinFlags};

tests!(
    netns_services_are_separate,
    netns_events_do_not_cross,
    many_peers_open_and_close,
    benchmark_program_runs,
    zero_allocation,
    module_unload_with_live_peers,
);

/// The tests that must run first, before any test changes the policy (see
/// `suite::all`).
pub fn boot_tests() -> Vec<crate::suite::Test> {
    vec![crate::suite::Test {
        name: "boot_policy_in_force",
        run: boot_policy_in_force,
    }]
}

/// The policy file meta-ipcon's ipcon-policy package installs and its boot
/// script loads; the test VM installs `qemu/guest/policy` there.
const BOOT_POLICY: &str = "/etc/ipcon/policy";
/// The name the test VM's boot policy reserves, and the only uid that may
/// own it.
const BOOT_NAME: &str = "ipcon.test.bootpolicy";
const BOOT_UID: u32 = 4242;

/// The rules of a policy text (a file, or `ipcon policy show`), one token
/// list per rule: comments, blank lines and spacing do not count.
fn policy_rules(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .filter(|r| !r.is_empty())
        .collect()
}

/// Run the ipcon tool as `uid` (same gid, no supplementary groups) to
/// completion; killed after [`cmd::LIMIT`].
fn ipcon_as(uid: u32, args: &[&str]) -> Result<cmd::Output, String> {
    let what = format!("ipcon {} (as uid {uid})", args.join(" "));
    let mut child = Command::new(cmd::bin("ipcon"))
        .args(args)
        .uid(uid)
        .gid(uid)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {what}: {e}"))?;
    let deadline = Instant::now() + cmd::LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what} still running after {:?}", cmd::LIMIT));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    };
    // The output is a few lines: it waited in the pipes.
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_end(&mut stdout);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    Ok(cmd::Output {
        status,
        stdout,
        stderr,
    })
}

/// Test that the policy loaded at boot (by meta-ipcon's init script, run by
/// the guest init right after the module) is in force: the tool reads it
/// back, its one rule reserves a name for uid 4242, and names it does not
/// mention get the default (allow). On a device whose /etc/ipcon/policy is
/// not the test VM's, the test skips.
fn boot_policy_in_force() -> TestResult {
    let file = match std::fs::read_to_string(BOOT_POLICY) {
        Ok(f) => f,
        Err(e) => return skip(&format!("no boot policy here ({BOOT_POLICY}: {e})")),
    };
    let rule: Vec<String> = ["own", BOOT_NAME, "uid", &BOOT_UID.to_string()]
        .iter()
        .map(|t| t.to_string())
        .collect();
    if !policy_rules(&file).contains(&rule) {
        return skip(&format!(
            "{BOOT_POLICY} is not the test VM's policy (no rule '{}')",
            rule.join(" ")
        ));
    }

    // The policy in force is the file's.
    let shown = ok!(cmd::run("ipcon", &["policy", "show"]));
    ensure!(shown.code() == 0, "ipcon policy show: {}", shown.show());
    ensure!(
        policy_rules(&shown.out()) == policy_rules(&file),
        "the policy in force is not {BOOT_POLICY} (did a test before this one \
         replace the policy and not restore it?)\nin force:\n{}\n{BOOT_POLICY}:\n{file}",
        shown.out()
    );

    // The name is denied to everyone else, root included, as a service
    // and as a group...
    let mut p = peer()?;
    fails_with!(p.register_service(BOOT_NAME), Error::Denied);
    fails_with!(
        p.register_group(BOOT_NAME, GroupFlags::empty()),
        Error::Denied
    );
    for args in [
        &["serve", BOOT_NAME, "--timeout", "1"][..],
        &["publish", BOOT_NAME, "x"][..],
    ] {
        let out = ipcon_as(1000, args)?;
        ensure!(
            out.code() == 1 && out.err().to_lowercase().contains("denied"),
            "ipcon {args:?} as uid 1000: {}",
            out.show()
        );
    }
    // ... while other names keep the default, allow ...
    let other = uniq("bootpolicy");
    let out = ipcon_as(1000, &["publish", &other, "x"])?;
    ensure!(
        out.code() == 0,
        "publish {other} as uid 1000: {}",
        out.show()
    );
    // ... and the uid the rule names owns it: serve registers the service,
    // then times out (status 4) as nothing is sent to it; publish
    // registers the group and publishes.
    let out = ipcon_as(BOOT_UID, &["serve", BOOT_NAME, "--timeout", "1"])?;
    ensure!(
        out.code() == 4 && out.err().contains(&format!("serving {BOOT_NAME}")),
        "serve as uid {BOOT_UID}: {}",
        out.show()
    );
    let out = ipcon_as(BOOT_UID, &["publish", BOOT_NAME, "x"])?;
    ensure!(out.code() == 0, "publish as uid {BOOT_UID}: {}", out.show());
    Ok(())
}

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

/// The zero-allocation proof: `ipcon-zero-alloc` (next to this program,
/// as the benchmark is) runs send, receive, publish, events and the std
/// `io::Error` conversions in a loop under a counting allocator, and fails
/// on any heap allocation.
fn zero_allocation() -> TestResult {
    let exe = ok!(std::env::current_exe());
    let prog = exe.with_file_name("ipcon-zero-alloc");
    let out = ok!(Command::new(&prog).output());
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "{prog:?}: {} {text} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        text.starts_with("zero-alloc: 500 iterations, ") && text.ends_with(", 0 allocations\n"),
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

/// The kernel's module autoloading turned off (an empty
/// /proc/sys/kernel/modprobe: request_module() then fails at once), and
/// the helper it called put back when dropped.
struct AutoloadOff(Option<String>);

const MODPROBE_SYSCTL: &str = "/proc/sys/kernel/modprobe";

impl AutoloadOff {
    fn new() -> Result<AutoloadOff, String> {
        let old = ok!(std::fs::read_to_string(MODPROBE_SYSCTL));
        let old = old.trim_end_matches('\n').to_owned();
        ok!(std::fs::write(MODPROBE_SYSCTL, "\n"));
        Ok(AutoloadOff(Some(old)))
    }

    /// Puts the helper back; returns its path.
    fn restore(mut self) -> Result<String, String> {
        let old = self.0.take().unwrap_or_default();
        ok!(std::fs::write(MODPROBE_SYSCTL, format!("{old}\n")));
        Ok(old)
    }
}

impl Drop for AutoloadOff {
    fn drop(&mut self) {
        if let Some(old) = self.0.take() {
            let _ = std::fs::write(MODPROBE_SYSCTL, format!("{old}\n"));
        }
    }
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
    // With the kernel's module autoloading off, nothing brings the module
    // back behind the test's back.
    let autoload = AutoloadOff::new()?;
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
    let modprobe = autoload.restore()?;

    // As on a device: the module is under /lib/modules/$(uname -r),
    // indexed by depmod, so the first peer opened loads it through its
    // family alias (net-pf-16-proto-16-family-IPCON) where the kernel has
    // a modprobe to call; `modprobe ipcon` otherwise.
    if std::path::Path::new(&modprobe).is_file() {
        let autoloaded = ipcon::Peer::open();
        ensure!(
            autoloaded.is_ok(),
            "the family alias did not load the module through {modprobe}: {:?}",
            autoloaded.err()
        );
    } else {
        sh("modprobe", &["ipcon"])?;
    }
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
