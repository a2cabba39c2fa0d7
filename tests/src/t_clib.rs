// SPDX-License-Identifier: MIT OR Apache-2.0
//! libipcon, the C library: its C test program (every function, the error
//! paths included; linked with the shared and with the static library)
//! and its C examples, run as a C programmer would run them. The C
//! programs are built against the installed library (its header and
//! pkg-config file) by the harness and by the libipcon recipe.

use crate::cmd::{ipcon, run, Bg};
use crate::suite::{peer, uniq, TestResult};
use crate::{ensure, ok, tests};

tests!(
    c_library_test_shared,
    c_library_test_static,
    c_example_rpc_server_and_clients,
    c_example_pubsub_late_joiner,
    c_example_watch_peers,
);

/// What the C test printed: every check passed, and all of them ran.
fn c_test(o: crate::cmd::Output) -> TestResult {
    let text = o.out();
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("not ok")).collect();
    ensure!(failed.is_empty(), "{}", failed.join("\n"));
    ensure!(o.code() == 0, "{}", o.show());
    let passed = text.lines().filter(|l| l.starts_with("ok - ")).count();
    // Every check of the program ran (148 as root; the policy ones need
    // root, and the suite runs as root).
    ensure!(passed >= 148, "only {passed} checks passed:\n{text}");
    ensure!(
        text.ends_with(&format!("# {passed} passed, 0 failed\n")),
        "{text}"
    );
    Ok(())
}

// (The paths where libipcon-ptest installs them, written out for
// qemu/lib/guest_userland.py, which checks what the suite runs.)
fn c_library_test_shared() -> TestResult {
    c_test(ok!(run("/usr/lib/libipcon/ptest/ipcon-c-test", &[])))
}

fn c_library_test_static() -> TestResult {
    c_test(ok!(run("/usr/lib/libipcon/ptest/ipcon-c-test-static", &[])))
}

fn c_example_rpc_server_and_clients() -> TestResult {
    let mut server = ok!(Bg::spawn("rpc_server_c", &["--count", "5"], None));
    server.wait_stdout("rpc_server_c: serving example.sum on port ")?;
    let client = ok!(run("rpc_client_c", &["1 2 3", "40 2", "x"]));
    ensure!(client.code() == 0, "{}", client.show());
    ensure!(
        client.out()
            == "rpc_client_c: 1 2 3 = 6\nrpc_client_c: 40 2 = 42\nrpc_client_c: x = error: not an integer: x\n",
        "{}",
        client.show()
    );
    // The same protocol as the Rust examples: the Rust client and the
    // command-line tool talk to the C server.
    let rust = ok!(run("rpc_client", &["5 5"]));
    ensure!(
        rust.code() == 0 && rust.out() == "rpc_client: 5 5 = 10\n",
        "{}",
        rust.show()
    );
    let tool = ok!(ipcon(&["call", "example.sum", "2 2"]));
    ensure!(
        tool.code() == 0 && tool.out().ends_with(", 1 byte: 4\n"),
        "{}",
        tool.show()
    );
    let s = server.finish()?;
    ensure!(s.code() == 0, "{}", s.show());
    let text = s.out();
    ensure!(text.contains(": \"1 2 3\" -> \"6\""), "{text}");
    ensure!(text.contains(": \"5 5\" -> \"10\""), "{text}");
    ensure!(text.contains(": \"2 2\" -> \"4\""), "{text}");
    ensure!(text.lines().count() == 6, "{text}");
    let o = ok!(run("rpc_client_c", &["1"]));
    ensure!(
        o.code() == 1 && o.err().contains("no service example.sum after 5s"),
        "{}",
        o.show()
    );
    Ok(())
}

fn c_example_pubsub_late_joiner() -> TestResult {
    let o = ok!(run("pubsub_c", &[]));
    ensure!(o.code() == 0, "{}", o.show());
    let lines: Vec<String> = o.out().lines().map(str::to_string).collect();
    ensure!(lines.len() == 2, "{}", o.show());
    ensure!(
        lines[0].starts_with("pubsub_c: example.c.readings from port ")
            && lines[0].ends_with(" (retained): 22.0"),
        "{}",
        lines[0]
    );
    ensure!(
        lines[1].ends_with(": 22.5") && !lines[1].contains("retained"),
        "{}",
        lines[1]
    );
    Ok(())
}

fn c_example_watch_peers() -> TestResult {
    let mut w = ok!(Bg::spawn("watch_peers_c", &["--count", "3"], None));
    w.wait_stdout("watch_peers_c: watching as port ")?;
    let name = uniq("cwatch");
    let (port, id) = {
        let mut p = peer()?;
        ok!(p.register_service(&name));
        (p.port(), p.id())
    };
    let o = w.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    let text = o.out();
    for want in [
        format!("watch_peers_c: service-added {name} port {port} id {id} uid "),
        format!("watch_peers_c: service-removed {name} port {port} id {id} uid "),
        format!("watch_peers_c: peer-gone - port {port} id {id} uid "),
    ] {
        ensure!(text.contains(&want), "no {want:?} in {text}");
    }
    Ok(())
}
