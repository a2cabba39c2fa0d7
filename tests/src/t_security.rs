// SPDX-License-Identifier: MIT OR Apache-2.0
//! The security model: a policy of who may own, send to and join what;
//! peer ids that are never reused; owners visible; credentials stamped from
//! the opener of the socket and pids translated between pid namespaces;
//! per-user limits. Children run as other users and report what the kernel
//! answered (see the `try`, `serve`, ... roles in `child.rs`).
//!
//! Every test that changes the policy or a module parameter puts back what
//! was in force before (the VM's boot policy, the default limits) when it
//! ends, failed or not (drop guards): the rest of the suite depends on them.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::child::{self, Proc, RETAIN_PAYLOAD};
use crate::param::Param;
use crate::raw::{attr, attr_len, cstr, errno::*, nest, policy_rule, Raw, NLA_F_NESTED};
use crate::suite::{
    expect_nothing, peer, recv_with, rxbuf, skip, uniq, wait_event, TestResult, QUIET, WAIT,
};
use crate::{ensure, fails_with, ok, tests};
use ipcon::policy::{self, Action, Policy, Rule, Who};
use ipcon::uapi::*;
use ipcon::{Error, EventKind, GroupFlags, JoinFlags, Message, Peer};

tests!(
    policy_own_service_rules,
    policy_own_group_rules,
    policy_send_rules,
    policy_join_rules,
    policy_send_by_port_or_id_checks_every_service,
    policy_needs_cap_net_admin_in_netns_owner,
    policy_raw_malformed_requests_refused,
    policy_raw_boundaries_accepted,
    policy_raw_requests_from_non_root_refused,
    policy_replaced_under_live_traffic,
    policy_set_revokes_existing_state,
    port_reuse_takeover_fails,
    confused_deputy_stamped_with_opener,
    pidns_sender_seen_with_outer_pid,
    pidns_receiver_sees_zero_for_outsider,
    ids_distinct_and_increasing,
    ids_agree_everywhere,
    owner_credentials_visible,
    limit_services,
    limit_groups,
    limit_memberships,
    limit_subscriptions,
    limit_retained_bytes,
    retained_charged_to_memcg,
);

// ---------------------------------------------------------------------------
// Helpers

/// A user the children run as: uid, primary gid, supplementary gids.
#[derive(Clone, Copy, Debug)]
struct User {
    uid: u32,
    gid: u32,
    groups: &'static [u32],
}

const U1000: User = User {
    uid: 1000,
    gid: 1000,
    groups: &[],
};
const U1001: User = User {
    uid: 1001,
    gid: 1001,
    groups: &[],
};

impl User {
    fn command(&self, args: &[&str]) -> Result<Command, String> {
        child::command_as(self.uid, self.gid, self.groups, args)
    }

    fn spawn(&self, args: &[&str]) -> Result<Proc, String> {
        Proc::spawn(self.command(args)?)
    }

    /// Run operations in one child (one peer): one outcome per operation,
    /// `ok` or the error's `Debug` (`Denied`, `NotPermitted`, ...).
    fn try_ops(&self, ops: &[(&str, &str)]) -> Result<Vec<String>, String> {
        try_cmd(self.command(&try_args(ops))?, ops.len())
    }
}

fn try_args<'a>(ops: &[(&'a str, &'a str)]) -> Vec<&'a str> {
    let mut v = vec!["try"];
    for (op, arg) in ops {
        v.push(op);
        v.push(arg);
    }
    v
}

fn try_cmd(cmd: Command, n: usize) -> Result<Vec<String>, String> {
    let out = Proc::spawn(cmd)?.finish()?;
    ensure!(
        out.len() == n,
        "{n} operations, {} outcomes: {out:?}",
        out.len()
    );
    Ok(out)
}

fn default(deny: bool) -> policy::Default {
    if deny {
        policy::Default::Deny
    } else {
        policy::Default::Allow
    }
}

fn rule(action: Action, pattern: &str, who: Who) -> Rule<'_> {
    Rule {
        action,
        pattern,
        who,
    }
}

/// The policy for the length of a test: the policy in force when it is
/// created (the boot policy of the VM, say) comes back when it is dropped,
/// whatever happened.
struct PolicyGuard {
    admin: Peer,
    buf: Vec<u8>,
    saved: Policy,
}

impl PolicyGuard {
    fn new() -> Result<Self, String> {
        let mut admin = peer()?;
        let mut buf = vec![0u8; policy::POLICY_BUFFER_SIZE];
        let saved = admin
            .policy(&mut buf)
            .map_err(|e| format!("reading the policy in force: {e:?}"))?;
        Ok(PolicyGuard { admin, buf, saved })
    }

    fn set(&mut self, deny: bool, rules: &[Rule<'_>]) -> TestResult {
        self.admin
            .set_policy(default(deny), rules, &mut self.buf)
            .map_err(|e| format!("set_policy: {e:?}"))
    }

    /// Parse and load a policy file.
    fn load_text(&mut self, text: &str) -> TestResult {
        let p = Policy::parse(text).map_err(|e| format!("parsing {text:?}: {e:?}"))?;
        self.admin
            .load_policy(&p)
            .map_err(|e| format!("load_policy: {e:?}"))
    }

    /// The policy in force, in the file format.
    fn current(&mut self) -> Result<String, String> {
        self.admin
            .policy(&mut self.buf)
            .map(|p| p.to_string())
            .map_err(|e| format!("reading the policy: {e:?}"))
    }
}

impl Drop for PolicyGuard {
    fn drop(&mut self) {
        if let Err(e) = self.admin.load_policy(&self.saved) {
            eprintln!("ipcon-vmtests: restoring the policy failed ({e:?}); clearing it");
            let _ = self.admin.clear_policy();
        }
    }
}

/// An event, owned.
#[derive(Debug)]
#[allow(dead_code)] // fields are read through Debug in failure messages
struct Ev {
    kind: EventKind,
    port: u32,
    id: u64,
    uid: u32,
    gid: u32,
    name: Option<String>,
}

/// Receive events on `w` until each of `want` (kind, name, port) has been
/// seen (others are skipped); return those, in `want`'s order.
fn events_until(
    w: &Peer,
    buf: &mut [u8],
    want: &[(EventKind, Option<&str>, u32)],
) -> Result<Vec<Ev>, String> {
    let mut found: Vec<Option<Ev>> = want.iter().map(|_| None).collect();
    let deadline = Instant::now() + WAIT;
    while found.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = match w.recv_timeout(buf, left) {
            Ok(Message::Event(ev)) => ev,
            Ok(_) => continue,
            Err(e) => return Err(format!("waiting for events {want:?}: {e:?}")),
        };
        for (i, (kind, name, port)) in want.iter().enumerate() {
            if ev.kind == *kind && ev.name == *name && ev.port == *port && found[i].is_none() {
                found[i] = Some(Ev {
                    kind: ev.kind,
                    port: ev.port,
                    id: ev.id,
                    uid: ev.uid,
                    gid: ev.gid,
                    name: ev.name.map(str::to_string),
                });
            }
        }
    }
    Ok(found.into_iter().flatten().collect())
}

