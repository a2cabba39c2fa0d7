// SPDX-License-Identifier: MIT OR Apache-2.0
//! A small command-line parser (no dependencies): GNU-style options given
//! anywhere among the operands, `--opt VALUE`, `--opt=VALUE`, `-o VALUE`,
//! `--` ends the options, and `-` alone is an operand (stdin).
//!
//! Arguments stay `OsString`s: a message given as an argument may be any
//! bytes, and nothing here panics on input that is not UTF-8.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use crate::error::CliError;

/// One option a command accepts.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    /// Long name without the dashes.
    pub long: &'static str,
    /// Short name, if any.
    pub short: Option<u8>,
    /// Whether it takes a value.
    pub value: bool,
}

/// An option without a value.
pub const fn flag(long: &'static str, short: Option<u8>) -> Opt {
    Opt {
        long,
        short,
        value: false,
    }
}

/// An option with a value.
pub const fn valued(long: &'static str, short: Option<u8>) -> Opt {
    Opt {
        long,
        short,
        value: true,
    }
}

/// The parsed command line of one command.
pub struct Parsed {
    cmd: &'static str,
    opts: Vec<(&'static str, OsString)>,
    /// The operands, in order.
    pub operands: Vec<OsString>,
}

/// Parse `args` (after the command name) against `spec`. `-h`/`--help`
/// is always accepted (check it with `flag("help")`).
pub fn parse(cmd: &'static str, spec: &[Opt], args: &[OsString]) -> Result<Parsed, CliError> {
    let mut p = Parsed {
        cmd,
        opts: Vec::new(),
        operands: Vec::new(),
    };
    let mut i = 0;
    let mut only_operands = false;
    while i < args.len() {
        let arg = args[i].as_bytes();
        i += 1;
        if only_operands || arg == b"-" || !arg.starts_with(b"-") {
            p.operands.push(OsStr::from_bytes(arg).to_owned());
            continue;
        }
        if arg == b"--" {
            only_operands = true;
            continue;
        }
        if arg == b"-h" || arg == b"--help" {
            p.opts.push(("help", OsString::new()));
            continue;
        }
        let (opt, inline) = if let Some(long) = arg.strip_prefix(b"--") {
            let (name, inline) = match long.iter().position(|&b| b == b'=') {
                Some(eq) => (&long[..eq], Some(&long[eq + 1..])),
                None => (long, None),
            };
            let opt = spec.iter().find(|o| o.long.as_bytes() == name);
            (opt, inline)
        } else {
            // "-x" or "-xVALUE".
            let opt = spec.iter().find(|o| o.short == Some(arg[1]));
            let rest = &arg[2..];
            match opt {
                Some(o) if o.value && !rest.is_empty() => (opt, Some(rest)),
                Some(_) if !rest.is_empty() => (None, None),
                _ => (opt, None),
            }
        };
        let Some(opt) = opt else {
            return Err(CliError::usage(
                cmd,
                format!("unknown option '{}'", show(OsStr::from_bytes(arg))),
            ));
        };
        let value = match (opt.value, inline) {
            (false, None) => OsString::new(),
            (false, Some(_)) => {
                return Err(CliError::usage(
                    cmd,
                    format!("option --{} takes no value", opt.long),
                ))
            }
            (true, Some(v)) => OsStr::from_bytes(v).to_owned(),
            (true, None) => match args.get(i) {
                Some(v) => {
                    i += 1;
                    v.clone()
                }
                None => {
                    return Err(CliError::usage(
                        cmd,
                        format!("option --{} needs a value", opt.long),
                    ))
                }
            },
        };
        p.opts.push((opt.long, value));
    }
    Ok(p)
}

impl Parsed {
    /// Whether the option was given.
    pub fn flag(&self, long: &str) -> bool {
        self.opts.iter().any(|(l, _)| *l == long)
    }

    /// The option's value (the last one if given several times).
    pub fn value(&self, long: &str) -> Option<&OsStr> {
        self.opts
            .iter()
            .rev()
            .find(|(l, _)| *l == long)
            .map(|(_, v)| v.as_os_str())
    }

    /// The option's value as a number of at least 1.
    pub fn count(&self, long: &str) -> Result<Option<u64>, CliError> {
        let Some(v) = self.value(long) else {
            return Ok(None);
        };
        match v.to_str().and_then(|s| s.parse::<u64>().ok()) {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(self.usage(format!(
                "--{long} takes a whole number of at least 1, not '{}'",
                show(v)
            ))),
        }
    }

