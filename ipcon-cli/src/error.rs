// SPDX-License-Identifier: MIT OR Apache-2.0
//! Errors a shell user can act on, and the exit codes (documented in
//! `ipcon --help` and the README).

use std::io::Write;
use std::process::ExitCode;

use ipcon::{Error, RecvError};

/// The operation failed: no such service or group, name taken, not the
/// owner, peer gone, queue full, denied by the policy, a per-user limit,
/// a malformed policy file, any other kernel or system error.
pub const FAILED: u8 = 1;
/// Usage error: unknown command or option, missing or extra argument,
/// invalid name, port or number, message too large, unreadable file.
pub const USAGE: u8 = 2;
/// The ipcon kernel module is not loaded.
pub const NOT_LOADED: u8 = 3;
/// Timed out: no reply to `call`, or nothing arrived within `--timeout`.
pub const TIMED_OUT: u8 = 4;

/// Why a command ends without success.
#[derive(Debug)]
pub struct CliError {
    /// The exit status.
    pub code: u8,
    /// What to print after "ipcon: "; `None` to exit without a word
    /// (stdout is a closed pipe: the reader has all it wanted).
    pub msg: Option<String>,
}

impl CliError {
    /// A failed operation (exit status 1).
    pub fn failed(msg: impl Into<String>) -> Self {
        CliError {
            code: FAILED,
            msg: Some(msg.into()),
        }
    }

    /// A usage error of command `cmd` (exit status 2).
    pub fn usage(cmd: &str, msg: impl Into<String>) -> Self {
        let hint = if cmd.is_empty() {
            "see 'ipcon --help'".to_string()
        } else {
            format!("see 'ipcon {cmd} --help'")
        };
        CliError {
            code: USAGE,
            msg: Some(format!("{} ({hint})", msg.into())),
        }
    }

    /// A time-out (exit status 4).
    pub fn timed_out(msg: impl Into<String>) -> Self {
        CliError {
            code: TIMED_OUT,
            msg: Some(msg.into()),
        }
    }

    /// Stdout was closed by its reader: stop quietly, successfully.
    pub fn quiet() -> Self {
        CliError { code: 0, msg: None }
    }

    /// An error of the ipcon library, explained for a shell user; `what`
    /// is the object of the operation.
    pub fn ipc(e: Error, what: &Subject<'_>) -> Self {
        let failed = |m: String| CliError::failed(m);
        match e {
            Error::NotLoaded => CliError {
                code: NOT_LOADED,
                msg: Some("module not loaded - run 'modprobe ipcon' (as root)".into()),
            },
            Error::InvalidName => CliError {
                code: USAGE,
                msg: Some(format!(
                    "invalid name for {what}: use 1 to {} characters from A-Z a-z 0-9 . _ : -",
                    ipcon::NAME_MAX
                )),
            },
            Error::PayloadTooLarge => CliError {
                code: USAGE,
                msg: Some(format!(
                    "message too large: at most {} bytes",
                    ipcon::PAYLOAD_MAX
                )),
            },
            Error::Recv(RecvError::TimedOut) => {
                CliError::timed_out(format!("timed out waiting for {what}"))
            }
            Error::NameTaken => failed(format!("{what} is already registered")),
            Error::NoSuchService | Error::NoSuchGroup => failed(match what {
                Subject::Service(n) => format!("no such service: {n}"),
                Subject::Group(n) => format!("no such group: {n}"),
                other => format!("no such {other}"),
            }),
            Error::NotOwner => failed(format!(
                "{what} belongs to another peer: only its owner can do that"
            )),
            Error::Denied => failed(format!(
                "{what}: denied by the ipcon policy (as root, 'ipcon policy show' prints it)"
            )),
            Error::LimitReached => failed(format!(
                "{what}: a per-user limit of the ipcon module is reached: free services, \
                 groups, memberships or retained messages, or raise the limit in \
                 /sys/module/ipcon/parameters/"
            )),
            Error::NotPermitted => failed(
                "the ipcon policy can only be loaded, read or cleared with CAP_NET_ADMIN: \
                 run as root"
                    .to_string(),
            ),
            Error::TooManyRules => failed(format!(
                "{what}: too many rules, a policy has at most {}",
                ipcon::policy::RULES_MAX
            )),
            Error::PeerGone => failed(format!(
                "{what} is not a live ipcon peer (it exited, or never was one)"
            )),
            Error::QueueFull => failed(format!(
                "the receive queue of {what} is full, nothing was delivered: retry later"
            )),
            Error::Protocol(why) => failed(format!(
                "unexpected data from the kernel ({why}): are the module and this tool \
                 of the same ipcon version?"
            )),
            other => failed(format!("{what}: {other}")),
        }
    }

