// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `ipcon` command-line tool, run as a child process: every command's
//! output, exit status and error messages, success paths and error paths.
//! (The "module not loaded" status is checked by `t_system`, which unloads
//! the module.)

use std::os::unix::ffi::OsStrExt;

use crate::cmd::{ipcon, run_with_input, Bg};
use crate::json::{self, Value};
use crate::suite::{peer, recv_with, rxbuf, uniq, TestResult, WAIT};
use crate::{ensure, ok, tests};
use ipcon::policy::Policy;
use ipcon::{GroupFlags, JoinFlags, Message, PAYLOAD_MAX};

tests!(
    cli_help_for_every_command,
    cli_usage_errors,
    cli_list_table,
    cli_list_json,
    cli_resolve,
    cli_send_by_name_port_stdin_and_file,
    cli_send_and_call_by_id,
    cli_send_errors,
    cli_call_prints_the_reply,
    cli_call_times_out,
    cli_serve_prints_and_echoes,
    cli_serve_raw_and_timeout,
    cli_serve_name_taken,
    cli_listen_prints_group_messages,
    cli_listen_last_and_several_groups,
    cli_listen_errors,
    cli_publish_waits_for_members,
    cli_publish_lines_and_linger,
    cli_publish_errors,
    cli_monitor_prints_events,
    cli_monitor_json_and_count,
    cli_monitor_times_out,
    cli_closed_stdout_is_quiet,
    cli_policy_check,
    cli_policy_load_show_clear,
    cli_policy_needs_cap_net_admin,
);

const COMMANDS: [&str; 10] = [
    "list", "resolve", "send", "call", "serve", "publish", "listen", "monitor", "policy", "help",
];

/// This process's effective uid and gid: what the kernel stamps on its
/// peers (the suite runs as root in the initial namespaces).
fn ids() -> (String, String) {
    (
        rustix::process::geteuid().as_raw().to_string(),
        rustix::process::getegid().as_raw().to_string(),
    )
}

fn cli_help_for_every_command() -> TestResult {
    let main = ok!(ipcon(&["--help"]));
    ensure!(
        main.code() == 0 && main.stderr.is_empty(),
        "{}",
        main.show()
    );
    let text = main.out();
    for c in COMMANDS {
        ensure!(text.contains(&format!("\n  {c} ")), "main help lacks {c}");
        for args in [vec![c, "--help"], vec!["help", c], vec![c, "-h"]] {
            let o = ok!(ipcon(&args));
            ensure!(o.code() == 0, "{args:?}: {}", o.show());
            ensure!(
                o.out().starts_with(&format!("usage: ipcon {c}")),
                "{args:?}: {}",
                o.show()
            );
            ensure!(o.stderr.is_empty(), "{args:?}: {}", o.show());
        }
    }
    for code in [
        "0  success",
        "2  usage",
        "3  the ipcon kernel module",
        "4  timed out",
    ] {
        ensure!(text.contains(code), "main help lacks exit status {code:?}");
    }
    let none = ok!(ipcon(&[]));
    ensure!(none.code() == 2, "{}", none.show());
    ensure!(
        none.err().contains("ipcon: missing COMMAND"),
        "{}",
        none.show()
    );
    let v = ok!(ipcon(&["--version"]));
    ensure!(
        v.code() == 0 && v.out().starts_with("ipcon "),
        "{}",
        v.show()
    );
    Ok(())
}

fn cli_usage_errors() -> TestResult {
    let big = "/tmp/ipcon-too-big";
    ok!(std::fs::write(big, vec![b'x'; PAYLOAD_MAX + 1]));
    let long = "n".repeat(64);
    let cases: &[(&[&str], &str)] = &[
        (&["frobnicate"], "unknown command 'frobnicate'"),
        (&["list", "--bogus"], "unknown option '--bogus'"),
        (&["list", "things"], "list 'services' or 'groups'"),
        (&["resolve"], "missing NAME"),
        (&["resolve", "a", "b"], "unexpected argument 'b'"),
        (&["resolve", &long], "invalid service name"),
        (&["resolve", "bad/name"], "invalid service name 'bad/name'"),
        (&["send", "99999999999", "x"], "invalid port '99999999999'"),
        (&["send", "svc"], "missing MESSAGE"),
        (&["send", "-f", big, "svc"], "message too large"),
        (
            &["send", "-f", "/nonexistent", "svc"],
            "cannot read file /nonexistent",
        ),
        (&["send", "-f", "/tmp", "svc"], "cannot read file /tmp"),
        (&["send", "-f", big, "svc", "msg"], "not both"),
        (
            &["call", "--timeout", "soon", "svc", "x"],
            "--timeout takes seconds",
        ),
        (
            &["call", "--hex", "--raw", "svc", "x"],
            "exclude each other",
        ),
        (
            &["serve", "--count", "0", "svc"],
            "--count takes a whole number",
        ),
        (&["serve", "--count"], "--count needs a value"),
        (&["listen"], "missing GROUP"),
        (&["listen", "g", "g"], "given twice"),
        (&["publish", "--lines", "g", "x"], "--lines reads stdin"),
        (
            &["publish", "--timeout", "1", "g", "x"],
            "--timeout limits --wait",
        ),
        (&["monitor", "extra"], "unexpected argument 'extra'"),
        (&["send", "--id", "x1", "m"], "invalid peer id 'x1'"),
        (&["send", "-i", "-n", "1", "m"], "exclude each other"),
        (&["policy"], "missing ACTION"),
        (&["policy", "frob"], "unknown ACTION 'frob'"),
        (&["policy", "load"], "missing FILE"),
        (&["policy", "check", "a", "b"], "unexpected argument 'b'"),
        (&["policy", "show", "x"], "unexpected argument 'x'"),
        (
            &["policy", "check", "--json", "f"],
            "--json is an option of 'policy show'",
        ),
        (
            &["policy", "check", "/nonexistent"],
            "cannot read /nonexistent",
        ),
        (&["help", "nope"], "unknown command 'nope'"),
    ];
    for (args, words) in cases {
        let o = ok!(ipcon(args));
        let err = o.err();
        ensure!(o.code() == 2, "{args:?}: {}", o.show());
        ensure!(
            err.starts_with("ipcon: ") && err.contains(words),
            "{args:?}: {}",
            o.show()
        );
        ensure!(err.contains("--help"), "{args:?}: no help hint: {err}");
        ensure!(o.stdout.is_empty(), "{args:?}: {}", o.show());
    }
    // A message argument that is too large (from the shell's point of view).
    let o = ok!(ipcon(&["send", "svc", &"x".repeat(PAYLOAD_MAX + 1)]));
    ensure!(
        o.code() == 2 && o.err().contains("message too large"),
        "{}",
        o.show()
    );
    let _ = std::fs::remove_file(big);
    Ok(())
}

