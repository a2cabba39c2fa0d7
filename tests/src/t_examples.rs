// SPDX-License-Identifier: MIT OR Apache-2.0
//! The crate's examples and the demo script, run as the user would run
//! them, so that they cannot rot: exit status and what they print.

use crate::cmd::{ipcon, run, Bg};
use crate::suite::TestResult;
use crate::{ensure, ok, tests};

tests!(
    example_rpc_server_and_client,
    example_rpc_client_without_server,
    example_pubsub,
    example_watch_peers,
    example_poll_loop,
    example_fixed_buffers,
    example_threaded_server,
    example_tokio_daemon_under_load,
    example_smol_daemon_under_load,
    demo_script,
);

fn example_rpc_server_and_client() -> TestResult {
    let mut server = ok!(Bg::spawn("rpc_server", &["--count", "4"], None));
    server.wait_stdout("rpc_server: serving example.sum on port ")?;
    let client = ok!(Bg::spawn("rpc_client", &["1 2 3", "40 2", "x"], None));
    let client_pid = client.pid();
    let o = client.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    ensure!(
        o.out() == "rpc_client: 1 2 3 = 6\nrpc_client: 40 2 = 42\nrpc_client: x = error: not an integer: x\n",
        "{}",
        o.show()
    );
    // The command-line tool is a client too.
    let c = ok!(ipcon(&["call", "example.sum", "2 2"]));
    ensure!(
        c.code() == 0 && c.out().ends_with(", 1 byte: 4\n"),
        "{}",
        c.show()
    );
    let s = server.finish()?;
    ensure!(s.code() == 0, "{}", s.show());
    let text = s.out();
    ensure!(
        text.contains(&format!("(pid {client_pid}, uid 0): \"1 2 3\" -> \"6\"")),
        "{text}"
    );
    ensure!(text.contains(": \"2 2\" -> \"4\""), "{text}");
    ensure!(text.lines().count() == 5, "{text}");
    Ok(())
}

fn example_rpc_client_without_server() -> TestResult {
    let o = ok!(run("rpc_client", &[]));
    ensure!(o.code() == 1, "{}", o.show());
    ensure!(
        o.err()
            .contains("no service example.sum after 5s: is rpc_server running?"),
        "{}",
        o.show()
    );
    Ok(())
}

fn example_pubsub() -> TestResult {
    let o = ok!(run("pubsub", &[]));
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    for want in [
        "sensor: owns example.temperature",
        "display-1: 21.5 C from port",
        "display-2: 22.1 C from port",
        "late: 22.1 C from port",
        "(retained, replayed on join)",
        "late: 22.4 C from port",
        "display-1: 22.4 C from port",
        "pubsub: every display got its readings",
    ] {
        ensure!(text.contains(want), "no {want:?} in {text}");
    }
    // Each display prints its readings in the order they were published.
    let late: Vec<&str> = text.lines().filter(|l| l.starts_with("late: ")).collect();
    ensure!(late.len() == 2 && late[0].contains("22.1 C"), "{late:?}");
    Ok(())
}

fn example_watch_peers() -> TestResult {
    let o = ok!(run("watch_peers", &[]));
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    let steps = [
        "supervisor: example.worker is up on port ",
        "supervisor: killing the worker with SIGKILL",
        "supervisor: service-removed example.worker",
        "supervisor: peer-gone port ",
        "supervisor: example.worker is back on port ",
    ];
    let lines: Vec<&str> = text.lines().collect();
    ensure!(lines.len() == steps.len(), "{text}");
    for (line, step) in lines.iter().zip(steps) {
        ensure!(line.starts_with(step), "{line:?} is not {step:?}");
    }
    Ok(())
}

fn example_poll_loop() -> TestResult {
    let o = ok!(run("poll_loop", &[]));
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    ensure!(
        text.starts_with("server: example.counter on port "),
        "{text}"
    );
    for i in 0..3 {
        ensure!(
            text.contains(&format!("client {i}: port ")) && text.contains("counted to 3"),
            "{text}"
        );
    }
    let gone = text
        .lines()
        .filter(|l| l.ends_with("gone after 3 requests"))
        .count();
    ensure!(gone == 3, "{text}");
    ensure!(
        text.ends_with("server: all 3 clients served and forgotten\n"),
        "{text}"
    );
    Ok(())
}

fn example_fixed_buffers() -> TestResult {
    let o = ok!(run("fixed_buffers", &[]));
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    for want in [
        "sensor: example.sensor and group example.sensor.readings on port ",
        "display: retained reading 22.1 C",
        "-byte message does not fit 1024 bytes: skipped",
        "display: next reading 22.0 C",
        "list: example.sensor on port ",
        " other services",
    ] {
        ensure!(text.contains(want), "no {want:?} in {text}");
    }
    Ok(())
}

