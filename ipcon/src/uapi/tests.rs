// SPDX-License-Identifier: MIT OR Apache-2.0
//! Checks `uapi.rs` against the C header, the single source of truth.
//!
//! The package carries a copy of the header (`uapi/ipcon.h`, so that the
//! published crate builds and runs its own tests), and
//! [`header_copy_is_the_kernel_header`] checks in the workspace that the
//! copy is the kernel module's header, byte for byte.
//!
//! The copy is embedded when the test is compiled (so the test binary also
//! runs on a target, as a Yocto ptest), its `#define`s and enum members are
//! evaluated (integer literals, `U`/`L` suffixes, `(1U << n)`, references to
//! earlier names, `+ - << |` and parentheses), and every value must match the
//! Rust constant of the same name, in both directions.

use std::collections::BTreeMap;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, println};

const HEADER: &str = include_str!("../../uapi/ipcon.h");

/// Where the kernel module's header is in the ipcon workspace.
const KERNEL_HEADER: &str = "../ipcon-kmod/include/uapi/linux/ipcon.h";

/// The copy in the package is the kernel module's header. Outside the
/// workspace (the published crate, a test binary on a device) there is no
/// kernel header to compare with: the test says so and passes, since the
/// copy was checked when the package was made.
#[test]
fn header_copy_is_the_kernel_header() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(KERNEL_HEADER);
    match std::fs::read_to_string(&path) {
        Ok(kernel) => assert!(
            kernel == HEADER,
            "ipcon/uapi/ipcon.h differs from {KERNEL_HEADER}: copy it again \
             (cp ipcon-kmod/include/uapi/linux/ipcon.h ipcon/uapi/ipcon.h)"
        ),
        Err(e) => println!(
            "skipped: no kernel header at {} ({e}): outside the ipcon workspace, \
             the packaged copy uapi/ipcon.h is what the other tests check",
            path.display()
        ),
    }
}

fn strip_comments(src: &str) -> String {
    let mut out = String::new();
    let mut rest = src;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                let end = rest[b + 2..].find("*/").expect("unterminated comment");
                out.push(' ');
                rest = &rest[b + 2 + end + 2..];
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = &rest[l..];
                rest = rest.find('\n').map_or("", |n| &rest[n..]);
            }
            (None, None) => {
                out.push_str(rest);
                return out;
            }
            (Some(_), None) => unreachable!(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(u64),
    Ident(String),
    Op(&'static str),
}

fn tokenize(expr: &str) -> Vec<Tok> {
    let b = expr.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let lit = expr[start..i].trim_end_matches(['u', 'U', 'l', 'L']);
            let v = if let Some(hex) = lit.strip_prefix("0x").or_else(|| lit.strip_prefix("0X")) {
                u64::from_str_radix(hex, 16)
            } else {
                lit.parse()
            };
            toks.push(Tok::Num(
                v.unwrap_or_else(|_| panic!("bad literal in {expr:?}")),
            ));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push(Tok::Ident(expr[start..i].to_string()));
        } else if expr[i..].starts_with("<<") {
            toks.push(Tok::Op("<<"));
            i += 2;
        } else {
            let op = match c {
                b'(' => "(",
                b')' => ")",
                b'+' => "+",
                b'-' => "-",
                b'|' => "|",
                _ => panic!("unsupported character {:?} in {expr:?}", c as char),
            };
            toks.push(Tok::Op(op));
            i += 1;
        }
    }
    toks
}

struct Eval<'a> {
    toks: Vec<Tok>,
    pos: usize,
    env: &'a BTreeMap<String, u64>,
}

impl Eval<'_> {
    fn peek_op(&self, op: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Op(o)) if *o == op)
    }
    fn or(&mut self) -> u64 {
        let mut v = self.shift();
        while self.peek_op("|") {
            self.pos += 1;
            v |= self.shift();
        }
        v
    }
    fn shift(&mut self) -> u64 {
        let mut v = self.additive();
        while self.peek_op("<<") {
            self.pos += 1;
            v <<= self.additive();
        }
        v
    }
    fn additive(&mut self) -> u64 {
        let mut v = self.primary();
        loop {
            if self.peek_op("+") {
                self.pos += 1;
                v += self.primary();
            } else if self.peek_op("-") {
                self.pos += 1;
                v -= self.primary();
            } else {
                return v;
            }
        }
    }
    fn primary(&mut self) -> u64 {
        let tok = self
            .toks
            .get(self.pos)
            .cloned()
            .expect("expression ends early");
        self.pos += 1;
        match tok {
            Tok::Num(n) => n,
            Tok::Ident(name) => *self
                .env
                .get(&name)
                .unwrap_or_else(|| panic!("{name} used before definition")),
            Tok::Op("(") => {
                let v = self.or();
                assert!(self.peek_op(")"), "missing )");
                self.pos += 1;
                v
            }
            Tok::Op(o) => panic!("unexpected {o}"),
        }
    }
}

fn eval(expr: &str, env: &BTreeMap<String, u64>) -> u64 {
    let mut e = Eval {
        toks: tokenize(expr),
        pos: 0,
        env,
    };
    let v = e.or();
    assert_eq!(e.pos, e.toks.len(), "trailing tokens in {expr:?}");
    v
}