    /// The option's value as a duration (see [`duration`]).
    pub fn duration(&self, long: &str) -> Result<Option<Duration>, CliError> {
        let Some(v) = self.value(long) else {
            return Ok(None);
        };
        match v.to_str().and_then(duration) {
            Some(d) => Ok(Some(d)),
            None => Err(self.usage(format!(
                "--{long} takes seconds such as 5, 0.5, 2s or 500ms, not '{}'",
                show(v)
            ))),
        }
    }

    /// The operands, checking that there are between `min` and `max`;
    /// `what` names them for the error message ("NAME", "GROUP...").
    pub fn operands(&self, min: usize, max: usize, what: &str) -> Result<&[OsString], CliError> {
        let n = self.operands.len();
        if n < min {
            return Err(self.usage(format!("missing {what}")));
        }
        if n > max {
            let extra = &self.operands[max];
            return Err(self.usage(format!("unexpected argument '{}'", show(extra))));
        }
        Ok(&self.operands)
    }

    /// A usage error of this command.
    pub fn usage(&self, msg: String) -> CliError {
        CliError::usage(self.cmd, msg)
    }
}

/// Parse a duration: seconds as a decimal number (`5`, `0.5`), or with a
/// unit suffix `s` or `ms`. Negative, non-finite and absurdly large values
/// are rejected.
pub fn duration(s: &str) -> Option<Duration> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    // Only plain decimals: f64's parser would also take "inf" or "1e9".
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let secs = num.parse::<f64>().ok()? * scale;
    if secs > 1e9 {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// An argument for an error message: lossy UTF-8, control characters
/// escaped, at most 80 characters.
pub fn show(s: &OsStr) -> String {
    let mut out = String::new();
    crate::output::escape_into(&mut out, s.as_bytes());
    if out.len() > 80 {
        let mut cut = 77;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Opt] = &[
        flag("hex", None),
        valued("file", Some(b'f')),
        valued("timeout", None),
    ];

    fn args(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn options_anywhere_and_operands() {
        let p = parse(
            "send",
            SPEC,
            &args(&[
                "a",
                "--hex",
                "-f",
                "x",
                "--timeout=2",
                "b",
                "--",
                "--hex",
                "-",
            ]),
        )
        .unwrap();
        assert!(p.flag("hex"));
        assert_eq!(p.value("file"), Some(OsStr::new("x")));
        assert_eq!(p.duration("timeout").unwrap(), Some(Duration::from_secs(2)));
        assert_eq!(p.operands, args(&["a", "b", "--hex", "-"]));
        let p = parse("send", SPEC, &args(&["-fy", "-"])).unwrap();
        assert_eq!(p.value("file"), Some(OsStr::new("y")));
        assert_eq!(p.operands, args(&["-"]));
        assert!(parse("send", SPEC, &args(&["-h"])).unwrap().flag("help"));
    }

    #[test]
    fn usage_errors() {
        for bad in [
            &["--nope"][..],
            &["-x"],
            &["--hex=1"],
            &["--file"],
            &["-f"],
            &["-hx"],
        ] {
            let e = parse("send", SPEC, &args(bad)).err().unwrap();
            assert_eq!(e.code, crate::error::USAGE, "{bad:?}");
        }
        let p = parse("send", SPEC, &args(&["--timeout", "soon"])).unwrap();
        assert!(p.duration("timeout").is_err());
        let p = parse("send", SPEC, &args(&["a", "b"])).unwrap();
        assert!(p.operands(1, 1, "NAME").is_err());
        assert!(p.operands(3, 3, "NAME").is_err());
        assert_eq!(p.operands(1, 2, "NAME").unwrap().len(), 2);
    }

    #[test]
    fn durations() {
        assert_eq!(duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(duration("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(duration("0"), Some(Duration::ZERO));
        for bad in [
            "",
            "-1",
            "inf",
            "NaN",
            "1e3",
            "5m",
            "s",
            "ms",
            "1.2.3",
            "99999999999",
        ] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn show_escapes_and_truncates() {
        assert_eq!(show(OsStr::from_bytes(b"a\nb\xff")), "a\\nb\\xff");
        assert_eq!(show(OsStr::new(&"x".repeat(100))).len(), 80);
    }
}
