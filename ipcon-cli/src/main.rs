// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ipcon`: the command-line tool. List, resolve, send, call, serve,
//! publish, listen and monitor from a shell, and load, show and check the
//! security policy; see `ipcon --help`.
//!
//! Built on the public API of the `ipcon` crate only, with no other
//! dependency (it runs on small devices whose build vendors every crate).
//! Every failure becomes an "ipcon: ..." line on stderr and a documented
//! exit status ([`error`]); nothing panics on bad input.

mod args;
mod error;
mod group;
mod help;
mod input;
mod json;
mod list;
mod monitor;
mod output;
mod policy;
mod procinfo;
mod unicast;

use std::ffi::{OsStr, OsString};
use std::process::ExitCode;

use ipcon::Peer;

use args::{parse, show, Parsed};
use error::{CliError, Context, Subject};
use output::Out;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

fn run(args: &[OsString]) -> Result<(), CliError> {
    let Some(cmd) = args.first() else {
        // The overview, on stderr: the command line was not complete.
        let _ = std::io::Write::write_all(&mut std::io::stderr(), help::MAIN.as_bytes());
        return Err(CliError::usage("", "missing COMMAND"));
    };
    let rest = &args[1..];
    match cmd.to_str().unwrap_or("") {
        "list" | "ls" => list::list(rest),
        "resolve" => list::resolve(rest),
        "send" => unicast::send(rest),
        "call" => unicast::call(rest),
        "serve" => unicast::serve(rest),
        "publish" | "pub" => group::publish(rest),
        "listen" | "sub" => group::listen(rest),
        "monitor" => monitor::monitor(rest),
        "policy" => policy::policy(rest),
        "help" => {
            let p = parse("help", &[], rest)?;
            if p.flag("help") {
                return help("help");
            }
            match p.operands(0, 1, "")?.first() {
                None => Out::new().bytes(help::MAIN.as_bytes()),
                Some(c) => match help::command(c.to_str().unwrap_or("")) {
                    Some(text) => Out::new().bytes(text.as_bytes()),
                    None => Err(CliError::usage(
                        "",
                        format!("no help for unknown command '{}'", show(c)),
                    )),
                },
            }
        }
        "-h" | "--help" => Out::new().bytes(help::MAIN.as_bytes()),
        "-V" | "--version" => Out::new().line(concat!("ipcon ", env!("CARGO_PKG_VERSION"))),
        _ => Err(CliError::usage(
            "",
            format!("unknown command '{}'", show(cmd)),
        )),
    }
}

/// Print the help of `cmd` to stdout.
fn help(cmd: &str) -> Result<(), CliError> {
    match help::command(cmd) {
        Some(text) => Out::new().bytes(text.as_bytes()),
        None => Err(CliError::usage("", format!("unknown command '{cmd}'"))),
    }
}

/// Open a peer.
fn open() -> Result<Peer, CliError> {
    Peer::open().about(Subject::Peer)
}

/// A service or group name from the command line, validated (`kind` is
/// "service" or "group", for the message).
fn name_arg(p: &Parsed, arg: &OsStr, kind: &str) -> Result<String, CliError> {
    match arg.to_str() {
        Some(name) if ipcon::name::validate(name).is_ok() => Ok(name.to_string()),
        _ => Err(p.usage(format!(
            "invalid {kind} name '{}': use 1 to {} characters from A-Z a-z 0-9 . _ : -",
            show(arg),
            ipcon::NAME_MAX
        ))),
    }
}

/// Where `send` and `call` go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TargetArg {
    Port(u32),
    Service(String),
    Id(u64),
}

impl TargetArg {
    fn target(&self) -> ipcon::Target<'_> {
        match self {
            TargetArg::Port(p) => ipcon::Target::Port(*p),
            TargetArg::Service(s) => ipcon::Target::Service(s),
            TargetArg::Id(id) => ipcon::Target::Id(*id),
        }
    }

    fn subject(&self) -> Subject<'_> {
        match self {
            TargetArg::Port(p) => Subject::Port(*p),
            TargetArg::Service(s) => Subject::Service(s),
            TargetArg::Id(id) => Subject::Id(*id),
        }
    }
}

/// The options that say what TARGET is.
const TARGET_OPTS: [args::Opt; 2] = [args::flag("name", Some(b'n')), args::flag("id", Some(b'i'))];

