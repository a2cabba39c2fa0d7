// SPDX-License-Identifier: MIT OR Apache-2.0
//! The policy file parser: every malformed case with its line number,
//! comments, whitespace, ids, patterns, the 512-rule limit, round trips.

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::*;

fn rule(action: Action, pattern: &str, who: Who) -> Line<'_> {
    Line::Rule(Rule {
        action,
        pattern,
        who,
    })
}

#[test]
fn good_lines() {
    use Action::*;
    let cases: &[(&str, Option<Line<'_>>)] = &[
        ("", None),
        ("   \t ", None),
        ("# comment", None),
        ("   # indented comment with own x anyone", None),
        ("#default deny", None),
        ("default allow", Some(Line::Default(Default::Allow))),
        ("default deny", Some(Line::Default(Default::Deny))),
        (
            "\tdefault   deny\t# ship this",
            Some(Line::Default(Default::Deny)),
        ),
        ("default deny#no space", Some(Line::Default(Default::Deny))),
        (
            "own com.acme.camera uid 1001",
            Some(rule(Own, "com.acme.camera", Who::Uid(1001))),
        ),
        (
            "own   com.acme.*        gid 300",
            Some(rule(Own, "com.acme.*", Who::Gid(300))),
        ),
        (
            "send  com.acme.camera   anyone",
            Some(rule(Send, "com.acme.camera", Who::Anyone)),
        ),
        (
            "join com.acme.status uid 1002 # the UI",
            Some(rule(Join, "com.acme.status", Who::Uid(1002))),
        ),
        (
            "join com.acme.status uid 1002#tight comment",
            Some(rule(Join, "com.acme.status", Who::Uid(1002))),
        ),
        ("send * anyone", Some(rule(Send, "*", Who::Anyone))),
        ("own a* uid 0", Some(rule(Own, "a*", Who::Uid(0)))),
        (
            "own a:b-c_d.e uid 00",
            Some(rule(Own, "a:b-c_d.e", Who::Uid(0))),
        ),
        (
            "own x gid 4294967294",
            Some(rule(Own, "x", Who::Gid(4_294_967_294))),
        ),
        (
            "own x uid 0004294967294",
            Some(rule(Own, "x", Who::Uid(4_294_967_294))),
        ),
        (
            "\u{c}own\u{c}x\tanyone\r",
            Some(rule(Own, "x", Who::Anyone)),
        ),
    ];
    for (line, want) in cases {
        assert_eq!(parse_line(line), Ok(*want), "{line:?}");
    }
}

#[test]
fn patterns() {
    let max = "p".repeat(63);
    let prefix_max = format!("{}*", "p".repeat(62));
    for good in ["a", "*", "a*", "A-Z_0.9:x", &max, &prefix_max] {
        assert_eq!(check_pattern(good), Ok(()), "{good}");
        let r = Rule {
            action: Action::Own,
            pattern: good,
            who: Who::Anyone,
        };
        assert_eq!(r.check(), Ok(()));
    }
    let too_long = "p".repeat(64);
    let prefix_too_long = format!("{}*", "p".repeat(63));
    for (bad, why) in [
        ("", "empty"),
        (too_long.as_str(), "longer than 63"),
        (prefix_too_long.as_str(), "longer than 63"),
        ("**", "'*' may only end"),
        ("*a", "'*' may only end"),
        ("a*b", "'*' may only end"),
        ("a*b*", "'*' may only end"),
        ("a/b", "invalid character"),
        ("a b", "invalid character"),
        ("a?", "invalid character"),
        ("é", "invalid character"),
        ("a\0", "invalid character"),
    ] {
        let e = check_pattern(bad).unwrap_err();
        assert!(e.contains(why), "{bad:?}: {e}");
        let r = Rule {
            action: Action::Send,
            pattern: bad,
            who: Who::Anyone,
        };
        assert_eq!(r.check(), Err(Error::InvalidPattern), "{bad:?}");
    }
}

#[test]
fn matching() {
    let r = |pattern| Rule {
        action: Action::Join,
        pattern,
        who: Who::Anyone,
    };
    assert!(r("*").matches("anything"));
    assert!(r("a.*").matches("a.b"));
    assert!(r("a.*").matches("a."));
    assert!(!r("a.*").matches("a"));
    assert!(r("a").matches("a"));
    assert!(!r("a").matches("ab"));
}

/// Every malformed line, with words its message must contain.
const MALFORMED: &[(&str, &str)] = &[
    ("allow own x", "unknown keyword"),
    ("Own x anyone", "unknown keyword"),
    // Vertical tab is not whitespace (as for is_ascii_whitespace).
    ("\u{b}own x anyone", "unknown keyword"),
    ("own", "missing PATTERN"),
    ("own   # x anyone", "missing PATTERN"),
    ("own x", "missing WHO"),
    ("own x # anyone", "missing WHO"),
    ("own x everyone", "unknown WHO"),
    ("own x Anyone", "unknown WHO"),
    ("own x user 5", "unknown WHO"),
    ("own x uid", "'uid' needs"),
    ("own x gid", "'gid' needs"),
    ("own x uid -1", "'uid' needs"),
    ("own x uid +1", "'uid' needs"),
    ("own x uid 1.0", "'uid' needs"),
    ("own x uid 0x10", "'uid' needs"),
    ("own x uid 4294967295", "'uid' needs"),
    ("own x gid 4294967296", "'gid' needs"),
    ("own x gid 99999999999999999999999", "'gid' needs"),
    ("own x uid 1001 extra", "unexpected text after the rule"),
    ("own x anyone uid 3", "unexpected text after the rule"),
    ("own x anyone // comment", "unexpected text after the rule"),
    ("own a/b anyone", "invalid character"),
    ("own a*b anyone", "'*' may only end"),
    ("default", "'default' needs"),
    ("default maybe", "'default' takes"),
    ("default Allow", "'default' takes"),
    ("default allow deny", "unexpected text after 'default"),
];

#[test]
fn malformed_lines() {
    for (line, words) in MALFORMED {
        let e = parse_line(line).unwrap_err();
        assert!(e.contains(words), "{line:?}: {e}");
    }
}

#[cfg(feature = "alloc")]
#[test]
fn every_malformed_line_is_reported_with_its_number() {
    // The good lines interleaved with every malformed case.
    let mut text = String::from("# a policy\ndefault deny\n\n");
    let mut want = Vec::new();
    for (i, (line, words)) in MALFORMED.iter().enumerate() {
        text.push_str(line);
        text.push('\n');
        want.push((4 + 2 * i, *words));
        text.push_str("send ok.* anyone # fine\n");
    }
    let errors = Policy::parse(&text).unwrap_err();
    assert_eq!(errors.len(), want.len(), "{errors:?}");
    for (e, (line, words)) in errors.iter().zip(&want) {
        assert_eq!(e.line, *line, "{e:?}");
        assert!(e.what.contains(words), "{e:?}");
        assert_eq!(e.to_string(), format!("line {line}: {}", e.what));
    }
}

#[cfg(feature = "alloc")]
#[test]
fn the_default_line() {
    let e = Policy::parse("own x anyone\n# default allow\n").unwrap_err();
    assert_eq!(
        e,
        [ParseError {
            line: 0,
            what: NO_DEFAULT
        }]
    );
    assert_eq!(e[0].to_string(), NO_DEFAULT);
    assert_eq!(
        Policy::parse("").unwrap_err(),
        [ParseError {
            line: 0,
            what: NO_DEFAULT
        }]
    );
    let e =
        Policy::parse("default allow\nown x anyone\ndefault allow\ndefault deny\n").unwrap_err();
    let lines: Vec<(usize, &str)> = e.iter().map(|e| (e.line, e.what)).collect();
    assert_eq!(lines, [(3, SECOND_DEFAULT), (4, SECOND_DEFAULT)]);
    // A malformed default line and no other: both reported.
    let e = Policy::parse("default yes\nown x anyone\n").unwrap_err();
    let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 0]);
    // The default may come after the rules.
    let p = Policy::parse("own x anyone\ndefault deny").unwrap();
    assert_eq!((p.default, p.rules.len()), (Default::Deny, 1));
}

