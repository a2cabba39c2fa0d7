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
use ipcon::{GroupFlags, JoinFlags, Message, PAYLOAD_MAX};

tests!(
    cli_help_for_every_command,
    cli_usage_errors,
    cli_list_table,
    cli_list_json,
    cli_resolve,
    cli_send_by_name_port_stdin_and_file,
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
);

const COMMANDS: [&str; 9] = [
    "list", "resolve", "send", "call", "serve", "publish", "listen", "monitor", "help",
];

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
    ensure!(s.get("port").and_then(Value::num) == Some(port), "{s:?}");
    ensure!(s.get("pid").and_then(Value::num) == Some(pid), "{s:?}");
    ensure!(
        s.get("process").and_then(Value::str) == Some("ipcon-vmtests"),
        "{s:?}"
    );
    let g = named("groups", &f.grp).ok_or("group missing from the JSON")?;
    ensure!(g.get("owner").and_then(Value::num) == Some(port), "{g:?}");
    ensure!(g.get("members").and_then(Value::num) == Some(1.0), "{g:?}");
    ensure!(g.get("retain") == Some(&Value::Bool(true)), "{g:?}");
    ensure!(
        g.keys() == ["name", "owner", "members", "retain", "pid", "process"],
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
    ensure!(o.out() == format!("{}\n", p.port()), "{}", o.show());

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
fn pong_server(n: usize) -> Result<(String, u32, std::thread::JoinHandle<TestResult>), String> {
    let mut p = peer()?;
    let name = uniq("pong");
    ok!(p.register_service(&name));
    let port = p.port();
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
    Ok((name, port, h))
}

fn cli_call_prints_the_reply() -> TestResult {
    let (name, port, server) = pong_server(4)?;
    let pid = std::process::id();
    let o = ok!(ipcon(&["call", &name, "ping"]));
    ensure!(o.code() == 0, "{}", o.show());
    ensure!(
        o.out()
            == format!("from port {port} (pid {pid}, uid 0, service {name}), 9 bytes: pong:ping\n"),
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
    let from = format!("from port {} (pid {pid}, uid 0)", c.port());
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
        "{grp}: from port {} (pid {}, uid 0)",
        owner.port(),
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
    let (svc, grp) = (uniq("msvc"), uniq("mgrp"));
    ok!(p.register_service(&svc));
    ok!(p.register_group(&grp, GroupFlags::NONE));
    ok!(p.unregister_service(&svc));
    drop(p);
    let want = [
        format!("service-added {svc} port {port}"),
        format!("group-added {grp} port {port}"),
        format!("service-removed {svc} port {port}"),
        format!("group-removed {grp} port {port}"),
        format!("peer-gone port {port}"),
    ];
    mon.wait_stdout(&want[4])?;
    let text = mon.stdout();
    mon.kill();
    // Our events, in order, each line "TIME EVENT ...".
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(&svc) || l.contains(&grp) || l.ends_with(&format!("port {port}")))
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
        ensure!(v.keys() == ["time", "event", "port", "name"], "{line}");
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
    for args in [&["list"][..], &["resolve", "x"], &["monitor"]] {
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
