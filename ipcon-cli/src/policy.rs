// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ipcon policy load|show|check|clear`: the security policy.

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;

use ipcon::policy::{ParseError, Policy, Who, POLICY_BUFFER_SIZE};

use crate::args::{flag, parse, show, Parsed};
use crate::error::{note, CliError, Context, Subject, FAILED};
use crate::json::Object;
use crate::output::Out;
use crate::{help, open};

/// A policy file larger than this is not a policy (512 rules of the
/// longest form take about 50 KB; comments are free, within reason).
const FILE_MAX: u64 = 4 << 20;

/// `ipcon policy ACTION [--json] [FILE]`.
pub fn policy(args: &[OsString]) -> Result<(), CliError> {
    let p = parse("policy", &[flag("json", Some(b'j'))], args)?;
    if p.flag("help") {
        return help("policy");
    }
    let Some(action) = p.operands.first() else {
        return Err(p.usage("missing ACTION: load, show, check or clear".into()));
    };
    let json = p.flag("json");
    let action = action.to_str().unwrap_or("");
    if json && action != "show" {
        return Err(p.usage("--json is an option of 'policy show'".into()));
    }
    match action {
        "load" => load(&p),
        "check" => check(&p),
        "show" => {
            p.operands(1, 1, "")?;
            show_policy(json)
        }
        "clear" => {
            p.operands(1, 1, "")?;
            let mut peer = open()?;
            peer.clear_policy().about(Subject::Policy)?;
            note(format_args!(
                "policy cleared: default allow, no rules (everything is allowed)"
            ));
            Ok(())
        }
        _ => Err(p.usage(format!(
            "unknown ACTION '{}': use load, show, check or clear",
            show(&p.operands[0])
        ))),
    }
}

/// `policy load FILE|-`: parse, then install (nothing if any line is wrong).
fn load(p: &Parsed) -> Result<(), CliError> {
    let (shown, policy) = read_policy(p, "nothing loaded")?;
    let mut peer = open()?;
    peer.load_policy(&policy).about(Subject::Policy)?;
    note(format_args!("policy {shown} loaded: {}", summary(&policy)));
    Ok(())
}

/// `policy check FILE|-`: parse only; no module, no privilege needed.
fn check(p: &Parsed) -> Result<(), CliError> {
    let (shown, policy) = read_policy(p, "not a valid policy")?;
    Out::new().line(&format!("{shown}: valid policy, {}", summary(&policy)))
}

/// "default deny, 3 rules".
fn summary(p: &Policy) -> String {
    let n = p.rules.len();
    format!(
        "default {}, {n} rule{}",
        p.default,
        if n == 1 { "" } else { "s" }
    )
}

/// Read and parse the FILE operand. A malformed file prints each error as
/// "FILE:LINE: what" on stderr and fails (status 1) with `verdict`.
fn read_policy(p: &Parsed, verdict: &str) -> Result<(String, Policy), CliError> {
    let file = &p.operands(2, 2, "FILE ('-' for stdin)")?[1];
    let (shown, bytes) = read_file(p, file)?;
    // Bytes that are not UTF-8 can only be right in a comment; elsewhere
    // they make the line's keyword, pattern or number invalid.
    let text = String::from_utf8_lossy(&bytes);
    match Policy::parse(&text) {
        Ok(policy) => Ok((shown, policy)),
        Err(errors) => {
            let mut msg = String::new();
            for e in &errors {
                msg.push_str(&error_line(&shown, e));
                msg.push('\n');
            }
            let _ = std::io::Write::write_all(&mut std::io::stderr(), msg.as_bytes());
            let n = errors.len();
            Err(CliError::failed(format!(
                "{shown}: {n} error{}, {verdict}",
                if n == 1 { "" } else { "s" }
            )))
        }
    }
}

/// "FILE:LINE: what", or "FILE: what" for the whole file.
fn error_line(file: &str, e: &ParseError) -> String {
    match e.line {
        0 => format!("{file}: {}", e.what),
        n => format!("{file}:{n}: {}", e.what),
    }
}

/// The file's name for messages ("stdin" for '-') and its bytes.
fn read_file(p: &Parsed, file: &OsStr) -> Result<(String, Vec<u8>), CliError> {
    let mut bytes = Vec::new();
    let (shown, got) = if file.as_bytes() == b"-" {
        let got = std::io::stdin()
            .lock()
            .take(FILE_MAX + 1)
            .read_to_end(&mut bytes);
        ("stdin".to_string(), got)
    } else {
        let shown = show(file);
        let got =
            std::fs::File::open(file).and_then(|f| f.take(FILE_MAX + 1).read_to_end(&mut bytes));
        (shown, got)
    };
    if let Err(e) = got {
        return Err(p.usage(format!("cannot read {shown}: {e}")));
    }
    if bytes.len() as u64 > FILE_MAX {
        return Err(CliError {
            code: FAILED,
            msg: Some(format!(
                "{shown}: more than {} MiB, not a policy file",
                FILE_MAX >> 20
            )),
        });
    }
    Ok((shown, bytes))
}