#[cfg(feature = "alloc")]
#[test]
fn at_most_512_rules() {
    let mut text = String::from("default deny\n");
    for i in 0..RULES_MAX {
        text.push_str(&format!("own n{i} uid {i}\n"));
    }
    let p = Policy::parse(&text).unwrap();
    assert_eq!(p.rules.len(), 512);
    assert_eq!(p.rules[511].as_rule().pattern, "n511");
    text.push_str("own one.too.many anyone\nown two.too.many anyone\nown bad/ anyone\n");
    let e = Policy::parse(&text).unwrap_err();
    let lines: Vec<(usize, &str)> = e.iter().map(|e| (e.line, e.what)).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0], (514, TOO_MANY_RULES));
    assert_eq!(lines[1].0, 516);
}

#[cfg(feature = "alloc")]
#[test]
fn line_endings_and_rule_order() {
    let text = "default allow\r\nown b uid 1\r\n\r\nsend a gid 2\rjoin c anyone";
    // A lone \r is not a line end: the third rule line is malformed.
    let e = Policy::parse(text).unwrap_err();
    assert_eq!(e.iter().map(|e| e.line).collect::<Vec<_>>(), [4]);
    let p =
        Policy::parse("default allow\r\nown b uid 1\r\n\r\nsend a gid 2\njoin c anyone").unwrap();
    let rules: Vec<String> = p.rules().map(|r| r.to_string()).collect();
    assert_eq!(rules, ["own b uid 1", "send a gid 2", "join c anyone"]);
}