/// Unicasts received until `QUIET` passes: (service addressed, sender uid).
fn drain_unicasts(p: &Peer, buf: &mut [u8]) -> Result<Vec<(String, u32)>, String> {
    let mut out = Vec::new();
    loop {
        match p.recv_timeout(buf, QUIET) {
            Ok(Message::Unicast(u)) => {
                out.push((u.service.unwrap_or("-").to_string(), u.sender.uid))
            }
            Ok(other) => return Err(format!("unexpected {other:?}")),
            Err(ipcon::RecvError::TimedOut) => return Ok(out),
            Err(e) => return Err(format!("draining: {e:?}")),
        }
    }
}

/// The next message must be a group message of `group` with `len` bytes.
fn expect_group(p: &Peer, buf: &mut [u8], group: &str, len: usize) -> TestResult {
    recv_with(p, buf, |m| match m {
        Message::Group(g) if g.group == group && g.data.len() == len => Ok(()),
        other => Err(format!("expected {len} bytes from {group}, got {other:?}")),
    })
}

// ---------------------------------------------------------------------------
// Policy: each action, allowed and denied, by uid and gid, exact and prefix

/// The users of the rule matrix.
const MATRIX_USERS: [User; 5] = [
    U1000,
    U1001,
    User {
        uid: 1002,
        gid: 2001,
        groups: &[],
    },
    User {
        uid: 1003,
        gid: 2000,
        groups: &[],
    },
    // gid 2001 only as a supplementary group.
    User {
        uid: 1004,
        gid: 1004,
        groups: &[2001],
    },
];

/// Name suffixes under a test's prefix and, for each of `MATRIX_USERS`,
/// whether the rules of `matrix_rules` allow it (`+`), deny it (`-`) or
/// leave it to the default (`d`).
const MATRIX: [(&str, &str); 7] = [
    // Exact pattern, uid 1000.
    ("exact", "+----"),
    // Exact pattern, gid 2001 (primary for 1002, supplementary for 1004).
    ("bygid", "--+-+"),
    // Prefix "pre.*", uid 1001.
    ("pre.x", "-+---"),
    // The exact pattern beats the prefix: uid 1002 only, not 1001.
    ("pre.special", "--+--"),
    // The longer prefix "pre.long.*" beats "pre.*": gid 2000, not uid 1001.
    ("pre.long.x", "---+-"),
    // Anyone.
    ("any", "+++++"),
    // No pattern matches: the default decides.
    ("none", "ddddd"),
];

/// The rules' patterns under `prefix`, in `matrix_rules` order.
fn matrix_patterns(prefix: &str) -> Vec<String> {
    [
        "exact",
        "bygid",
        "pre.*",
        "pre.special",
        "pre.long.*",
        "any",
    ]
    .iter()
    .map(|s| format!("{prefix}.{s}"))
    .collect()
}

fn matrix_rules(act: fn() -> Action, pats: &[String]) -> Vec<Rule<'_>> {
    let whos = [
        Who::Uid(1000),
        Who::Gid(2001),
        Who::Uid(1001),
        Who::Uid(1002),
        Who::Gid(2000),
        Who::Anyone,
    ];
    pats.iter()
        .zip(whos)
        .map(|(p, who)| rule(act(), p, who))
        .collect()
}

/// Every user of `MATRIX_USERS` under default deny; two under default
/// allow (enough to show that rules still decide the names they match).
const MATRIX_RUNS: [(bool, &[usize]); 2] = [(true, &[0, 1, 2, 3, 4]), (false, &[0, 1])];

/// As each of `users` (indexes into `MATRIX_USERS`), run `op` on every
/// `MATRIX` name and compare with the table; every mismatch is reported.
/// Returns the (name, uid) pairs that were allowed.
fn check_matrix(
    op: &str,
    prefix: &str,
    deny: bool,
    users: &[usize],
) -> Result<Vec<(String, u32)>, String> {
    let names: Vec<String> = MATRIX
        .iter()
        .map(|(s, _)| format!("{prefix}.{s}"))
        .collect();
    let ops: Vec<(&str, &str)> = names.iter().map(|n| (op, n.as_str())).collect();
    let (mut allowed, mut wrong) = (Vec::new(), Vec::new());
    for &u in users {
        let user = MATRIX_USERS[u];
        let got = user.try_ops(&ops)?;
        for ((name, (_, table)), got) in names.iter().zip(MATRIX).zip(got) {
            let allow = match table.as_bytes()[u] {
                b'+' => true,
                b'-' => false,
                _ => !deny,
            };
            let want = if allow { "ok" } else { "Denied" };
            if got != want {
                wrong.push(format!("{user:?} {op} {name}: {got}, expected {want}"));
            }
            if got == "ok" {
                allowed.push((name.clone(), user.uid));
            }
        }
    }
    let d = if deny { "deny" } else { "allow" };
    ensure!(wrong.is_empty(), "default {d}: {}", wrong.join("; "));
    Ok(allowed)
}

fn policy_own_service_rules() -> TestResult {
    own_matrix("own-service")
}

fn policy_own_group_rules() -> TestResult {
    own_matrix("own-group")
}

fn own_matrix(op: &str) -> TestResult {
    let prefix = uniq("own");
    let pats = matrix_patterns(&prefix);
    let mut g = PolicyGuard::new()?;
    for (deny, users) in MATRIX_RUNS {
        g.set(deny, &matrix_rules(|| Action::Own, &pats))?;
        check_matrix(op, &prefix, deny, users)?;
    }
    Ok(())
}