/// A service, a retained group with one member, all held by this process.
struct Fixture {
    owner: ipcon::Peer,
    _member: ipcon::Peer,
    svc: String,
    grp: String,
}

fn fixture() -> Result<Fixture, String> {
    let mut owner = peer()?;
    let mut member = peer()?;
    let (svc, grp) = (uniq("lsvc"), uniq("lgrp"));
    ok!(owner.register_service(&svc));
    ok!(owner.register_group(&grp, GroupFlags::RETAIN));
    ok!(member.join(&grp, JoinFlags::NONE));
    Ok(Fixture {
        owner,
        _member: member,
        svc,
        grp,
    })
}

fn cli_list_table() -> TestResult {
    let f = fixture()?;
    let (port, pid) = (f.owner.port(), std::process::id());
    let (id, (uid, gid)) = (f.owner.id().to_string(), ids());
    let o = ok!(ipcon(&["list"]));
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    let find = |name: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    let svc = find(&f.svc).ok_or_else(|| format!("no {} in {text}", f.svc))?;
    ensure!(
        svc == [
            f.svc.as_str(),
            &port.to_string(),
            &id,
            &uid,
            &gid,
            &pid.to_string(),
            "ipcon-vmtests"
        ],
        "service row {svc:?}"
    );
    let grp = find(&f.grp).ok_or_else(|| format!("no {} in {text}", f.grp))?;
    ensure!(
        grp == [
            f.grp.as_str(),
            &port.to_string(),
            &id,
            &uid,
            &gid,
            "1",
            "yes",
            &pid.to_string(),
            "ipcon-vmtests"
        ],
        "group row {grp:?}"
    );
    ensure!(
        text.contains("SERVICE  ") && text.contains("GROUP  ") && text.contains("MEMBERS"),
        "headers: {text}"
    );
    let header = |first: &str| {
        text.lines()
            .find(|l| l.starts_with(first))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    ensure!(
        header("SERVICE")
            == Some(vec![
                "SERVICE", "PORT", "ID", "UID", "GID", "PID", "PROCESS"
            ]),
        "{text}"
    );
    ensure!(
        header("GROUP")
            == Some(vec![
                "GROUP", "OWNER", "ID", "UID", "GID", "MEMBERS", "RETAIN", "PID", "PROCESS"
            ]),
        "{text}"
    );

    let s = ok!(ipcon(&["list", "services"])).out();
    ensure!(
        s.contains(&f.svc) && !s.contains(&f.grp) && !s.contains("GROUP"),
        "{s}"
    );
    let g = ok!(ipcon(&["list", "groups"])).out();
    ensure!(
        g.contains(&f.grp) && !g.contains(&f.svc) && !g.contains("SERVICE"),
        "{g}"
    );
    Ok(())
}

fn cli_list_json() -> TestResult {
    json::self_check()?;
    let f = fixture()?;
    let (port, pid) = (f.owner.port() as f64, std::process::id() as f64);
    let o = ok!(ipcon(&["list", "--json"]));
    ensure!(o.code() == 0 && o.out().ends_with("}\n"), "{}", o.show());
    let v = json::parse(&o.out()).map_err(|e| format!("invalid JSON ({e}): {}", o.out()))?;
    ensure!(v.keys() == ["services", "groups"], "keys {:?}", v.keys());
    let named = |list: &str, name: &str| -> Option<Value> {
        v.get(list)?
            .items()
            .iter()
            .find(|e| e.get("name").and_then(Value::str) == Some(name))
            .cloned()
    };
    let s = named("services", &f.svc).ok_or("service missing from the JSON")?;
    let (uid, gid) = ids();
    let (uid, gid): (f64, f64) = (ok!(uid.parse()), ok!(gid.parse()));
    let id = f.owner.id() as f64;
    ensure!(s.get("port").and_then(Value::num) == Some(port), "{s:?}");
    ensure!(s.get("id").and_then(Value::num) == Some(id), "{s:?}");
    ensure!(s.get("uid").and_then(Value::num) == Some(uid), "{s:?}");
    ensure!(s.get("gid").and_then(Value::num) == Some(gid), "{s:?}");
    ensure!(
        s.keys() == ["name", "port", "id", "uid", "gid", "pid", "process"],
        "{s:?}"
    );
    ensure!(s.get("pid").and_then(Value::num) == Some(pid), "{s:?}");
    ensure!(
        s.get("process").and_then(Value::str) == Some("ipcon-vmtests"),
        "{s:?}"
    );
    let g = named("groups", &f.grp).ok_or("group missing from the JSON")?;
    ensure!(g.get("owner").and_then(Value::num) == Some(port), "{g:?}");
    ensure!(g.get("owner_id").and_then(Value::num) == Some(id), "{g:?}");
    ensure!(
        g.get("owner_uid").and_then(Value::num) == Some(uid),
        "{g:?}"
    );
    ensure!(
        g.get("owner_gid").and_then(Value::num) == Some(gid),
        "{g:?}"
    );
    ensure!(g.get("members").and_then(Value::num) == Some(1.0), "{g:?}");
    ensure!(g.get("retain") == Some(&Value::Bool(true)), "{g:?}");
    ensure!(
        g.keys()
            == [
                "name",
                "owner",
                "owner_id",
                "owner_uid",
                "owner_gid",
                "members",
                "retain",
                "pid",
                "process"
            ],
        "{g:?}"
    );

    let o = ok!(ipcon(&["list", "groups", "-j"]));
    let v = json::parse(&o.out()).map_err(|e| format!("invalid JSON ({e}): {}", o.out()))?;
    ensure!(v.keys() == ["groups"], "keys {:?}", v.keys());
    Ok(())
}

fn cli_resolve() -> TestResult {
    let mut p = peer()?;
    let name = uniq("resolve");
    ok!(p.register_service(&name));
    let o = ok!(ipcon(&["resolve", &name]));
    ensure!(o.code() == 0, "{}", o.show());
    let (uid, gid) = ids();
    ensure!(
        o.out() == format!("port={} id={} uid={uid} gid={gid}\n", p.port(), p.id()),
        "{}",
        o.show()
    );
    let o = ok!(ipcon(&["resolve", "--json", &name]));
    let v = json::parse(&o.out()).map_err(|e| format!("invalid JSON ({e}): {}", o.out()))?;
    ensure!(
        v.keys() == ["name", "port", "id", "uid", "gid"],
        "{}",
        o.out()
    );
    ensure!(
        v.get("id").and_then(Value::num) == Some(p.id() as f64),
        "{}",
        o.out()
    );

    let missing = uniq("missing");
    let o = ok!(ipcon(&["resolve", &missing]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err() == format!("ipcon: no such service: {missing}\n"),
        "{}",
        o.show()
    );
    Ok(())
}

fn cli_send_by_name_port_stdin_and_file() -> TestResult {
    let mut b = peer()?;
    let name = uniq("sendto");
    ok!(b.register_service(&name));
    let mut buf = rxbuf();

    // By name: the kernel stamps the tool's pid.
    let child = ok!(Bg::spawn("ipcon", &["send", &name, "hello"], None));
    let pid = child.pid();
    let o = ok!(child.finish());
    ensure!(
        o.code() == 0 && o.stdout.is_empty() && o.stderr.is_empty(),
        "{}",
        o.show()
    );
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(u.data == b"hello", "payload {:?}", u.data);
            ensure!(u.sender.pid == pid, "pid {} != {pid}", u.sender.pid);
            ensure!(
                u.service == Some(name.as_str()),
                "addressed {:?}",
                u.service
            );
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })?;

    // By port, every byte value from stdin.
    let all: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let o = ok!(run_with_input(
        "ipcon",
        &["send", &b.port().to_string(), "-"],
        &all
    ));
    ensure!(o.code() == 0, "{}", o.show());
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(
                u.data == all.as_slice(),
                "stdin payload differs ({} bytes)",
                u.data.len()
            );
            ensure!(u.service.is_none(), "addressed by port");
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })?;

    // The largest message, from a file; and an empty one.
    let path = "/tmp/ipcon-max";
    let max: Vec<u8> = (0..PAYLOAD_MAX).map(|i| (i % 251) as u8).collect();
    ok!(std::fs::write(path, &max));
    let o = ok!(ipcon(&["send", "--file", path, &name]));
    ensure!(o.code() == 0, "{}", o.show());
    let o2 = ok!(ipcon(&["send", &name, ""]));
    ensure!(o2.code() == 0, "{}", o2.show());
    let _ = std::fs::remove_file(path);
    for want in [max.as_slice(), b""] {
        recv_with(&b, &mut buf, |m| match m {
            Message::Unicast(u) => {
                ensure!(
                    u.data == want,
                    "{} bytes, sent {}",
                    u.data.len(),
                    want.len()
                );
                Ok(())
            }
            other => Err(format!("got {other:?}")),
        })?;
    }

    // A message argument that is not UTF-8 goes out as it is.
    let raw = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    let st = ok!(std::process::Command::new(crate::cmd::bin("ipcon"))
        .arg("send")
        .arg(&name)
        .arg(raw)
        .status());
    ensure!(st.success(), "{st}");
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) if u.data == b"\xff\xfe" => Ok(()),
        other => Err(format!("got {other:?}")),
    })
}