#[cfg(feature = "alloc")]
#[test]
fn display_round_trips() {
    let text = "\
# The example of the documentation.
default deny            # exactly one
own   com.acme.camera   uid 1001
own   com.acme.*        gid 300
send  com.acme.camera   anyone
join  com.acme.status   uid 1002
send  *                 gid 4294967294
";
    let p = Policy::parse(text).unwrap();
    let shown = p.to_string();
    assert_eq!(
        shown,
        "default deny\nown com.acme.camera uid 1001\nown com.acme.* gid 300\n\
         send com.acme.camera anyone\njoin com.acme.status uid 1002\nsend * gid 4294967294\n"
    );
    assert_eq!(Policy::parse(&shown), Ok(p.clone()));
    let empty = Policy::default();
    assert_eq!(empty.to_string(), "default allow\n");
    assert_eq!(Policy::parse(&empty.to_string()), Ok(empty));
    let owned = p.rules[0].clone();
    assert_eq!(owned.as_rule().into_owned(), owned);
    assert_eq!(owned.to_string(), "own com.acme.camera uid 1001");
}

#[test]
fn parse_each_without_alloc() {
    let text = "default deny\nown a uid 1\nbad line\nsend b anyone\n";
    let mut rules: heapless::Vec<Rule<'_>, 4> = heapless::Vec::new();
    let mut errors: heapless::Vec<ParseError, 4> = heapless::Vec::new();
    let d = parse_each(
        text,
        |r| rules.push(r).unwrap(),
        |e| errors.push(e).unwrap(),
    );
    assert_eq!(d, None);
    assert_eq!(rules.len(), 2);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 3);
    let d = parse_each("default allow\n", |_| panic!(), |_| panic!());
    assert_eq!(d, Some(Default::Allow));
}

#[test]
fn names_and_wire_values() {
    for a in [Action::Own, Action::Send, Action::Join] {
        assert_eq!(Action::from_raw(a.to_raw()), Some(a));
        assert!(parse_line(&format!("{a} x anyone")).unwrap().is_some());
    }
    assert_eq!(Action::from_raw(0), None);
    assert_eq!(Action::from_raw(4), None);
    for d in [Default::Allow, Default::Deny] {
        assert_eq!(Default::from_raw(d.to_raw()), Some(d));
        assert_eq!(
            parse_line(&format!("default {d}")),
            Ok(Some(Line::Default(d)))
        );
    }
    assert_eq!(Default::from_raw(2), None);
    assert_eq!(Who::Uid(5).to_string(), "uid 5");
    assert_eq!(Who::Gid(6).to_string(), "gid 6");
    assert_eq!(Who::Anyone.to_string(), "anyone");
    let v: Vec<String> = vec![Action::Own.to_string(), Default::Deny.to_string()];
    assert_eq!(v, ["own", "deny"]);
}