/// Integer constants and string constants of the header, in source order.
fn parse_header(src: &str) -> (BTreeMap<String, u64>, BTreeMap<String, String>) {
    let src = strip_comments(src);
    let mut ints = BTreeMap::new();
    let mut strings = BTreeMap::new();
    let mut rest = src.as_str();
    loop {
        let define = rest.find("#define");
        let enum_ = find_word(rest, "enum");
        match (define, enum_) {
            (Some(d), e) if e.is_none_or(|e| d < e) => {
                let line_end = rest[d..].find('\n').map_or(rest.len(), |n| d + n);
                let line = &rest[d + "#define".len()..line_end];
                rest = &rest[line_end..];
                let line = line.trim();
                let (name, value) = match line.find(char::is_whitespace) {
                    Some(sp) => (&line[..sp], line[sp..].trim()),
                    None => continue, // include guard
                };
                if let Some(s) = value.strip_prefix('"') {
                    strings.insert(name.to_string(), s.trim_end_matches('"').to_string());
                } else {
                    let v = eval(value, &ints);
                    ints.insert(name.to_string(), v);
                }
            }
            (_, Some(e)) => {
                let open = e + rest[e..].find('{').expect("enum without {");
                let close = open + rest[open..].find('}').expect("enum without }");
                let mut next = 0u64;
                for member in rest[open + 1..close].split(',') {
                    let member = member.trim();
                    if member.is_empty() {
                        continue;
                    }
                    let (name, value) = match member.split_once('=') {
                        Some((n, v)) => (n.trim(), eval(v, &ints)),
                        None => (member, next),
                    };
                    ints.insert(name.to_string(), value);
                    next = value + 1;
                }
                rest = &rest[close + 1..];
            }
            (None, None) => return (ints, strings),
            (Some(_), None) => unreachable!(),
        }
    }
}

fn find_word(hay: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = hay[from..].find(word) {
        let at = from + i;
        let before = hay[..at].chars().next_back();
        let after = hay[at + word.len()..].chars().next();
        let is_ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !is_ident(before) && !is_ident(after) {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

#[test]
fn rust_constants_match_the_c_header() {
    let (ints, strings) = parse_header(HEADER);
    assert!(
        ints.len() > 40,
        "suspiciously few constants parsed: {ints:?}"
    );

    let rust: BTreeMap<&str, u64> = super::ALL.iter().map(|&(n, v, _)| (n, v)).collect();
    assert_eq!(rust.len(), super::ALL.len(), "duplicate Rust constant");
    let mut problems = Vec::new();
    for (name, value) in &ints {
        match rust.get(name.as_str()) {
            None => problems.push(format!(
                "{name} = {value} is in the header but not in uapi.rs"
            )),
            Some(v) if v != value => {
                problems.push(format!("{name}: header says {value}, uapi.rs says {v}"))
            }
            Some(_) => {}
        }
    }
    for name in rust.keys() {
        if !ints.contains_key(*name) {
            problems.push(format!("{name} is in uapi.rs but not in the header"));
        }
    }
    assert_eq!(strings.len(), 1, "unexpected string constants: {strings:?}");
    assert_eq!(
        strings.get("IPCON_GENL_NAME").map(String::as_str),
        Some(super::IPCON_GENL_NAME)
    );
    assert!(
        problems.is_empty(),
        "uapi.rs is out of sync with ipcon-kmod/include/uapi/linux/ipcon.h:\n{}",
        problems.join("\n")
    );
    println!("{} header constants checked", ints.len());
}

/// The Rust type of each constant follows from the field it fills: a
/// command is the genetlink `cmd` byte, an attribute type (top level or
/// nested in a rule) the `u16` `nla_type`, everything carried in an
/// attribute a `u32`, and sizes are `usize`.
#[test]
fn constant_types_follow_their_wire_field() {
    let want = |name: &str| -> &str {
        let bare = name.trim_start_matches('_');
        if bare == "IPCON_GENL_VERSION" || bare.starts_with("IPCON_CMD_") {
            "u8"
        } else if bare.starts_with("IPCON_A_") || bare.starts_with("IPCON_RULE_A_") {
            "u16"
        } else if matches!(
            bare,
            "IPCON_NAME_MAX" | "IPCON_PAYLOAD_MAX" | "IPCON_CHUNK_MAX" | "IPCON_POLICY_RULES_MAX"
        ) {
            "usize"
        } else {
            "u32"
        }
    };
    let wrong: Vec<String> = super::ALL
        .iter()
        .filter(|&&(name, _, ty)| ty != want(name))
        .map(|&(name, _, ty)| format!("{name} is {ty}, expected {}", want(name)))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every policy default, action and rule attribute is mirrored.
    for name in [
        "IPCON_POLICY_ALLOW",
        "IPCON_POLICY_DENY",
        "IPCON_ACT_OWN",
        "IPCON_ACT_SEND",
        "IPCON_ACT_JOIN",
        "IPCON_RULE_A_ACTION",
        "IPCON_RULE_A_PATTERN",
        "IPCON_RULE_A_UID",
        "IPCON_RULE_A_GID",
        "IPCON_A_ID",
        "IPCON_A_SRC_ID",
        "IPCON_A_POLICY_DEFAULT",
        "IPCON_A_RULE",
        "IPCON_CMD_POLICY_SET",
        "IPCON_CMD_POLICY_GET",
    ] {
        assert!(super::ALL.iter().any(|&(n, _, _)| n == name), "{name}");
    }
}

#[test]
fn evaluator_handles_header_forms() {
    let mut env = BTreeMap::new();
    env.insert("A".to_string(), 4);
    assert_eq!(eval("(1U << 3)", &env), 8);
    assert_eq!(eval("(A - 1)", &env), 3);
    assert_eq!(eval("(A | (1U << 0))", &env), 5);
    assert_eq!(eval("0x10", &env), 16);
    let (ints, _) =
        parse_header("enum x { X_A, X_B = 5, X_C, };\n#define X_D (X_C << 1) /* c */\n");
    assert_eq!(ints["X_A"], 0);
    assert_eq!(ints["X_B"], 5);
    assert_eq!(ints["X_C"], 6);
    assert_eq!(ints["X_D"], 12);
}
