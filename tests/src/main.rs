// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ipcon integration suite. It runs inside a VM whose kernel has the
//! ipcon module loaded (see `qemu/run test`), as root, and talks to the real
//! module: no mocks.
//!
//! Output: a human line per test on stdout (or, with `--ptest`, the
//! `PASS: NAME` / `FAIL: NAME` / `SKIP: NAME` lines ptest-runner and oeqa
//! parse, each failure or skip preceded by a line saying why) and, with
//! `--results PATH`, one machine line per test (`@@ test ok NAME`,
//! `@@ test FAIL NAME: why`, `@@ test skip NAME: why`) for the host. `--child ROLE ...` runs one of the helper roles that tests spawn
//! as separate processes (see `child.rs`).

mod child;
mod cmd;
mod json;
mod param;
mod race_roles;
mod raw;
mod suite;
mod t_async;
mod t_badinput;
mod t_cli;
mod t_clib;
mod t_concurrency;
mod t_events;
mod t_examples;
mod t_groups;
mod t_security;
mod t_services;
mod t_system;
mod t_tiny;
mod t_unicast;

use std::io::Write;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        std::process::exit(child::run(&args[2..]));
    }
    let mut results: Option<std::fs::File> = None;
    let mut filter: Option<String> = None;
    let mut list = false;
    let mut prefix = String::new();
    let mut word_bits: Option<u32> = None;
    let mut ptest = false;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--results" if i + 1 < args.len() => {
                i += 1;
                results = Some(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&args[i])
                        .unwrap_or_else(|e| {
                            eprintln!("ipcon-vmtests: cannot open {}: {e}", args[i]);
                            std::process::exit(2)
                        }),
                );
            }
            "--filter" if i + 1 < args.len() => {
                i += 1;
                filter = Some(args[i].clone());
            }
            "--prefix" if i + 1 < args.len() => {
                i += 1;
                prefix = args[i].clone();
            }
            "--word-bits" if i + 1 < args.len() => {
                i += 1;
                word_bits = match args[i].as_str() {
                    "32" => Some(32),
                    "64" => Some(64),
                    other => {
                        eprintln!("ipcon-vmtests: --word-bits takes 32 or 64, not '{other}'");
                        std::process::exit(2)
                    }
                };
            }
            "--list" => list = true,
            "--ptest" => ptest = true,
            "-h" | "--help" => {
                println!(
                    "usage: ipcon-vmtests [--results PATH] [--filter SUBSTR] [--list] \
                     [--prefix P] [--word-bits N] [--ptest]\n\
                     Runs the ipcon integration tests against the loaded module (as root).\n\
                     --ptest prints ptest-runner's PASS:/FAIL:/SKIP: lines (run-ptest uses it)."
                );
                return;
            }
            other => {
                eprintln!("ipcon-vmtests: unknown argument '{other}' (see --help)");
                std::process::exit(2);
            }
        }
        i += 1;
    }

    let mut tests = suite::all();
    if let Some(bits) = word_bits {
        tests.insert(0, word_size_test(bits));
    }
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for t in tests
        .iter()
        .filter(|t| filter.as_deref().is_none_or(|f| t.name.contains(f)))
    {
        if list {
            println!("{prefix}{}", t.name);
            continue;
        }
        let name = format!("{prefix}{}", t.name);
        let start = Instant::now();
        let outcome = std::panic::catch_unwind(t.run).unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "panic".into());
            Err(format!("panicked: {what}"))
        });
        let ms = start.elapsed().as_millis();
        let verdict = match &outcome {
            Ok(()) => Verdict::Pass,
            Err(why) if why.starts_with(suite::SKIP) => Verdict::Skip(&why[suite::SKIP.len()..]),
            Err(why) => Verdict::Fail(why),
        };
        match verdict {
            Verdict::Pass => passed += 1,
            Verdict::Skip(_) => skipped += 1,
            Verdict::Fail(_) => failed += 1,
        }
        verdict.print(&name, ms, ptest);
        if let Some(f) = results.as_mut() {
            // A failed write to the results port must not pass silently.
            if let Err(e) = writeln!(f, "{}", verdict.result_line(&name)) {
                eprintln!("ipcon-vmtests: results port: {e}");
                std::process::exit(3);
            }
        }
        let _ = std::io::stdout().flush();
    }
    if !list {
        let summary = format!("{passed} passed, {failed} failed, {skipped} skipped");
        if ptest {
            println!("ipcon-vmtests: {summary}");
        } else {
            println!("{summary}");
        }
    }
    std::process::exit(if failed == 0 { 0 } else { 1 });
}

/// What became of one test.
enum Verdict<'a> {
    Pass,
    Fail(&'a str),
    Skip(&'a str),
}

impl Verdict<'_> {
    /// The stdout line(s): human, or ptest-runner's format with the reason
    /// on the line before (ptest names must not carry it).
    fn print(&self, name: &str, ms: u128, ptest: bool) {
        match (self, ptest) {
            (Verdict::Pass, false) => println!("ok   {name} ({ms} ms)"),
            (Verdict::Fail(why), false) => println!("FAIL {name} ({ms} ms): {why}"),
            (Verdict::Skip(why), false) => println!("skip {name}: {why}"),
            (Verdict::Pass, true) => println!("PASS: {name}"),
            (Verdict::Fail(why), true) => {
                println!("ipcon-vmtests: {name} failed ({ms} ms): {}", one_line(why));
                println!("FAIL: {name}");
            }
            (Verdict::Skip(why), true) => {
                println!("ipcon-vmtests: {name} skipped: {}", one_line(why));
                println!("SKIP: {name}");
            }
        }
    }

    /// The `--results` line for the host.
    fn result_line(&self, name: &str) -> String {
        match self {
            Verdict::Pass => format!("@@ test ok {name}"),
            Verdict::Fail(why) => format!("@@ test FAIL {name}: {}", one_line(why)),
            Verdict::Skip(why) => format!("@@ test skip {name}: {}", one_line(why)),
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " | ")
}

/// The `word_size` test: this process has `bits`-bit pointers.
fn word_size_test(bits: u32) -> suite::Test {
    fn check(expected: u32) -> Result<(), String> {
        let have = usize::BITS;
        if have == expected {
            Ok(())
        } else {
            Err(format!(
                "this is a {have}-bit build ({}), the run expected {expected}-bit",
                std::env::consts::ARCH
            ))
        }
    }
    fn is_32() -> Result<(), String> {
        check(32)
    }
    fn is_64() -> Result<(), String> {
        check(64)
    }
    suite::Test {
        name: "word_size",
        run: if bits == 32 { is_32 } else { is_64 },
    }
}