fn policy_send_rules() -> TestResult {
    let prefix = uniq("send");
    let pats = matrix_patterns(&prefix);
    let own_all = format!("{prefix}.*");
    let mut g = PolicyGuard::new()?;
    let mut owner = peer()?;
    let mut buf = rxbuf();
    for (i, (deny, users)) in MATRIX_RUNS.into_iter().enumerate() {
        let mut rules = matrix_rules(|| Action::Send, &pats);
        // Root owns the services under either default.
        rules.push(rule(Action::Own, &own_all, Who::Uid(0)));
        g.set(deny, &rules)?;
        if i == 0 {
            for (s, _) in MATRIX {
                ok!(owner.register_service(&format!("{prefix}.{s}")));
            }
        }
        let mut want = check_matrix("send", &prefix, deny, users)?;
        // Exactly the allowed sends were delivered.
        let mut got = drain_unicasts(&owner, &mut buf)?;
        want.sort();
        got.sort();
        ensure!(got == want, "delivered {got:?}, allowed {want:?}");
    }
    Ok(())
}

fn policy_join_rules() -> TestResult {
    let prefix = uniq("join");
    let pats = matrix_patterns(&prefix);
    let own_all = format!("{prefix}.*");
    let mut g = PolicyGuard::new()?;
    let mut owner = peer()?;
    for (i, (deny, users)) in MATRIX_RUNS.into_iter().enumerate() {
        let mut rules = matrix_rules(|| Action::Join, &pats);
        rules.push(rule(Action::Own, &own_all, Who::Uid(0)));
        g.set(deny, &rules)?;
        if i == 0 {
            for (s, _) in MATRIX {
                ok!(owner.register_group(&format!("{prefix}.{s}"), GroupFlags::empty()));
            }
        }
        check_matrix("join", &prefix, deny, users)?;
    }
    Ok(())
}

fn policy_send_by_port_or_id_checks_every_service() -> TestResult {
    let p = uniq("byport");
    let (a, b, c) = (format!("{p}.a"), format!("{p}.b"), format!("{p}.c"));
    let own_all = format!("{p}.*");
    let mut g = PolicyGuard::new()?;
    g.set(
        true,
        &[
            rule(Action::Own, &own_all, Who::Uid(0)),
            rule(Action::Send, &a, Who::Anyone),
            rule(Action::Send, &b, Who::Uid(1001)),
            rule(Action::Send, &c, Who::Anyone),
        ],
    )?;
    // `two` owns a (anyone may send) and b (uid 1001 only).
    let mut two = peer()?;
    ok!(two.register_service(&a));
    ok!(two.register_service(&b));
    let mut one = peer()?;
    ok!(one.register_service(&c));
    // A client waiting for replies owns nothing: always reachable, even
    // under default deny.
    let none = peer()?;
    let (two_port, two_id) = (two.port().to_string(), two.id().to_string());
    let (one_port, none_port) = (one.port().to_string(), none.port().to_string());
    let none_id = none.id().to_string();
    let got = U1000.try_ops(&[
        ("send", &a),
        ("send", &b),
        // By port or id, `two` is a and b: b refuses uid 1000.
        ("send-port", &two_port),
        ("send-id", &two_id),
        // Resolving first does not help.
        ("send-resolved", &a),
        ("send-resolved", &b),
        ("send-owner-id", &b),
        ("send-port", &one_port),
        ("send-port", &none_port),
        ("send-id", &none_id),
    ])?;
    let want = [
        "ok", "Denied", "Denied", "Denied", "Denied", "Denied", "Denied", "ok", "ok", "ok",
    ];
    ensure!(got == want, "uid 1000: {got:?}, expected {want:?}");
    let got = U1001.try_ops(&[("send-port", &two_port), ("send-id", &two_id)])?;
    ensure!(got == ["ok", "ok"], "uid 1001 (allowed by both): {got:?}");
    let mut buf = rxbuf();
    let d = drain_unicasts(&two, &mut buf)?;
    ensure!(
        d.len() == 3,
        "{} delivered to the two-service peer: {d:?}",
        d.len()
    );
    let d = drain_unicasts(&one, &mut buf)?;
    ensure!(
        d.len() == 1,
        "{} delivered to the one-service peer",
        d.len()
    );
    let d = drain_unicasts(&none, &mut buf)?;
    ensure!(d.len() == 2, "{} delivered to the client", d.len());
    Ok(())
}

// ---------------------------------------------------------------------------
// Policy: who may load it, and malformed requests

fn policy_needs_cap_net_admin_in_netns_owner() -> TestResult {
    let p = uniq("cap");
    let mut g = PolicyGuard::new()?;
    g.load_text(&format!("default allow\nown {p}.probe uid 4242\n"))?;
    let before = g.current()?;
    let ops = [("set-policy", "-"), ("get-policy", "-")];
    let refused = ["NotPermitted", "NotPermitted"];
    let got = U1000.try_ops(&ops)?;
    ensure!(got == refused, "uid 1000: {got:?}");
    // Root of a new user namespace has CAP_NET_ADMIN there, not in the
    // user namespace that owns this network namespace.
    let got = try_cmd(child::command_unshared(&["-U", "-r"], &try_args(&ops))?, 2)?;
    ensure!(got == refused, "root of a new user namespace: {got:?}");
    // The same, with a network namespace of its own (owned by its user
    // namespace): it may, and that policy stays in its namespace.
    let got = try_cmd(child::command_unshared(&["-r", "-n"], &try_args(&ops))?, 2)?;
    ensure!(
        got == ["ok", "ok"],
        "root of a new user and network namespace: {got:?}"
    );
    let after = g.current()?;
    ensure!(
        after == before,
        "policy changed to {after:?}, was {before:?}"
    );
    Ok(())
}

/// A value the netlink policy checks (range, length) may be refused with
/// ERANGE by the generic validation, as elsewhere in the suite.
const INVAL: &[i32] = &[EINVAL];
const RANGE: &[i32] = &[EINVAL, ERANGE];

/// A name of exactly `n` bytes under `prefix`.
fn name_of_len(prefix: &str, n: usize) -> String {
    format!("{prefix}.{}", "x".repeat(n - prefix.len() - 1))
}

/// An `own PATTERN anyone` rule, the pattern sent as given.
fn own_rule(pattern: &[u8]) -> Vec<u8> {
    policy_rule(Some(IPCON_ACT_OWN), Some(pattern), None, None)
}