fn cli_send_and_call_by_id() -> TestResult {
    let mut b = peer()?;
    let name = uniq("byid");
    ok!(b.register_service(&name));
    let mut buf = rxbuf();
    let o = ok!(ipcon(&["send", "--id", &b.id().to_string(), "by id"]));
    ensure!(o.code() == 0 && o.stderr.is_empty(), "{}", o.show());
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) => {
            ensure!(u.data == b"by id", "payload {:?}", u.data);
            ensure!(u.service.is_none(), "addressed {:?}", u.service);
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })?;

    // call --id waits for the reply from that id.
    let (_, _, id, server) = pong_server(1)?;
    let o = ok!(ipcon(&["call", "-i", &id.to_string(), "x"]));
    ensure!(
        o.code() == 0 && o.out().ends_with(", 6 bytes: pong:x\n"),
        "{}",
        o.show()
    );
    ensure!(o.out().contains(&format!("(id {id}, ")), "{}", o.show());
    server.join().map_err(|_| "server panicked")??;

    // The id of a peer that is gone is refused.
    let gone = peer()?.id();
    let o = ok!(ipcon(&["send", "--id", &gone.to_string(), "x"]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err()
            .contains(&format!("peer id {gone} is not a live ipcon peer")),
        "{}",
        o.show()
    );
    Ok(())
}