    /// Print the message (if any) to stderr and give the exit code.
    pub fn report(self) -> ExitCode {
        if let Some(msg) = &self.msg {
            // Nothing sensible is left to do if stderr is gone too.
            let _ = writeln!(std::io::stderr(), "ipcon: {msg}");
        }
        ExitCode::from(self.code)
    }
}

/// Print a note (not an error) to stderr: "ipcon: MSG".
pub fn note(msg: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr(), "ipcon: {msg}");
}

/// The object of an operation, for error messages.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A service name.
    Service(&'a str),
    /// A group name.
    Group(&'a str),
    /// A peer's port.
    Port(u32),
    /// A peer's id.
    Id(u64),
    /// The policy of the network namespace.
    Policy,
    /// The tool's own peer (opening it, subscribing, receiving).
    Peer,
}

impl std::fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Service(n) => write!(f, "service {n}"),
            Subject::Group(n) => write!(f, "group {n}"),
            Subject::Port(p) => write!(f, "port {p}"),
            Subject::Id(id) => write!(f, "peer id {id}"),
            Subject::Policy => f.write_str("the policy"),
            Subject::Peer => f.write_str("the ipcon peer"),
        }
    }
}

/// Shorthand: turn a library error into a [`CliError`] about a subject.
pub trait Context<T> {
    /// Attach the object of the operation.
    fn about(self, what: Subject<'_>) -> Result<T, CliError>;
}

impl<T> Context<T> for Result<T, Error> {
    fn about(self, what: Subject<'_>) -> Result<T, CliError> {
        self.map_err(|e| CliError::ipc(e, &what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_has_a_code_and_words() {
        let all = [
            (Error::NotLoaded, NOT_LOADED, "modprobe ipcon"),
            (Error::InvalidName, USAGE, "invalid name for group x"),
            (Error::PayloadTooLarge, USAGE, "65536"),
            (Error::Recv(RecvError::TimedOut), TIMED_OUT, "timed out"),
            (Error::NameTaken, FAILED, "group x is already registered"),
            (Error::NoSuchService, FAILED, "no such group: x"),
            (Error::NoSuchGroup, FAILED, "no such group: x"),
            (Error::NotOwner, FAILED, "only its owner"),
            (Error::PeerGone, FAILED, "not a live ipcon peer"),
            (Error::QueueFull, FAILED, "retry later"),
            (Error::Denied, FAILED, "group x: denied by the ipcon policy"),
            (Error::LimitReached, FAILED, "/sys/module/ipcon/parameters"),
            (Error::NotPermitted, FAILED, "CAP_NET_ADMIN"),
            (Error::TooManyRules, FAILED, "at most 512"),
            (
                Error::Protocol(ipcon::ProtocolError::BadLength),
                FAILED,
                "same ipcon version",
            ),
            (
                Error::Io(ipcon::Errno::ACCESS),
                FAILED,
                "group x: system call failed",
            ),
        ];
        for (e, code, words) in all {
            let c = CliError::ipc(e, &Subject::Group("x"));
            assert_eq!(c.code, code, "{e:?}");
            let msg = c.msg.unwrap();
            assert!(msg.contains(words), "{e:?}: {msg}");
        }
        let c = CliError::ipc(Error::NoSuchService, &Subject::Service("foo"));
        assert_eq!(c.msg.unwrap(), "no such service: foo");
        let c = CliError::ipc(Error::PeerGone, &Subject::Port(42));
        assert!(c.msg.unwrap().starts_with("port 42 is not a live"));
        let c = CliError::ipc(Error::PeerGone, &Subject::Id(7));
        assert!(c.msg.unwrap().starts_with("peer id 7 is not a live"));
        let u = CliError::usage("send", "missing TARGET");
        assert_eq!(u.msg.unwrap(), "missing TARGET (see 'ipcon send --help')");
        assert_eq!(CliError::quiet().msg, None);
    }
}