fn example_threaded_server() -> TestResult {
    let o = ok!(run(
        "threaded_server",
        &["--clients", "6", "--requests", "25"]
    ));
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    ensure!(
        text.starts_with("server: example.threads on port "),
        "{text}"
    );
    let right = text
        .lines()
        .filter(|l| l.ends_with(": 25 answers, all right"))
        .count();
    ensure!(right == 6, "{text}");
    ensure!(
        text.ends_with("server: 150 requests from 6 clients answered by two threads\n"),
        "{text}"
    );
    Ok(())
}

/// Clients, and requests each client has in flight at once.
const LOAD_CLIENTS: usize = 16;
const LOAD_EACH: usize = 16;

fn example_tokio_daemon_under_load() -> TestResult {
    daemon_under_load("tokio_daemon", "example.tokio")
}

fn example_smol_daemon_under_load() -> TestResult {
    daemon_under_load("smol_daemon", "example.smol")
}

/// Many concurrent requests to an async daemon whose receive future is
/// cancelled by a timer every 2 ms: every request must be answered, once.
fn daemon_under_load(prog: &str, service: &'static str) -> TestResult {
    let total = LOAD_CLIENTS * LOAD_EACH;
    let mut daemon = ok!(Bg::spawn(prog, &["--count", &total.to_string()], None));
    daemon.wait_stdout(&format!("{prog}: serving {service} on port "))?;
    // Two waves of clients with a pause between them: the daemon's timer
    // then cancels pending receives however fast the machine drains a wave.
    let wave = |first: usize| -> Vec<TestResult> {
        std::thread::scope(|s| {
            let clients: Vec<_> = (first..first + LOAD_CLIENTS / 2)
                .map(|c| s.spawn(move || load_client(service, c)))
                .collect();
            clients
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("a client panicked".into())))
                .collect()
        })
    };
    let mut outcomes = wave(0);
    std::thread::sleep(std::time::Duration::from_millis(30));
    outcomes.extend(wave(LOAD_CLIENTS / 2));
    let failed: Vec<String> = outcomes.into_iter().filter_map(Result::err).collect();
    if !failed.is_empty() {
        daemon.kill();
        return Err(failed.join("; "));
    }
    let o = daemon.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    let summary = format!("{prog}: {total} requests, {total} answered, ");
    let ticks = text
        .lines()
        .find_map(|l| l.strip_prefix(summary.as_str()))
        .and_then(|rest| rest.strip_suffix(" ticks"))
        .and_then(|n| n.parse::<u64>().ok());
    ensure!(ticks.is_some(), "no {summary:?} line in {text}");
    // The timer really did cancel receives while requests came in.
    ensure!(ticks > Some(0), "{text}");
    Ok(())
}

/// Send LOAD_EACH requests at once to `service`, then collect the answers:
/// each exactly once.
fn load_client(service: &str, c: usize) -> TestResult {
    let mut p = crate::suite::peer()?;
    let mut want: std::collections::BTreeSet<String> =
        (0..LOAD_EACH).map(|i| format!("ok {c}.{i}")).collect();
    for i in 0..LOAD_EACH {
        let text = format!("{c}.{i}");
        let deadline = std::time::Instant::now() + crate::suite::WAIT;
        loop {
            match p.send_to_service(service, text.as_bytes()) {
                Ok(()) => break,
                // The daemon's queue is full for a moment: flow control.
                Err(ipcon::Error::QueueFull) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(2))
                }
                Err(e) => return Err(format!("client {c}: send {text}: {e:?}")),
            }
        }
    }
    let mut buf = crate::suite::rxbuf();
    while !want.is_empty() {
        match p.recv_timeout(&mut buf, crate::suite::WAIT) {
            Ok(ipcon::Message::Unicast(m)) => {
                let got = String::from_utf8_lossy(m.data).into_owned();
                ensure!(
                    want.remove(&got),
                    "client {c}: unexpected or repeated {got:?}"
                );
            }
            Ok(other) => return Err(format!("client {c}: unexpected {other:?}")),
            Err(e) => return Err(format!("client {c}: {} answers missing: {e:?}", want.len())),
        }
    }
    Ok(())
}

fn demo_script() -> TestResult {
    // `qemu/run demo` runs this script; here it must simply succeed. It is
    // part of the VM harness, not of the packages: on a device it is absent.
    if !crate::cmd::bin("ipcon-demo").exists() {
        return crate::suite::skip("ipcon-demo (the VM harness's demo script) is not installed");
    }
    let o = ok!(run("ipcon-demo", &[]));
    ensure!(o.code() == 0, "{}", o.show());
    ensure!(o.out().contains("The demo is over"), "{}", o.show());
    Ok(())
}