fn cli_send_errors() -> TestResult {
    let missing = uniq("nobody");
    let o = ok!(ipcon(&["send", &missing, "x"]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err() == format!("ipcon: no such service: {missing}\n"),
        "{}",
        o.show()
    );

    let gone = peer()?.port(); // the peer is closed again at once
    let o = ok!(ipcon(&["send", &gone.to_string(), "x"]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err()
            .contains(&format!("port {gone} is not a live ipcon peer")),
        "{}",
        o.show()
    );
    Ok(())
}

/// Serve `n` requests on a thread: reply "pong:" + request, or the bytes
/// 0..=255 to the request "binary".
#[allow(clippy::type_complexity)]
fn pong_server(
    n: usize,
) -> Result<(String, u32, u64, std::thread::JoinHandle<TestResult>), String> {
    let mut p = peer()?;
    let name = uniq("pong");
    ok!(p.register_service(&name));
    let (port, id) = (p.port(), p.id());
    let h = std::thread::spawn(move || -> TestResult {
        let mut buf = rxbuf();
        for _ in 0..n {
            let (to, reply) = match p.recv_timeout(&mut buf, crate::cmd::LIMIT) {
                Ok(Message::Unicast(u)) if u.data == b"binary" => {
                    (u.sender.port, (0..=255u8).collect::<Vec<_>>())
                }
                Ok(Message::Unicast(u)) => (u.sender.port, [&b"pong:"[..], u.data].concat()),
                other => return Err(format!("server got {other:?}")),
            };
            ok!(p.send_to_port(to, &reply));
        }
        Ok(())
    });
    Ok((name, port, id, h))
}

fn cli_call_prints_the_reply() -> TestResult {
    let (name, port, id, server) = pong_server(4)?;
    let pid = std::process::id();
    let o = ok!(ipcon(&["call", &name, "ping"]));
    ensure!(o.code() == 0, "{}", o.show());
    ensure!(
        o.out()
            == format!(
                "from port {port} (id {id}, pid {pid}, uid 0, service {name}), 9 bytes: pong:ping\n"
            ),
        "{}",
        o.show()
    );
    let o = ok!(ipcon(&["call", "--raw", &name, "binary"]));
    let all: Vec<u8> = (0..=255u8).collect();
    ensure!(o.code() == 0 && o.stdout == all, "{}", o.show());
    let o = ok!(ipcon(&["call", "--hex", &port.to_string(), "hi"]));
    ensure!(
        o.code() == 0 && o.out().ends_with(", 7 bytes: 706f6e673a6869\n"),
        "{}",
        o.show()
    );
    let o = ok!(run_with_input(
        "ipcon",
        &["call", "-t", "10", &name, "-"],
        b"a\nb"
    ));
    ensure!(o.out().ends_with(": pong:a\\nb\n"), "{}", o.show());
    server.join().map_err(|_| "server panicked")?
}

fn cli_call_times_out() -> TestResult {
    let mut silent = peer()?;
    let name = uniq("silent");
    ok!(silent.register_service(&name));
    let o = ok!(ipcon(&["call", "--timeout", "0.3", &name, "anyone?"]));
    ensure!(o.code() == 4, "{}", o.show());
    ensure!(
        o.err().starts_with(&format!(
            "ipcon: no reply from service {name} (port {})",
            silent.port()
        )),
        "{}",
        o.show()
    );
    // The request itself arrived.
    let mut buf = rxbuf();
    recv_with(&silent, &mut buf, |m| match m {
        Message::Unicast(u) if u.data == b"anyone?" => Ok(()),
        other => Err(format!("got {other:?}")),
    })?;
    let o = ok!(ipcon(&["call", &uniq("nobody"), "x"]));
    ensure!(
        o.code() == 1 && o.err().contains("no such service"),
        "{}",
        o.show()
    );
    Ok(())
}

fn cli_serve_prints_and_echoes() -> TestResult {
    let name = uniq("serve");
    let mut srv = ok!(Bg::spawn(
        "ipcon",
        &["serve", "--echo", "--count", "2", &name],
        None
    ));
    srv.wait_stderr(&format!("ipcon: serving {name} on port "))?;
    let mut c = peer()?;
    let mut buf = rxbuf();
    let pid = std::process::id();
    for msg in [&b"hi\n\x00"[..], b"second"] {
        ok!(c.send_to_service(&name, msg));
        recv_with(&c, &mut buf, |m| match m {
            Message::Unicast(u) if u.data == msg => Ok(()),
            other => Err(format!("echo: got {other:?}")),
        })?;
    }
    let o = srv.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    let lines: Vec<String> = o.out().lines().map(String::from).collect();
    let from = format!("from port {} (id {}, pid {pid}, uid 0)", c.port(), c.id());
    ensure!(
        lines
            == [
                format!("{from}, 4 bytes: hi\\n\\x00"),
                format!("{from}, 6 bytes: second")
            ],
        "{lines:?}"
    );
    Ok(())
}

fn cli_serve_raw_and_timeout() -> TestResult {
    let name = uniq("raw");
    let mut srv = ok!(Bg::spawn(
        "ipcon",
        &["serve", "--raw", "-c", "2", &name],
        None
    ));
    srv.wait_stderr("ipcon: serving")?;
    let mut c = peer()?;
    ok!(c.send_to_service(&name, b"\x00\x01"));
    ok!(c.send_to_service(&name, b"\xff"));
    let o = srv.finish()?;
    ensure!(o.code() == 0 && o.stdout == b"\x00\x01\xff", "{}", o.show());

    let mut srv = ok!(Bg::spawn(
        "ipcon",
        &["serve", "--hex", "-c", "1", &name],
        None
    ));
    srv.wait_stderr("ipcon: serving")?;
    ok!(c.send_to_service(&name, b"\xca\xfe"));
    let o = srv.finish()?;
    ensure!(o.out().ends_with(", 2 bytes: cafe\n"), "{}", o.show());

    let o = ok!(ipcon(&["serve", "--timeout", "300ms", &name]));
    ensure!(o.code() == 4, "{}", o.show());
    ensure!(
        o.err().contains("ipcon: nothing arrived within 300ms"),
        "{}",
        o.show()
    );
    Ok(())
}

fn cli_serve_name_taken() -> TestResult {
    let mut p = peer()?;
    let name = uniq("taken");
    ok!(p.register_service(&name));
    let o = ok!(ipcon(&["serve", &name]));
    ensure!(o.code() == 1, "{}", o.show());
    let want = format!(
        "ipcon: service {name} is already registered by port {} (pid {}, ipcon-vmtests)\n",
        p.port(),
        std::process::id()
    );
    ensure!(o.err() == want, "{}", o.show());
    Ok(())
}

fn cli_listen_prints_group_messages() -> TestResult {
    let mut owner = peer()?;
    let grp = uniq("listen");
    ok!(owner.register_group(&grp, GroupFlags::NONE));
    let mut l = ok!(Bg::spawn("ipcon", &["listen", "--count", "2", &grp], None));
    l.wait_stderr(&format!("ipcon: listening to {grp} on port "))?;
    ok!(owner.publish(&grp, b"one"));
    ok!(owner.publish(&grp, b"two\t2"));
    let o = l.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    let from = format!(
        "{grp}: from port {} (id {}, pid {}, uid 0)",
        owner.port(),
        owner.id(),
        std::process::id()
    );
    let want = format!("{from}, 3 bytes: one\n{from}, 5 bytes: two\\t2\n");
    ensure!(o.out() == want, "{}", o.show());
    Ok(())
}

fn cli_listen_last_and_several_groups() -> TestResult {
    let mut owner = peer()?;
    let (g1, g2) = (uniq("last1"), uniq("last2"));
    ok!(owner.register_group(&g1, GroupFlags::RETAIN));
    ok!(owner.register_group(&g2, GroupFlags::NONE));
    ok!(owner.publish(&g1, b"old news"));
    let mut l = ok!(Bg::spawn(
        "ipcon",
        &["listen", "--last", "-c", "2", &g1, &g2],
        None
    ));
    l.wait_stderr(&format!("listening to {g1}, {g2}"))?;
    ok!(owner.publish(&g2, b"fresh"));
    let o = l.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    let lines: Vec<&str> = o
        .stdout
        .split(|&b| b == b'\n')
        .map(|l| std::str::from_utf8(l).unwrap_or(""))
        .collect();
    ensure!(lines.len() == 3, "{}", o.show());
    ensure!(
        lines[0].starts_with(&format!("{g1}: from port {}", owner.port())),
        "{}",
        o.show()
    );
    ensure!(
        lines[0].ends_with(", 8 bytes, retained: old news"),
        "{}",
        o.show()
    );
    ensure!(
        lines[1].starts_with(&format!("{g2}: ")) && lines[1].ends_with(": fresh"),
        "{}",
        o.show()
    );
    Ok(())
}

fn cli_listen_errors() -> TestResult {
    let missing = uniq("nogroup");
    let o = ok!(ipcon(&["listen", &missing]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err() == format!("ipcon: no such group: {missing}\n"),
        "{}",
        o.show()
    );

    // The group goes away while listening: the tool says so and fails.
    let mut owner = peer()?;
    let grp = uniq("vanish");
    ok!(owner.register_group(&grp, GroupFlags::NONE));
    let mut l = ok!(Bg::spawn("ipcon", &["listen", &grp], None));
    l.wait_stderr("ipcon: listening")?;
    ok!(owner.unregister_group(&grp));
    let o = l.finish()?;
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err().contains(&format!("ipcon: group {grp} was removed")),
        "{}",
        o.show()
    );
    Ok(())
}

/// Wait until `group` exists (registered by a child), or fail.
fn wait_group(p: &mut ipcon::Peer, group: &str) -> Result<u32, String> {
    let deadline = std::time::Instant::now() + WAIT;
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    loop {
        let mut owner = None;
        ok!(p.groups(&mut buf, |g| if g.name == group {
            owner = Some(g.owner)
        }));
        if let Some(o) = owner {
            return Ok(o);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("group {group} never appeared"));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn cli_publish_waits_for_members() -> TestResult {
    let grp = uniq("pubwait");
    let mut pubr = ok!(Bg::spawn(
        "ipcon",
        &["publish", "--wait", "1", "--timeout", "30", &grp, "hello"],
        None
    ));
    pubr.wait_stderr(&format!("ipcon: group {grp} registered on port "))?;
    let mut m = peer()?;
    let owner = wait_group(&mut m, &grp)?;
    ok!(m.join(&grp, JoinFlags::NONE));
    let pid = pubr.pid();
    let mut buf = rxbuf();
    recv_with(&m, &mut buf, |msg| match msg {
        Message::Group(g) => {
            ensure!(g.data == b"hello" && !g.retained, "{g:?}");
            ensure!(g.sender.port == owner && g.sender.pid == pid, "{g:?}");
            Ok(())
        }
        other => Err(format!("got {other:?}")),
    })?;
    let o = pubr.finish()?;
    ensure!(o.code() == 0 && o.stdout.is_empty(), "{}", o.show());
    Ok(())
}

fn cli_publish_lines_and_linger() -> TestResult {
    let grp = uniq("lines");
    let mut pubr = ok!(Bg::spawn(
        "ipcon",
        &["publish", "--lines", "--wait", "1", &grp],
        Some(b"first\n\nthird line\nno newline")
    ));
    pubr.wait_stderr("waiting for 1 member")?;
    let mut m = peer()?;
    wait_group(&mut m, &grp)?;
    ok!(m.join(&grp, JoinFlags::NONE));
    let mut buf = rxbuf();
    for want in [&b"first"[..], b"", b"third line", b"no newline"] {
        recv_with(&m, &mut buf, |msg| match msg {
            Message::Group(g) if g.data == want => Ok(()),
            other => Err(format!("wanted {want:?}, got {other:?}")),
        })?;
    }
    let o = pubr.finish()?;
    ensure!(o.code() == 0, "{}", o.show());

    // --linger keeps the retained message for a late joiner.
    let grp = uniq("linger");
    let mut pubr = ok!(Bg::spawn(
        "ipcon",
        &["publish", "--retain", "--linger", "3", &grp, "still here"],
        None
    ));
    // Join only once the message is out: a member that joins between the
    // group's registration and the publish gets it live, not retained.
    pubr.wait_stderr("staying 3.0 s (--linger)")?;
    let mut late = peer()?;
    ok!(late.join(&grp, JoinFlags::LAST));
    recv_with(&late, &mut buf, |msg| match msg {
        Message::Group(g) if g.retained && g.data == b"still here" => Ok(()),
        other => Err(format!("got {other:?}")),
    })?;
    let o = pubr.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    Ok(())
}

fn cli_publish_errors() -> TestResult {
    let mut owner = peer()?;
    let grp = uniq("owned");
    ok!(owner.register_group(&grp, GroupFlags::NONE));
    let o = ok!(ipcon(&["publish", &grp, "x"]));
    ensure!(o.code() == 1, "{}", o.show());
    let want = format!(
        "ipcon: group {grp} is already registered by port {} (pid {}, ipcon-vmtests): \
         only its owner can publish to it\n",
        owner.port(),
        std::process::id()
    );
    ensure!(o.err() == want, "{}", o.show());

    let o = ok!(ipcon(&[
        "publish",
        "-w",
        "2",
        "-t",
        "0.3",
        &uniq("empty"),
        "x"
    ]));
    ensure!(o.code() == 4, "{}", o.show());
    ensure!(
        o.err().contains("has 0 of 2 members after 300ms"),
        "{}",
        o.show()
    );
    Ok(())
}

/// "HH:MM:SS.mmm".
fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 12
        && b.iter().enumerate().all(|(i, &c)| match i {
            2 | 5 => c == b':',
            8 => c == b'.',
            _ => c.is_ascii_digit(),
        })
}

fn cli_monitor_prints_events() -> TestResult {
    let mut mon = ok!(Bg::spawn("ipcon", &["monitor"], None));
    mon.wait_stderr("ipcon: watching kernel events on port ")?;
    let mut p = peer()?;
    let port = p.port();
    let (uid, gid) = ids();
    let who = format!("port {port} id {} uid {uid} gid {gid}", p.id());
    let (svc, grp) = (uniq("msvc"), uniq("mgrp"));
    ok!(p.register_service(&svc));
    ok!(p.register_group(&grp, GroupFlags::NONE));
    ok!(p.unregister_service(&svc));
    drop(p);
    let want = [
        format!("service-added {svc} {who}"),
        format!("group-added {grp} {who}"),
        format!("service-removed {svc} {who}"),
        format!("group-removed {grp} {who}"),
        format!("peer-gone {who}"),
    ];
    mon.wait_stdout(&want[4])?;
    let text = mon.stdout();
    mon.kill();
    // Our events, in order, each line "TIME EVENT ...".
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&svc) || l.contains(&grp) || l.ends_with(&who))
        .collect();
    ensure!(ours.len() == want.len(), "{text}");
    for (line, w) in ours.iter().zip(&want) {
        let (time, rest) = line.split_once(' ').unwrap_or(("", ""));
        ensure!(
            is_time(time) && rest == w,
            "line {line:?}, expected TIME {w:?}"
        );
    }
    Ok(())
}

fn cli_monitor_json_and_count() -> TestResult {
    let mut mon = ok!(Bg::spawn(
        "ipcon",
        &["monitor", "--json", "--count", "2"],
        None
    ));
    mon.wait_stderr("ipcon: watching")?;
    let mut p = peer()?;
    let svc = uniq("jsvc");
    ok!(p.register_service(&svc));
    ok!(p.unregister_service(&svc));
    let o = mon.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    let lines: Vec<&str> = text.lines().collect();
    ensure!(lines.len() == 2, "{text}");
    for (line, kind) in lines.iter().zip(["service-added", "service-removed"]) {
        let v = json::parse(line).map_err(|e| format!("invalid JSON ({e}): {line}"))?;
        ensure!(
            v.keys() == ["time", "event", "port", "id", "uid", "gid", "name"],
            "{line}"
        );
        ensure!(
            v.get("id").and_then(Value::num) == Some(p.id() as f64),
            "{line}"
        );
        ensure!(v.get("event").and_then(Value::str) == Some(kind), "{line}");
        ensure!(
            v.get("name").and_then(Value::str) == Some(svc.as_str()),
            "{line}"
        );
        ensure!(
            v.get("port").and_then(Value::num) == Some(p.port() as f64),
            "{line}"
        );
        let t = v.get("time").and_then(Value::num).unwrap_or(0.0);
        ensure!(t as u64 > 1_000_000_000, "time {t}");
    }
    Ok(())
}

fn cli_monitor_times_out() -> TestResult {
    let o = ok!(ipcon(&["monitor", "--timeout", "0.3"]));
    ensure!(o.code() == 4, "{}", o.show());
    ensure!(
        o.err().contains("ipcon: nothing arrived within 300ms"),
        "{}",
        o.show()
    );
    Ok(())
}

fn cli_closed_stdout_is_quiet() -> TestResult {
    // `ipcon monitor | head -0`: the first event cannot be written.
    let mut mon = ok!(Bg::spawn_closed_stdout("ipcon", &["monitor"]));
    mon.wait_stderr("ipcon: watching")?;
    let mut p = peer()?;
    ok!(p.register_service(&uniq("pipe")));
    let o = mon.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    ensure!(
        o.err().lines().count() == 1 && o.err().starts_with("ipcon: watching"),
        "{}",
        o.show()
    );
    Ok(())
}

/// For `t_system`, while the module is unloaded: exit status 3 and the
/// advice to load it.
pub fn check_not_loaded() -> TestResult {
    for args in [
        &["list"][..],
        &["resolve", "x"],
        &["monitor"],
        &["policy", "show"],
        &["policy", "clear"],
    ] {
        let o = ok!(ipcon(args));
        ensure!(o.code() == 3, "{args:?}: {}", o.show());
        ensure!(
            o.err() == "ipcon: module not loaded - run 'modprobe ipcon' (as root)\n",
            "{args:?}: {}",
            o.show()
        );
    }
    Ok(())
}

/// A file in /tmp with `text`, removed when dropped.
struct TempFile(String);

impl TempFile {
    fn new(tag: &str, text: &[u8]) -> Result<TempFile, String> {
        let path = format!("/tmp/ipcon-{}-{tag}", std::process::id());
        ok!(std::fs::write(&path, text));
        Ok(TempFile(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A policy with comments, blank lines, odd spacing and each kind of rule.
const GOOD_POLICY: &str = "\
# the camera of the README
default deny            # ship this

own   com.acme.camera   uid 1001
own   com.acme.*        gid 300   # helpers
\tsend  com.acme.camera   anyone
join  com.acme.status   uid 1002
send  *                 gid 0
";

fn cli_policy_check() -> TestResult {
    let good = TempFile::new("good-policy", GOOD_POLICY.as_bytes())?;
    let o = ok!(ipcon(&["policy", "check", &good.0]));
    ensure!(o.code() == 0 && o.stderr.is_empty(), "{}", o.show());
    ensure!(
        o.out() == format!("{}: valid policy, default deny, 5 rules\n", good.0),
        "{}",
        o.show()
    );
    let o = ok!(run_with_input(
        "ipcon",
        &["policy", "check", "-"],
        GOOD_POLICY.as_bytes()
    ));
    ensure!(
        o.code() == 0 && o.out() == "stdin: valid policy, default deny, 5 rules\n",
        "{}",
        o.show()
    );

    // Every malformed line, with its number; bytes that are not UTF-8 are
    // fine in a comment only.
    let bad = TempFile::new(
        "bad-policy",
        b"# bad\nown x\ndefault deny\nown a/b anyone\n# \xff ok\nsend x uid -1\n\
          default allow\njoin x gid 1 extra\nfrob\xff x anyone\n",
    )?;
    let o = ok!(ipcon(&["policy", "check", &bad.0]));
    ensure!(o.code() == 1 && o.stdout.is_empty(), "{}", o.show());
    let err = o.err();
    let lines: Vec<&str> = err.lines().collect();
    let f = &bad.0;
    let want = [
        format!("{f}:2: missing WHO"),
        format!("{f}:4: invalid character in pattern"),
        format!("{f}:6: 'uid' needs a decimal number"),
        format!("{f}:7: a second 'default' line"),
        format!("{f}:8: unexpected text after the rule"),
        format!("{f}:9: unknown keyword"),
        format!("ipcon: {f}: 6 errors, not a valid policy"),
    ];
    ensure!(lines.len() == want.len(), "{}", o.show());
    for (line, w) in lines.iter().zip(&want) {
        ensure!(line.starts_with(w.as_str()), "{line:?} is not {w:?}");
    }
    // No default line: the file, without a line number.
    let o = ok!(run_with_input(
        "ipcon",
        &["policy", "check", "-"],
        b"own x anyone\n"
    ));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err()
            .starts_with("stdin: no 'default allow' or 'default deny' line"),
        "{}",
        o.show()
    );
    // 513 rules.
    let mut many = String::from("default allow\n");
    for i in 0..513 {
        many.push_str(&format!("own n{i} anyone\n"));
    }
    let o = ok!(run_with_input(
        "ipcon",
        &["policy", "check", "-"],
        many.as_bytes()
    ));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err().starts_with("stdin:514: more than 512 rules"),
        "{}",
        o.show()
    );
    Ok(())
}

/// `ipcon policy show`, parsed back.
fn shown_policy() -> Result<Policy, String> {
    let o = ok!(ipcon(&["policy", "show"]));
    ensure!(o.code() == 0 && o.stderr.is_empty(), "{}", o.show());
    Policy::parse(&o.out()).map_err(|e| format!("show printed no policy ({e:?}): {}", o.out()))
}

fn cli_policy_load_show_clear() -> TestResult {
    // The policy in force (the boot policy in the VM, the product's on a
    // device) is put back at the end, whatever happens in between.
    let saved = shown_policy()?;
    let r = policy_load_show(&uniq("pol")).and_then(|()| policy_clear());
    let o = ok!(run_with_input(
        "ipcon",
        &["policy", "load", "-"],
        saved.to_string().as_bytes()
    ));
    ensure!(o.code() == 0, "restoring the policy: {}", o.show());
    r?;
    ensure!(
        shown_policy()? == saved,
        "the saved policy did not come back"
    );
    Ok(())
}

/// `ipcon policy clear` leaves default allow and no rules.
fn policy_clear() -> TestResult {
    let o = ok!(ipcon(&["policy", "clear"]));
    ensure!(o.code() == 0, "policy clear: {}", o.show());
    ensure!(o.stdout.is_empty(), "{}", o.show());
    ensure!(
        o.err() == "ipcon: policy cleared: default allow, no rules (everything is allowed)\n",
        "{}",
        o.show()
    );
    ensure!(shown_policy()? == Policy::default(), "not cleared");
    let o = ok!(ipcon(&["policy", "show"]));
    ensure!(o.out() == "default allow\n", "{}", o.show());
    Ok(())
}

fn policy_load_show(base: &str) -> TestResult {
    // Rules on this test's names only, default allow: nothing else that
    // runs is affected.
    let text = format!(
        "default allow # for the test\n\
         own   {base}.mine.*  uid 0\n\
         own   {base}.*       uid 4242   # not root\n\
         send  {base}.mine.x  anyone\n\
         join  {base}.mine.g  gid 0\n"
    );
    let file = TempFile::new("load-policy", text.as_bytes())?;
    let o = ok!(ipcon(&["policy", "load", &file.0]));
    ensure!(o.code() == 0 && o.stdout.is_empty(), "{}", o.show());
    ensure!(
        o.err() == format!("ipcon: policy {} loaded: default allow, 4 rules\n", file.0),
        "{}",
        o.show()
    );
    let want = ok!(Policy::parse(&text).map_err(|e| format!("{e:?}")));
    ensure!(shown_policy()? == want, "show differs from the file");

    // The text form: the file format, aligned, rules numbered.
    let shown = ok!(ipcon(&["policy", "show"])).out();
    let lines: Vec<&str> = shown.lines().collect();
    ensure!(lines.len() == 5 && lines[0] == "default allow", "{shown}");
    for (i, line) in lines[1..].iter().enumerate() {
        ensure!(line.ends_with(&format!("  # rule {}", i + 1)), "{shown}");
    }
    // Loaded again from stdin, it is the same policy.
    let o = ok!(run_with_input(
        "ipcon",
        &["policy", "load", "-"],
        shown.as_bytes()
    ));
    ensure!(o.code() == 0, "{}", o.show());
    ensure!(shown_policy()? == want, "reloaded policy differs");

    // JSON.
    let o = ok!(ipcon(&["policy", "show", "--json"]));
    ensure!(o.code() == 0, "{}", o.show());
    let v = json::parse(&o.out()).map_err(|e| format!("invalid JSON ({e}): {}", o.out()))?;
    ensure!(v.keys() == ["default", "rules"], "{}", o.out());
    ensure!(
        v.get("default").and_then(Value::str) == Some("allow"),
        "{}",
        o.out()
    );
    let rules = v.get("rules").map(Value::items).unwrap_or(&[]);
    ensure!(rules.len() == 4, "{}", o.out());
    let r2 = &rules[1];
    ensure!(
        r2.keys() == ["rule", "action", "pattern", "uid", "gid"],
        "{r2:?}"
    );
    ensure!(r2.get("rule").and_then(Value::num) == Some(2.0), "{r2:?}");
    ensure!(
        r2.get("action").and_then(Value::str) == Some("own"),
        "{r2:?}"
    );
    let pattern = format!("{base}.*");
    ensure!(
        r2.get("pattern").and_then(Value::str) == Some(pattern.as_str()),
        "{r2:?}"
    );
    ensure!(r2.get("uid").and_then(Value::num) == Some(4242.0), "{r2:?}");
    ensure!(r2.get("gid") == Some(&Value::Null), "{r2:?}");
    let r3 = &rules[2];
    ensure!(
        r3.get("uid") == Some(&Value::Null) && r3.get("gid") == Some(&Value::Null),
        "{r3:?}"
    );

    // In force: root may own BASE.mine.*, but BASE.* is uid 4242's only.
    let denied = format!("{base}.other");
    let o = ok!(ipcon(&["serve", &denied]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err()
            == format!(
                "ipcon: service {denied}: denied by the ipcon policy \
                 (as root, 'ipcon policy show' prints it)\n"
            ),
        "{}",
        o.show()
    );
    let mut p = peer()?;
    ok!(p.register_service(&format!("{base}.mine.x")));

    // A malformed file loads nothing: the policy stays as it was.
    let bad = TempFile::new("bad-load", b"default deny\nown x\n")?;
    let o = ok!(ipcon(&["policy", "load", &bad.0]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err()
            == format!(
                "{0}:2: missing WHO after the pattern: anyone, uid N or gid N\n\
                 ipcon: {0}: 1 error, nothing loaded\n",
                bad.0
            ),
        "{}",
        o.show()
    );
    ensure!(
        shown_policy()? == want,
        "a malformed file changed the policy"
    );
    Ok(())
}

fn cli_policy_needs_cap_net_admin() -> TestResult {
    use std::os::unix::process::CommandExt;
    let good = TempFile::new("cap-policy", b"default allow\n")?;
    for args in [
        &["policy", "show"][..],
        &["policy", "show", "--json"],
        &["policy", "clear"],
        &["policy", "load", &good.0],
    ] {
        let o = ok!(std::process::Command::new(crate::cmd::bin("ipcon"))
            .args(args)
            .uid(65534)
            .gid(65534)
            .output());
        let err = String::from_utf8_lossy(&o.stderr);
        ensure!(o.status.code() == Some(1), "{args:?}: {o:?}");
        ensure!(
            err == "ipcon: the ipcon policy can only be loaded, read or cleared with \
                    CAP_NET_ADMIN: run as root\n",
            "{args:?}: {err}"
        );
    }
    // Checking a file needs no privilege.
    let o = ok!(std::process::Command::new(crate::cmd::bin("ipcon"))
        .args(["policy", "check", &good.0])
        .uid(65534)
        .gid(65534)
        .output());
    ensure!(o.status.success(), "{o:?}");
    Ok(())
}