/// A rule nest around hand-made inner attributes.
fn rule_nest(inner: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    nest(&mut v, IPCON_A_RULE, inner);
    v
}

/// Rules whose nesting lies, each with its description.
fn lying_rules(name: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut flat = Vec::new();
    attr(&mut flat, IPCON_A_RULE, &IPCON_ACT_OWN.to_ne_bytes());
    let good = own_rule(name);
    let inner = &good[4..];
    let mut over = Vec::new();
    let claimed = (4 + inner.len() + 64) as u16;
    attr_len(&mut over, IPCON_A_RULE | NLA_F_NESTED, inner, claimed);
    let mut long = Vec::new();
    attr_len(
        &mut long,
        IPCON_RULE_A_ACTION,
        &IPCON_ACT_OWN.to_ne_bytes(),
        40,
    );
    attr(&mut long, IPCON_RULE_A_PATTERN, name);
    let mut short = Vec::new();
    attr_len(&mut short, IPCON_RULE_A_ACTION, &[], 2);
    attr(&mut short, IPCON_RULE_A_PATTERN, name);
    vec![
        ("rule not nested", flat),
        ("empty rule", rule_nest(&[])),
        ("rule longer than the message", over),
        ("attribute longer than its rule", rule_nest(&long)),
        ("attribute shorter than its header", rule_nest(&short)),
    ]
}

/// Malformed POLICY_SET requests and the errnos each may get.
fn malformed_policies(r: &mut Raw, p: &str) -> Vec<(String, Vec<u8>, &'static [i32])> {
    let allow = IPCON_POLICY_ALLOW.to_ne_bytes();
    let name = cstr(&format!("{p}.x"));
    let good = own_rule(&name);
    let mut cases = Vec::new();
    let mut case = |what: &str, default: Option<&[u8]>, rules: Vec<Vec<u8>>, want| {
        cases.push((what.to_string(), r.policy_set(default, &rules), want))
    };
    case("no default", None, vec![good.clone()], INVAL);
    case("default 2", Some(&2u32.to_ne_bytes()), vec![], RANGE);
    case("default of 2 bytes", Some(&[0, 0]), vec![], RANGE);
    for action in [0, IPCON_ACT_MAX + 1] {
        let rr = policy_rule(Some(action), Some(&name), None, None);
        case(&format!("action {action}"), Some(&allow), vec![rr], RANGE);
    }
    let rr = policy_rule(None, Some(&name), None, None);
    case("no action", Some(&allow), vec![rr], INVAL);
    let rr = policy_rule(Some(IPCON_ACT_OWN), None, None, None);
    case("no pattern", Some(&allow), vec![rr], INVAL);
    for (what, pat, want) in [
        ("empty pattern", cstr(""), INVAL),
        ("star inside", cstr("a*b"), INVAL),
        ("two stars", cstr("**"), INVAL),
        ("star first", cstr("*a"), INVAL),
        ("space", cstr("a b"), INVAL),
        ("slash", cstr("a/b"), INVAL),
        ("NUL inside", b"ab\0cd\0".to_vec(), INVAL),
        ("unterminated", b"abcd".to_vec(), INVAL),
        ("64-byte name", cstr(&name_of_len(p, 64)), RANGE),
        (
            "63 bytes and a star",
            cstr(&format!("{}*", name_of_len(p, 63))),
            RANGE,
        ),
    ] {
        case(what, Some(&allow), vec![own_rule(&pat)], want);
    }
    let rr = policy_rule(Some(IPCON_ACT_OWN), Some(&name), Some(1000), Some(1000));
    case("uid and gid", Some(&allow), vec![rr], INVAL);
    let rr = policy_rule(Some(IPCON_ACT_OWN), Some(&name), Some(u32::MAX), None);
    case("uid -1", Some(&allow), vec![rr], INVAL);
    let rr = policy_rule(Some(IPCON_ACT_OWN), Some(&name), None, Some(u32::MAX));
    case("gid -1", Some(&allow), vec![rr], INVAL);
    for (what, rr) in lying_rules(&name) {
        case(what, Some(&allow), vec![rr], INVAL);
    }
    // One bad rule after a good one: nothing may be applied.
    let rules = vec![good, own_rule(&cstr("a*b"))];
    case("good rule then bad", Some(&allow), rules, INVAL);
    case("513 rules", Some(&allow), many_rules(p, 513), &[E2BIG]);
    cases
}

/// `n` valid rules.
fn many_rules(p: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| own_rule(&cstr(&format!("{p}.r{i}"))))
        .collect()
}

fn policy_raw_malformed_requests_refused() -> TestResult {
    let p = uniq("raw");
    let mut g = PolicyGuard::new()?;
    g.load_text(&format!("default allow\nown {p}.base uid 4242\n"))?;
    let base = g.current()?;
    let mut r = ok!(Raw::open());
    let mut wrong = Vec::new();
    for (what, msg, want) in malformed_policies(&mut r, &p) {
        let got = r.request(&msg)?;
        if !want.contains(&got) {
            wrong.push(format!("{what}: errno {got}, expected {want:?}"));
        }
    }
    ensure!(wrong.is_empty(), "{}", wrong.join("; "));
    // Nothing refused was applied, not even in part.
    let now = g.current()?;
    ensure!(
        now == base,
        "policy after refused requests: {now:?}, was {base:?}"
    );
    Ok(())
}

fn policy_raw_boundaries_accepted() -> TestResult {
    let p = uniq("rawok");
    let mut g = PolicyGuard::new()?;
    let mut r = ok!(Raw::open());
    let name = cstr(&format!("{p}.x"));
    let valid = vec![
        own_rule(&cstr("*")),
        own_rule(&cstr(&name_of_len(&p, 63))),
        own_rule(&cstr(&format!("{}*", name_of_len(&p, 62)))),
        policy_rule(Some(IPCON_ACT_SEND), Some(&name), Some(1000), None),
        policy_rule(Some(IPCON_ACT_JOIN), Some(&name), None, Some(2000)),
    ];
    let m = r.policy_set(Some(&IPCON_POLICY_ALLOW.to_ne_bytes()), &valid);
    ensure!(ok!(r.request(&m)) == 0, "valid boundary rules refused");
    let n = ok!(g.admin.policy(&mut g.buf)).rules().count();
    ensure!(
        n == valid.len(),
        "{n} rules in force, loaded {}",
        valid.len()
    );
    let rules = many_rules(&p, IPCON_POLICY_RULES_MAX);
    let m = r.policy_set(Some(&IPCON_POLICY_ALLOW.to_ne_bytes()), &rules);
    ensure!(ok!(r.request(&m)) == 0, "512 rules refused");
    let n = ok!(g.admin.policy(&mut g.buf)).rules().count();
    ensure!(
        n == IPCON_POLICY_RULES_MAX,
        "{n} rules in force, loaded 512"
    );
    Ok(())
}