/// `policy show [--json]`.
fn show_policy(json: bool) -> Result<(), CliError> {
    let mut peer = open()?;
    let mut buf = vec![0u8; POLICY_BUFFER_SIZE];
    let policy = peer.policy(&mut buf).about(Subject::Policy)?;
    let mut out = Out::new();
    if json {
        return out.line(&to_json(&policy));
    }
    out.bytes(to_text(&policy).as_bytes())?;
    out.flush()
}

/// The policy file format, aligned, each rule numbered in a comment (the
/// number a denial names). Loading it again gives the same policy.
fn to_text(p: &Policy) -> String {
    let rows: Vec<[String; 3]> = p
        .rules()
        .map(|r| {
            [
                r.action.to_string(),
                r.pattern.to_string(),
                r.who.to_string(),
            ]
        })
        .collect();
    let mut width = [0usize; 3];
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = format!("default {}\n", p.default);
    for (i, [action, pattern, who]) in rows.iter().enumerate() {
        out.push_str(&format!(
            "{action:<a$}  {pattern:<b$}  {who:<c$}  # rule {}\n",
            i + 1,
            a = width[0],
            b = width[1],
            c = width[2],
        ));
    }
    out
}

/// `{"default":"deny","rules":[{"rule":1,"action":"own","pattern":"x",
/// "uid":1001,"gid":null}...]}` (uid and gid null: anyone).
fn to_json(p: &Policy) -> String {
    let mut s = String::new();
    let mut o = Object::new(&mut s);
    let rules: Vec<(usize, ipcon::policy::Rule<'_>)> = p.rules().enumerate().collect();
    o.str("default", p.default.name())
        .array("rules", &rules, |o, (i, r)| {
            let (uid, gid) = match r.who {
                Who::Uid(uid) => (Some(uid.into()), None),
                Who::Gid(gid) => (None, Some(gid.into())),
                _ => (None, None),
            };
            o.num("rule", *i as u64 + 1)
                .str("action", r.action.name())
                .str("pattern", r.pattern)
                .opt_num("uid", uid)
                .opt_num("gid", gid);
        });
    o.end();
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# comment
default deny
own com.acme.camera uid 1001
own com.acme.* gid 300   # helpers
send com.acme.camera anyone
";

    #[test]
    fn text_is_aligned_numbered_and_loads_again() {
        let p = Policy::parse(TEXT).unwrap();
        let text = to_text(&p);
        assert_eq!(
            text,
            "default deny\n\
             own   com.acme.camera  uid 1001  # rule 1\n\
             own   com.acme.*       gid 300   # rule 2\n\
             send  com.acme.camera  anyone    # rule 3\n"
        );
        assert_eq!(Policy::parse(&text), Ok(p));
        assert_eq!(to_text(&Policy::default()), "default allow\n");
    }

    #[test]
    fn json() {
        let p = Policy::parse(TEXT).unwrap();
        assert_eq!(
            to_json(&p),
            r#"{"default":"deny","rules":[{"rule":1,"action":"own","pattern":"com.acme.camera","uid":1001,"gid":null},{"rule":2,"action":"own","pattern":"com.acme.*","uid":null,"gid":300},{"rule":3,"action":"send","pattern":"com.acme.camera","uid":null,"gid":null}]}"#
        );
        assert_eq!(
            to_json(&Policy::default()),
            r#"{"default":"allow","rules":[]}"#
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let errors = Policy::parse("own x\ndefault deny\ndefault allow\n").unwrap_err();
        let lines: Vec<String> = errors.iter().map(|e| error_line("pol", e)).collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("pol:1: missing WHO"), "{lines:?}");
        assert!(
            lines[1].starts_with("pol:3: a second 'default'"),
            "{lines:?}"
        );
        let e = Policy::parse("").unwrap_err();
        assert!(error_line("pol", &e[0]).starts_with("pol: no 'default"));
        assert_eq!(
            summary(&Policy::parse(TEXT).unwrap()),
            "default deny, 3 rules"
        );
        assert_eq!(summary(&Policy::default()), "default allow, 0 rules");
    }
}