/// TARGET: a peer id with `--id`; a port if all digits (unless `--name`),
/// else a service name.
fn target_arg(p: &Parsed, arg: &OsStr) -> Result<TargetArg, CliError> {
    let s = arg.to_str().unwrap_or("");
    let digits = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if p.flag("id") {
        if p.flag("name") {
            return Err(p.usage("--id and --name exclude each other".into()));
        }
        return s
            .parse()
            .ok()
            .filter(|_| digits)
            .map(TargetArg::Id)
            .ok_or_else(|| {
                p.usage(format!(
                    "invalid peer id '{}': ids are whole numbers up to {}",
                    show(arg),
                    u64::MAX
                ))
            });
    }
    if !p.flag("name") && digits {
        return s.parse().map(TargetArg::Port).map_err(|_| {
            p.usage(format!(
                "invalid port '{}': ports are 0 to {}",
                show(arg),
                u32::MAX
            ))
        });
    }
    name_arg(p, arg, "service").map(TargetArg::Service)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(a: &[&str]) -> Parsed {
        let a: Vec<OsString> = a.iter().map(OsString::from).collect();
        parse("send", &TARGET_OPTS, &a).unwrap()
    }

    #[test]
    fn targets() {
        let p = parsed(&[]);
        let t = |s: &str| target_arg(&p, OsStr::new(s));
        assert_eq!(t("4242").unwrap(), TargetArg::Port(4242));
        assert_eq!(t("4294967295").unwrap(), TargetArg::Port(u32::MAX));
        assert_eq!(t("4294967296").unwrap_err().code, error::USAGE);
        assert_eq!(t("99999999999999999999").unwrap_err().code, error::USAGE);
        assert_eq!(
            t("demo.echo").unwrap(),
            TargetArg::Service("demo.echo".into())
        );
        assert_eq!(t("12a").unwrap(), TargetArg::Service("12a".into()));
        assert_eq!(t("").unwrap_err().code, error::USAGE);
        assert_eq!(t("a b").unwrap_err().code, error::USAGE);
        assert_eq!(t(&"a".repeat(64)).unwrap_err().code, error::USAGE);
        let p = parsed(&["--name"]);
        assert_eq!(
            target_arg(&p, OsStr::new("42")).unwrap(),
            TargetArg::Service("42".into())
        );
        let p = parsed(&["--id"]);
        let t = |s: &str| target_arg(&p, OsStr::new(s));
        assert_eq!(t("42").unwrap(), TargetArg::Id(42));
        assert_eq!(t("18446744073709551615").unwrap(), TargetArg::Id(u64::MAX));
        for bad in ["18446744073709551616", "x", "", "+1", "-1", "1 "] {
            assert_eq!(t(bad).unwrap_err().code, error::USAGE, "{bad}");
        }
        let p = parsed(&["--id", "-n"]);
        assert_eq!(
            target_arg(&p, OsStr::new("1")).unwrap_err().code,
            error::USAGE
        );
    }

    #[test]
    fn commands_and_usage_errors() {
        let run = |a: &[&str]| {
            let a: Vec<OsString> = a.iter().map(OsString::from).collect();
            run(&a)
        };
        for bad in [
            &[][..],
            &["nope"],
            &["list", "nope"],
            &["list", "a", "b"],
            &["resolve"],
            &["resolve", "bad name"],
            &["send", "x"],
            &["send", "x", "m", "extra"],
            &["send", "--file", "/nonexistent", "x"],
            &["send", "--file", "/", "x"],
            &["send", "-f", "/dev/null", "x", "m"],
            &["call", "--timeout", "x", "a", "m"],
            &["call", "--hex", "--raw", "a", "m"],
            &["serve"],
            &["serve", "--count", "0", "a"],
            &["publish", "g"],
            &["publish", "--lines", "g", "m"],
            &["listen"],
            &["listen", "g", "g"],
            &["monitor", "x"],
            &["send", "--id", "x", "m"],
            &["send", "--id", "--name", "1", "m"],
            &["resolve", "--json"],
            &["policy"],
            &["policy", "nope"],
            &["policy", "load"],
            &["policy", "check"],
            &["policy", "check", "a", "b"],
            &["policy", "show", "x"],
            &["policy", "clear", "x"],
            &["policy", "load", "--json", "f"],
            &["policy", "check", "/nonexistent/policy"],
            &["policy", "check", "/"],
            &["help", "nope"],
        ] {
            let e = run(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad:?} succeeded"));
            assert_eq!(e.code, error::USAGE, "{bad:?}: {:?}", e.msg);
        }
        let big = "x".repeat(ipcon::PAYLOAD_MAX + 1);
        assert_eq!(run(&["send", "a", &big]).unwrap_err().code, error::USAGE);
    }
}