fn policy_raw_requests_from_non_root_refused() -> TestResult {
    let _g = PolicyGuard::new()?;
    let out = U1000.spawn(&["raw-policy"])?.finish()?;
    let want = format!("set {EPERM} get {EPERM}");
    ensure!(out == [want.clone()], "uid 1000: {out:?}, expected {want}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Policy: replacement under traffic, and what it does to existing state

/// Counts the unicasts a peer receives, on a thread, until dropped.
struct Counter {
    n: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl Counter {
    fn start(p: Peer) -> Counter {
        let n = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (n2, stop2) = (n.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = rxbuf();
            while !stop2.load(Ordering::Relaxed) {
                match p.recv_timeout(&mut buf, QUIET) {
                    Ok(Message::Unicast(_)) => {
                        n2.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(other) => return Err(format!("receiver got {other:?}")),
                    Err(ipcon::RecvError::TimedOut) => {}
                    Err(e) => return Err(format!("receiver: {e:?}")),
                }
            }
            Ok(())
        });
        Counter {
            n,
            stop,
            thread: Some(thread),
        }
    }

    /// How many arrived so far.
    fn now(&self) -> usize {
        self.n.load(Ordering::Relaxed)
    }

    /// Wait until more than `seen` messages arrived; return the count.
    fn above(&mut self, seen: usize) -> Result<usize, String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let n = self.now();
            if n > seen {
                return Ok(n);
            }
            if self.thread.as_ref().is_some_and(JoinHandle::is_finished) {
                let t = self.thread.take().ok_or("no receiver")?;
                t.join().map_err(|_| "receiver panicked")??;
            }
            ensure!(Instant::now() < deadline, "no message after {seen}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn policy_replaced_under_live_traffic() -> TestResult {
    let name = uniq("live");
    let mut g = PolicyGuard::new()?;
    let mut rx = peer()?;
    ok!(rx.register_service(&name));
    let mut count = Counter::start(rx);
    let allowed_by_rule = [
        rule(Action::Own, &name, Who::Uid(0)),
        rule(Action::Send, &name, Who::Uid(1000)),
    ];
    let deny = [
        rule(Action::Own, &name, Who::Uid(0)),
        rule(Action::Send, &name, Who::Uid(1001)),
    ];
    // The sender prints each change of outcome: "ok", "Denied", or an
    // error line for anything else.
    let sender = U1000.spawn(&["sender-loop", &name])?;
    sender.expect("ok")?;
    let mut seen = count.above(0)?;
    // Replace the policy again and again, default deny with a rule for
    // uid 1000 and default allow, while traffic flows: no send may fail.
    for i in 0..10 {
        if i % 2 == 0 {
            g.set(true, &allowed_by_rule)?;
        } else {
            g.set(false, &[])?;
        }
        seen = count.above(seen)?;
    }
    sender.silent_so_far()?;
    // Now deny it: the very next outcome is Denied, and it stays so.
    g.set(true, &deny)?;
    sender.expect("Denied")?;
    sender.quiet()?;
    g.set(false, &[])?;
    sender.expect("ok")?;
    count.above(count.now())?;
    sender.silent_so_far()
}

fn policy_set_revokes_existing_state() -> TestResult {
    let (svc, grp, jg) = (uniq("rvs"), uniq("rvg"), uniq("rvj"));
    let mut g = PolicyGuard::new()?;
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut owner = peer()?;
    ok!(owner.register_group(&jg, GroupFlags::empty()));
    // A root member, whom the new policy still allows.
    let mut member = peer()?;
    ok!(member.join(&jg, JoinFlags::empty()));
    let mut buf = rxbuf();
    let child = U1000.spawn(&["serve", "own-service", &svc, "own-group", &grp, "join", &jg])?;
    let (port, _) = child.ready()?;
    ok!(owner.publish(&jg, b"before"));
    child.expect(&format!("grp {jg} before"))?;
    expect_group(&member, &mut buf, &jg, 6)?;

    g.set(
        false,
        &[
            rule(Action::Own, &svc, Who::Uid(0)),
            rule(Action::Own, &grp, Who::Uid(0)),
            rule(Action::Join, &jg, Who::Uid(0)),
        ],
    )?;
    events_until(
        &w,
        &mut buf,
        &[
            (EventKind::ServiceRemoved, Some(&svc), port),
            (EventKind::GroupRemoved, Some(&grp), port),
        ],
    )?;
    fails_with!(owner.resolve(&svc), Error::NoSuchService);
    let mut dump = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let (mut grp_listed, mut members) = (false, None);
    ok!(owner.groups(&mut dump, |gi| {
        grp_listed |= gi.name == grp;
        if gi.name == jg {
            members = Some(gi.members);
        }
    }));
    ensure!(!grp_listed, "the revoked group is still listed");
    ensure!(
        members == Some(1),
        "{jg} has {members:?} members, expected 1 (root)"
    );
    // The revoked member receives nothing more; the allowed one does.
    ok!(owner.publish(&jg, b"after"));
    expect_group(&member, &mut buf, &jg, 5)?;
    child.quiet()?;
    // Only what the policy denies went: the peer itself lives on.
    ok!(owner.send_to_port(port, b"alive"));
    child.expect("uni alive")?;
    let got = U1000.try_ops(&[("own-service", &svc), ("join", &jg)])?;
    ensure!(got == ["Denied", "Denied"], "uid 1000 again: {got:?}");
    Ok(())
}

// ---------------------------------------------------------------------------
// Ids and the port-reuse takeover

fn port_reuse_takeover_fails() -> TestResult {
    let x = uniq("takeover");
    let mut g = PolicyGuard::new()?;
    g.set(false, &[rule(Action::Own, &x, Who::Uid(1000))])?;
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut svc = U1000.spawn(&["serve", "own-service", &x])?;
    let (port, id) = svc.ready()?;
    let owner = ok!(w.resolve_owner(&x));
    ensure!(
        owner.port == port && owner.id == id && owner.uid == 1000,
        "owner {owner:?}, service said port {port} id {id}"
    );
    svc.kill()?;
    let mut buf = rxbuf();
    wait_event(&w, &mut buf, "the service's peer-gone", |ev| {
        ev.kind == EventKind::PeerGone && ev.port == port
    })?;

    // uid 1001 binds the freed port, as a single-socket peer.
    let rx = peer()?;
    let rx_port = rx.port().to_string();
    let mut attacker = U1001.spawn(&["takeover", &port.to_string(), &x, &rx_port])?;
    attacker.expect(&format!("reg {EACCES}"))?;
    attacker.expect("send 0")?;
    attacker.expect("ready")?;
    // Same port, different id: a receiver can tell.
    recv_with(&rx, &mut buf, |m| match m {
        Message::Unicast(u) if u.data == b"attacker" => {
            ensure!(
                u.sender.port == port,
                "attacker on port {}, not {port}",
                u.sender.port
            );
            ensure!(u.sender.id != id, "the attacker has the old id {id}");
            ensure!(u.sender.uid == 1001, "uid {}", u.sender.uid);
            ensure!(u.sender.service.is_none(), "stamped {:?}", u.sender.service);
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })?;
    // A client that kept the old id is refused, not routed to the newcomer.
    let mut client = peer()?;
    fails_with!(
        client.send_to_id(id, b"for the old service"),
        Error::PeerGone
    );
    fails_with!(client.send_to_service(&x, b"by name"), Error::NoSuchService);
    fails_with!(client.resolve(&x), Error::NoSuchService);
    attacker.tell("check")?;
    attacker.expect("nothing")
}

fn ids_distinct_and_increasing() -> TestResult {
    let peers = (0..5).map(|_| peer()).collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<u64> = peers.iter().map(Peer::id).collect();
    ensure!(ids[0] != 0, "id 0");
    ensure!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "ids not increasing in creation order: {ids:?}"
    );
    let last = ids[4];
    drop(peers);
    // Ports are reused at once; ids never.
    let again = (0..5).map(|_| peer()).collect::<Result<Vec<_>, _>>()?;
    for p in &again {
        ensure!(
            p.id() > last,
            "a new peer has id {}, not above {last}",
            p.id()
        );
    }
    Ok(())
}

fn ids_agree_everywhere() -> TestResult {
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let (mut a, mut b) = (peer()?, peer()?);
    let (aid, aport) = (a.id(), a.port());
    let (s, grp) = (uniq("idsvc"), uniq("idgrp"));
    ok!(a.register_service(&s));
    ok!(a.register_group(&grp, GroupFlags::empty()));
    let mut buf = rxbuf();
    let added = events_until(
        &w,
        &mut buf,
        &[
            (EventKind::ServiceAdded, Some(&s), aport),
            (EventKind::GroupAdded, Some(&grp), aport),
        ],
    )?;
    for ev in &added {
        ensure!(
            ev.id == aid && ev.uid == 0 && ev.gid == 0,
            "{ev:?}, id {aid}"
        );
    }
    let o = ok!(b.resolve_owner(&s));
    ensure!(
        o.id == aid && o.port == aport && o.uid == 0 && o.gid == 0,
        "{o:?}"
    );
    let mut dump = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut listed = None;
    ok!(b.services(&mut dump, |si| if si.name == s {
        listed = Some((si.port, si.id, si.uid, si.gid))
    }));
    ensure!(
        listed == Some((aport, aid, 0, 0)),
        "service list: {listed:?}"
    );
    let mut glisted = None;
    ok!(b.groups(&mut dump, |gi| if gi.name == grp {
        glisted = Some((gi.owner, gi.owner_id, gi.owner_uid, gi.owner_gid))
    }));
    ensure!(
        glisted == Some((aport, aid, 0, 0)),
        "group list: {glisted:?}"
    );

    ok!(a.send_to_port(b.port(), b"by port"));
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) if u.sender.id == aid => Ok(()),
        other => Err(format!("expected sender id {aid}: {other:?}")),
    })?;
    ok!(b.join(&grp, JoinFlags::empty()));
    ok!(a.publish(&grp, b"pub"));
    recv_with(&b, &mut buf, |m| match m {
        Message::Group(g) if g.sender.id == aid => Ok(()),
        other => Err(format!("expected sender id {aid}: {other:?}")),
    })?;
    ok!(b.send_to_id(aid, b"by id"));
    let bid = b.id();
    recv_with(&a, &mut buf, |m| match m {
        Message::Unicast(u) if u.data == b"by id" && u.sender.id == bid => Ok(()),
        other => Err(format!("expected 'by id' from id {bid}: {other:?}")),
    })?;
    drop(a);
    let gone = events_until(&w, &mut buf, &[(EventKind::PeerGone, None, aport)])?;
    ensure!(gone[0].id == aid, "{:?}, id {aid}", gone[0]);
    fails_with!(b.send_to_id(aid, b"late"), Error::PeerGone);
    Ok(())
}

fn owner_credentials_visible() -> TestResult {
    let user = User {
        uid: 1000,
        gid: 1001,
        groups: &[],
    };
    let (s, grp) = (uniq("credsvc"), uniq("credgrp"));
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut child = user.spawn(&["serve", "own-service", &s, "own-group", &grp])?;
    let (port, id) = child.ready()?;
    let mut buf = rxbuf();
    let check = |evs: &[Ev]| -> TestResult {
        for ev in evs {
            ensure!(
                ev.id == id && ev.uid == 1000 && ev.gid == 1001,
                "{ev:?}, owner id {id} uid 1000 gid 1001"
            );
        }
        Ok(())
    };
    check(&events_until(
        &w,
        &mut buf,
        &[
            (EventKind::ServiceAdded, Some(&s), port),
            (EventKind::GroupAdded, Some(&grp), port),
        ],
    )?)?;
    let o = ok!(w.resolve_owner(&s));
    ensure!(
        (o.port, o.id, o.uid, o.gid) == (port, id, 1000, 1001),
        "resolve_owner: {o:?}"
    );
    let mut dump = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut listed = None;
    ok!(w.services(&mut dump, |si| if si.name == s {
        listed = Some((si.port, si.id, si.uid, si.gid))
    }));
    ensure!(
        listed == Some((port, id, 1000, 1001)),
        "service list: {listed:?}"
    );
    let mut glisted = None;
    ok!(w.groups(&mut dump, |gi| if gi.name == grp {
        glisted = Some((gi.owner, gi.owner_id, gi.owner_uid, gi.owner_gid))
    }));
    ensure!(
        glisted == Some((port, id, 1000, 1001)),
        "group list: {glisted:?}"
    );
    child.kill()?;
    check(&events_until(
        &w,
        &mut buf,
        &[
            (EventKind::ServiceRemoved, Some(&s), port),
            (EventKind::GroupRemoved, Some(&grp), port),
            (EventKind::PeerGone, None, port),
        ],
    )?)
}

// ---------------------------------------------------------------------------
// Honest credentials

fn confused_deputy_stamped_with_opener() -> TestResult {
    let rx = peer()?;
    // Starts as root; see the `deputy` role.
    let mut deputy = Proc::spawn(child::command(&["deputy", &rx.port().to_string()])?)?;
    let pid = deputy.pid();
    let out = deputy.finish()?;
    ensure!(out == ["sent"], "deputy said {out:?}");
    let mut buf = rxbuf();
    // Opened as 1000, written by root: speaks as 1000 (it was 0 before),
    // also when root's write is the socket's first request.
    // Opened as root, written by 1000: speaks as root.
    for (data, id) in [
        (&b"opened-by-1000"[..], 1000),
        (b"handed-by-1000", 1000),
        (b"opened-by-root", 0),
    ] {
        recv_with(&rx, &mut buf, |m| match m {
            Message::Unicast(u) if u.data == data => {
                ensure!(
                    u.sender.uid == id && u.sender.gid == id,
                    "{}: stamped uid {} gid {}, expected {id}",
                    String::from_utf8_lossy(data),
                    u.sender.uid,
                    u.sender.gid
                );
                ensure!(u.sender.pid == pid, "pid {}, deputy {pid}", u.sender.pid);
                Ok(())
            }
            other => Err(format!("got {other:?}")),
        })?;
    }
    Ok(())
}

fn pidns_sender_seen_with_outer_pid() -> TestResult {
    let rx = peer()?;
    let port = rx.port().to_string();
    let cmd = child::command_unshared(&["-p", "-f"], &["pidns-send", &port])?;
    let out = Proc::spawn(cmd)?.finish()?;
    ensure!(out.is_empty(), "sender said {out:?}");
    let mut buf = rxbuf();
    recv_with(&rx, &mut buf, |m| match m {
        Message::Unicast(u) => {
            // "pid 1 nspid OUTER,1"
            let text = String::from_utf8_lossy(u.data).to_string();
            let w: Vec<&str> = text.split_whitespace().collect();
            ensure!(w.len() == 4 && w[0] == "pid", "payload {text:?}");
            ensure!(
                w[1] == "1",
                "the sender is not pid 1 of a new namespace: {text}"
            );
            let pids: Vec<&str> = w[3].split(',').collect();
            ensure!(pids.len() == 2, "NSpid {}", w[3]);
            let outer: u32 = pids[0].parse().map_err(|_| format!("NSpid {}", w[3]))?;
            ensure!(
                u.sender.pid == outer,
                "stamped pid {}; the sender is {outer} here, 1 in its namespace",
                u.sender.pid
            );
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })
}

fn pidns_receiver_sees_zero_for_outsider() -> TestResult {
    let me = std::process::id();
    // Control: in our namespace the receiver sees our pid.
    let runs: [(Command, u32); 2] = [
        (child::command(&["recv-one"])?, me),
        (child::command_unshared(&["-p", "-f"], &["recv-one"])?, 0),
    ];
    for (cmd, want) in runs {
        let mut c = Proc::spawn(cmd)?;
        let (port, _) = c.ready()?;
        let mut a = peer()?;
        ok!(a.send_to_port(port, b"hello"));
        let out = c.finish()?;
        let want = format!("pid {want} uid 0");
        ensure!(
            out == [want.clone()],
            "receiver said {out:?}, expected {want}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Per-user limits

fn limit_services() -> TestResult {
    limit_test("services", "max_services", 4)
}

fn limit_groups() -> TestResult {
    limit_test("groups", "max_groups", 4)
}

fn limit_memberships() -> TestResult {
    limit_test("memberships", "max_memberships", 4)
}

fn limit_subscriptions() -> TestResult {
    limit_test("subscriptions", "max_subscriptions", 3)
}

/// uid 1000 reaches `n` objects of `kind` (the `limit` role): the n+1-th
/// fails with LimitReached on any of its peers; meanwhile uid 1001 and
/// root are not affected; removing one, or closing a peer, makes room.
fn limit_test(kind: &str, param: &str, n: usize) -> TestResult {
    let tag = uniq("lim");
    let _limit = Param::set(param, &n.to_string())?;
    let mut root = peer()?;
    if kind == "memberships" {
        for i in 0..n + 2 {
            ok!(root.register_group(&format!("{tag}.{i}"), GroupFlags::empty()));
        }
    }
    let mut child = U1000.spawn(&["limit", kind, &n.to_string(), &tag])?;
    child.expect("over LimitReached LimitReached")?;
    child.expect("full")?;
    // uid 1001 and root are not affected by uid 1000 being at its limit.
    let (joined, u1001_name, root_name) = (
        format!("{tag}.0"),
        format!("{tag}.u1001"),
        format!("{tag}.root"),
    );
    let op = match kind {
        "services" => ("own-service", u1001_name.as_str()),
        "groups" => ("own-group", u1001_name.as_str()),
        "memberships" => ("join", joined.as_str()),
        _ => ("subscribe", "-"),
    };
    let got = U1001.try_ops(&[op])?;
    ensure!(
        got == ["ok"],
        "uid 1001 while uid 1000 is at its limit: {got:?}"
    );
    match kind {
        "services" => ok!(root.register_service(&root_name)),
        "groups" => ok!(root.register_group(&root_name, GroupFlags::empty())),
        "memberships" => ok!(root.join(&joined, JoinFlags::empty())),
        _ => ok!(root.subscribe_events()),
    }
    child.tell("go")?;
    child.expect("freed ok LimitReached")?;
    child.expect("closed ok")?;
    let rest = child.finish()?;
    ensure!(rest.is_empty(), "child said {rest:?}");
    Ok(())
}

fn limit_retained_bytes() -> TestResult {
    const MAX: usize = 30;
    let tag = uniq("ret");
    // About five 12000-byte retained messages (each held in a 16 KiB+
    // buffer), or fewer if the kernel counts more per message.
    let _limit = Param::set("max_retained_bytes", "100000")?;
    let mut w = peer()?;
    ok!(w.subscribe_events());
    let mut m = peer()?;
    let _ = m.set_recv_buffer_size(1 << 20);
    let mut child = U1000.spawn(&["retain-limit", &tag, &MAX.to_string()])?;
    let (port, _) = child.ready()?;
    for i in 1..MAX {
        ok!(m.join(&format!("{tag}.{i}"), JoinFlags::empty()));
    }
    let plain = format!("{tag}.plain");
    ok!(m.join(&plain, JoinFlags::empty()));
    child.tell("go")?;
    let mut refused = 0;
    for i in 1..MAX {
        let line = child.line()?;
        if line == format!("limit {i}") {
            refused = i;
            break;
        }
        ensure!(
            line == format!("ok {i}"),
            "child said {line:?} at group {i}"
        );
    }
    ensure!(
        refused >= 2,
        "the first retained message over the replaced one already hit the limit"
    );
    child.expect("plain ok")?;
    child.expect("full")?;
    let mut buf = rxbuf();
    for i in 1..refused {
        expect_group(&m, &mut buf, &format!("{tag}.{i}"), RETAIN_PAYLOAD)?;
    }
    expect_group(&m, &mut buf, &plain, RETAIN_PAYLOAD)?;
    // Nothing of the refused publish was delivered.
    expect_nothing(&m, &mut buf)?;
    // Root is not affected.
    let mut other = peer()?;
    let root_grp = format!("{tag}.root");
    ok!(other.register_group(&root_grp, GroupFlags::RETAIN));
    ok!(other.publish(&root_grp, &[1u8; RETAIN_PAYLOAD]));
    // Removing a group frees its retained message.
    child.tell("go")?;
    child.expect("freed ok")?;
    expect_group(&m, &mut buf, &format!("{tag}.{refused}"), RETAIN_PAYLOAD)?;
    let rest = child.finish()?;
    ensure!(rest.is_empty(), "child said {rest:?}");
    // Once the peer is gone, uid 1000 may retain as many again.
    wait_event(&w, &mut buf, "the publisher's peer-gone", |ev| {
        ev.kind == EventKind::PeerGone && ev.port == port
    })?;
    let names: Vec<String> = (0..refused).map(|i| format!("{tag}.again.{i}")).collect();
    let ops: Vec<(&str, &str)> = names.iter().map(|n| ("retain", n.as_str())).collect();
    let got = U1000.try_ops(&ops)?;
    ensure!(
        got.iter().all(|o| o == "ok"),
        "retaining {refused} messages after the peer closed: {got:?}"
    );
    Ok(())
}

/// A cgroup directory, removed when dropped (after its processes exit).
struct CgroupDir(String);

impl Drop for CgroupDir {
    fn drop(&mut self) {
        // The last process may take a moment to leave after it is reaped.
        for _ in 0..100 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("ipcon-vmtests: could not remove cgroup {}", self.0);
    }
}

/// Where cgroup v2 is mounted; mounted at /sys/fs/cgroup (or, if that is
/// taken by something else, under the temporary directory) if nowhere.
fn cgroup2_root() -> Result<Option<String>, String> {
    let mounts = std::fs::read_to_string("/proc/mounts").map_err(|e| e.to_string())?;
    let fields = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    if let Some(f) = mounts
        .lines()
        .map(fields)
        .find(|f| f.len() > 2 && f[2] == "cgroup2")
    {
        return Ok(Some(f[1].clone()));
    }
    let taken = mounts
        .lines()
        .map(fields)
        .any(|f| f.len() > 1 && f[1] == "/sys/fs/cgroup");
    let target = if taken {
        let d = std::env::temp_dir().join("ipcon-cgroup2");
        std::fs::create_dir_all(&d).map_err(|e| format!("{d:?}: {e}"))?;
        d.to_string_lossy().into_owned()
    } else {
        "/sys/fs/cgroup".to_string()
    };
    let st = Command::new("mount")
        .args(["-t", "cgroup2", "none", &target])
        .status()
        .map_err(|e| format!("mount: {e}"))?;
    Ok(st.success().then_some(target))
}

fn read_u64(path: &str) -> Result<u64, String> {
    let s = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    s.trim().parse().map_err(|_| format!("{path}: {s:?}"))
}

fn retained_charged_to_memcg() -> TestResult {
    const GROUPS: u64 = 16;
    const SIZE: u64 = 60 * 1024;
    let Some(root) = cgroup2_root()? else {
        return skip("cannot mount cgroup v2 (CONFIG_CGROUPS?)");
    };
    let controllers = std::fs::read_to_string(format!("{root}/cgroup.controllers"))
        .map_err(|e| format!("{root}/cgroup.controllers: {e}"))?;
    if !controllers.split_whitespace().any(|c| c == "memory") {
        return skip(&format!(
            "no memory controller in cgroup v2 (CONFIG_MEMCG, cgroup_disable=memory, \
             or bound to cgroup v1); controllers: {}",
            controllers.trim()
        ));
    }
    let control = format!("{root}/cgroup.subtree_control");
    std::fs::write(&control, "+memory").map_err(|e| format!("{control}: +memory: {e}"))?;
    let dir = CgroupDir(format!("{root}/ipcon-vmtests-{}", std::process::id()));
    std::fs::create_dir(&dir.0).map_err(|e| format!("{}: {e}", dir.0))?;
    let current = format!("{}/memory.current", dir.0);
    let tag = uniq("memcg");
    let (n, size) = (GROUPS.to_string(), SIZE.to_string());
    let mut publisher = Proc::spawn(child::command(&["cg-publish", &dir.0, &tag, &n, &size])?)?;
    publisher.expect("ready")?;
    let before = read_u64(&current)?;
    publisher.tell("go")?;
    publisher.expect("done")?;
    let after = read_u64(&current)?;
    let grew = after.saturating_sub(before);
    ensure!(
        grew >= GROUPS * SIZE,
        "memory.current grew by {grew} bytes ({before} -> {after}); {GROUPS} retained \
         messages of {SIZE} bytes need at least {}",
        GROUPS * SIZE
    );
    publisher.finish()?;
    Ok(())
}
