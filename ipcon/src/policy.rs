// SPDX-License-Identifier: MIT OR Apache-2.0
//! The security policy: who may own, send to and join which names.
//!
//! The kernel module holds one policy per network namespace: a
//! [`Default`](enum@Default) for names no rule matches, and up to
//! [`RULES_MAX`] (512) [`Rule`]s. A rule is an [`Action`] (`own`: register
//! a service or group; `send`: unicast to a service; `join`: join a
//! group), a name pattern (an exact name, a prefix ending in `*`, or `*`
//! alone) and [`Who`] it allows (a uid, a gid, or anyone).
//!
//! For an action on a name, the most specific pattern of that action that
//! matches decides (an exact name over any prefix, a longer prefix over a
//! shorter one): the action is allowed if any rule with that pattern names
//! the peer (its uid, its effective or a supplementary gid, or anyone);
//! if no pattern matches, the default decides. Sending by port or by id
//! to a peer that owns services is checked as a send to each of them (all
//! must allow). Setting or reading the policy needs `CAP_NET_ADMIN`
//! ([`Error::NotPermitted`] otherwise); a new policy replaces the old one
//! at once and removes the services, groups and memberships it denies.
//!
//! ## The policy file
//!
//! One rule a line, `ACTION PATTERN WHO`, whitespace separated; exactly
//! one `default allow` or `default deny` line; `#` starts a comment, on
//! its own line or after a rule; blank lines are ignored. WHO is `anyone`,
//! `uid N` or `gid N` (decimal, 0 to 4294967294). Rule N (as the kernel
//! numbers them in a denial) is the N-th rule line.
//!
//! ```text
//! # A camera daemon (uid 1001), its clients (group 300), a status page.
//! default deny
//! own   com.acme.camera   uid 1001
//! own   com.acme.*        gid 300     # helpers may register under com.acme.
//! send  com.acme.camera   anyone
//! join  com.acme.status   uid 1002
//! ```
//!
//! With the `alloc` feature, `Policy::parse` reads a whole file,
//! reporting every malformed line with its number, and
//! `Peer::load_policy` installs it. Without
//! `alloc`, [`parse_each`] (or [`parse_line`] line by line) gives borrowed
//! [`Rule`]s for [`Peer::set_policy`](crate::Peer::set_policy), which
//! encodes the request into a caller buffer.
//!
//! ```
//! # #[cfg(feature = "alloc")]
//! # fn main() {
//! use ipcon::policy::{Action, Policy, Who};
//!
//! let p = Policy::parse("default deny\nown com.acme.* gid 300 # helpers\n").unwrap();
//! let rule = p.rules().next().unwrap();
//! assert_eq!((rule.action, rule.pattern, rule.who), (Action::Own, "com.acme.*", Who::Gid(300)));
//! assert_eq!(p.to_string(), "default deny\nown com.acme.* gid 300\n");
//!
//! let errors = Policy::parse("default deny\nown com.acme.camera uid\nsend x\n").unwrap_err();
//! let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
//! assert_eq!(lines, [2, 3]);
//! # }
//! # #[cfg(not(feature = "alloc"))]
//! # fn main() {}
//! ```

use core::fmt;

use crate::name::is_name_byte;
use crate::uapi::*;
use crate::Error;

#[cfg(feature = "alloc")]
use alloc::{string::String, vec::Vec};

/// Most rules one policy may have ([`IPCON_POLICY_RULES_MAX`]).
pub const RULES_MAX: usize = IPCON_POLICY_RULES_MAX;

/// A buffer of this many bytes always holds a `POLICY_SET` request of
/// [`RULES_MAX`] rules (about 45 KiB) for
/// [`Peer::set_policy`](crate::Peer::set_policy), and any datagram of the
/// `POLICY_GET` dump for `Peer::policy` (feature `alloc`).
pub const POLICY_BUFFER_SIZE: usize = 65536;

/// Largest uid or gid a rule may name: `u32::MAX` is the "no id" value
/// (`(uid_t)-1`).
pub const ID_MAX: u32 = u32::MAX - 1;

/// What a rule allows.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Action {
    /// Register a service or a group of that name (`own`).
    Own,
    /// Unicast to the service of that name, by name, port or id (`send`).
    Send,
    /// Join the group of that name (`join`).
    Join,
}

impl Action {
    /// The keyword of the policy file: `"own"`, `"send"` or `"join"`.
    pub const fn name(self) -> &'static str {
        match self {
            Action::Own => "own",
            Action::Send => "send",
            Action::Join => "join",
        }
    }

    /// The wire value `IPCON_ACT_*`.
    pub const fn to_raw(self) -> u32 {
        match self {
            Action::Own => IPCON_ACT_OWN,
            Action::Send => IPCON_ACT_SEND,
            Action::Join => IPCON_ACT_JOIN,
        }
    }

    /// The action of a wire value `IPCON_ACT_*`, `None` if unknown.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            IPCON_ACT_OWN => Some(Action::Own),
            IPCON_ACT_SEND => Some(Action::Send),
            IPCON_ACT_JOIN => Some(Action::Join),
            _ => None,
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        match word {
            "own" => Some(Action::Own),
            "send" => Some(Action::Send),
            "join" => Some(Action::Join),
            _ => None,
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whom a rule allows.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Who {
    /// Every peer (`anyone`).
    Anyone,
    /// Peers whose uid is this one (`uid N`), in the user namespace that
    /// owns the network namespace.
    Uid(u32),
    /// Peers whose effective or a supplementary gid is this one (`gid N`).
    Gid(u32),
}

impl fmt::Display for Who {
    /// `anyone`, `uid N` or `gid N`, as in the policy file.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Who::Anyone => f.write_str("anyone"),
            Who::Uid(uid) => write!(f, "uid {uid}"),
            Who::Gid(gid) => write!(f, "gid {gid}"),
        }
    }
}

/// What happens to an action on a name that no rule's pattern matches.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Default {
    /// Allowed (`default allow`): the state of a freshly loaded module,
    /// everything allowed unless a rule says otherwise.
    Allow,
    /// Denied (`default deny`): only what a rule allows is allowed; what
    /// a product should ship.
    Deny,
}

impl Default {
    /// The word of the policy file: `"allow"` or `"deny"`.
    pub const fn name(self) -> &'static str {
        match self {
            Default::Allow => "allow",
            Default::Deny => "deny",
        }
    }

    /// The wire value `IPCON_POLICY_*`.
    pub const fn to_raw(self) -> u32 {
        match self {
            Default::Allow => IPCON_POLICY_ALLOW,
            Default::Deny => IPCON_POLICY_DENY,
        }
    }

    /// The default of a wire value `IPCON_POLICY_*`, `None` if unknown.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match raw {
            IPCON_POLICY_ALLOW => Some(Default::Allow),
            IPCON_POLICY_DENY => Some(Default::Deny),
            _ => None,
        }
    }
}

impl fmt::Display for Default {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rule, borrowing its pattern (from a policy text, an
/// `OwnedRule` (feature `alloc`), or a received dump).
///
/// ```
/// use ipcon::policy::{Action, Rule, Who};
///
/// let r = Rule { action: Action::Send, pattern: "com.acme.*", who: Who::Anyone };
/// assert_eq!(r.to_string(), "send com.acme.* anyone");
/// assert!(r.check().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rule<'a> {
    /// What the rule allows.
    pub action: Action,
    /// The names it applies to: a name, a name prefix followed by `*`, or
    /// `*` alone for every name (see [`check_pattern`]).
    pub pattern: &'a str,
    /// Whom it allows.
    pub who: Who,
}

impl Rule<'_> {
    /// Check the pattern ([`Error::InvalidPattern`] if [`check_pattern`]
    /// refuses it). [`Peer::set_policy`](crate::Peer::set_policy) checks
    /// every rule before sending.
    pub fn check(&self) -> Result<(), Error> {
        check_pattern(self.pattern).map_err(|_| Error::InvalidPattern)
    }

    /// Whether the pattern matches `name`: equal to it, or (ending in `*`)
    /// a prefix of it. The kernel decides with the most specific matching
    /// pattern, see the [module documentation](self).
    ///
    /// ```
    /// use ipcon::policy::{Action, Rule, Who};
    ///
    /// let r = Rule { action: Action::Own, pattern: "com.acme.*", who: Who::Anyone };
    /// assert!(r.matches("com.acme.camera"));
    /// assert!(!r.matches("com.other"));
    /// ```
    pub fn matches(&self, name: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == self.pattern,
        }
    }

    /// An owned copy (needs feature `alloc`).
    #[cfg(feature = "alloc")]
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    pub fn into_owned(self) -> OwnedRule {
        OwnedRule {
            action: self.action,
            pattern: self.pattern.into(),
            who: self.who,
        }
    }
}

impl fmt::Display for Rule<'_> {
    /// The rule as a line of the policy file (without newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.action, self.pattern, self.who)
    }
}

/// Check a rule pattern as the kernel does: 1 to 63 bytes, a name
/// (`[A-Za-z0-9._:-]`), optionally ending with `*` (a prefix: 0 to 62
/// name bytes before it; `*` alone matches every name). Returns why not.
///
/// ```
/// use ipcon::policy::check_pattern;
///
/// assert!(check_pattern("com.acme.camera").is_ok());
/// assert!(check_pattern("com.acme.*").is_ok());
/// assert!(check_pattern("*").is_ok());
/// assert!(check_pattern("com.*.camera").is_err());
/// assert!(check_pattern("").is_err());
/// ```
pub fn check_pattern(pattern: &str) -> Result<(), &'static str> {
    let b = pattern.as_bytes();
    if b.is_empty() {
        return Err("empty pattern");
    }
    if b.len() > IPCON_NAME_MAX {
        return Err("pattern longer than 63 bytes");
    }
    let name = b.strip_suffix(b"*").unwrap_or(b);
    if name.contains(&b'*') {
        return Err("'*' may only end a pattern");
    }
    if !name.iter().all(|&c| is_name_byte(c)) {
        return Err("invalid character in pattern: use A-Z a-z 0-9 . _ : - and a final '*'");
    }
    Ok(())
}

/// One meaningful line of a policy file.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Line<'a> {
    /// `default allow` or `default deny`.
    Default(Default),
    /// A rule.
    Rule(Rule<'a>),
}

/// Parse one line of a policy file (without its newline): `Ok(None)` for
/// a blank or comment-only line, otherwise the default or the rule, or
/// why the line is malformed. Needs no allocation: the rule borrows
/// `line`.
///
/// ```
/// use ipcon::policy::{parse_line, Action, Line, Rule, Who};
///
/// let rule = Rule { action: Action::Join, pattern: "status", who: Who::Uid(1002) };
/// assert_eq!(parse_line("  join status uid 1002  # the UI"), Ok(Some(Line::Rule(rule))));
/// assert_eq!(parse_line("# just a comment"), Ok(None));
/// assert!(parse_line("join status uid -1").is_err());
/// ```
pub fn parse_line(line: &str) -> Result<Option<Line<'_>>, &'static str> {
    let line = match line.find('#') {
        Some(comment) => &line[..comment],
        None => line,
    };
    let mut words = line.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(None);
    };
    let parsed = if first == "default" {
        match words.next() {
            Some("allow") => Line::Default(Default::Allow),
            Some("deny") => Line::Default(Default::Deny),
            Some(_) => return Err("'default' takes allow or deny"),
            None => return Err("'default' needs allow or deny"),
        }
    } else {
        let Some(action) = Action::from_keyword(first) else {
            return Err(
                "unknown keyword: a line is 'default allow|deny' or 'own|send|join PATTERN WHO'",
            );
        };
        let Some(pattern) = words.next() else {
            return Err("missing PATTERN and WHO after the action");
        };
        check_pattern(pattern)?;
        let who = match words.next() {
            Some("anyone") => Who::Anyone,
            Some("uid") => Who::Uid(
                id_number(words.next())
                    .ok_or("'uid' needs a decimal number from 0 to 4294967294")?,
            ),
            Some("gid") => Who::Gid(
                id_number(words.next())
                    .ok_or("'gid' needs a decimal number from 0 to 4294967294")?,
            ),
            Some(_) => return Err("unknown WHO: use anyone, uid N or gid N"),
            None => return Err("missing WHO after the pattern: anyone, uid N or gid N"),
        };
        Line::Rule(Rule {
            action,
            pattern,
            who,
        })
    };
    match words.next() {
        None => Ok(Some(parsed)),
        Some(_) => Err(match parsed {
            Line::Default(_) => {
                "unexpected text after 'default allow|deny' (comments start with #)"
            }
            Line::Rule(_) => "unexpected text after the rule (comments start with #)",
        }),
    }
}

/// A uid or gid: decimal digits only, 0 to [`ID_MAX`].
fn id_number(word: Option<&str>) -> Option<u32> {
    let word = word?;
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Leading zeros are fine; the value must fit.
    let digits = word.trim_start_matches('0');
    if digits.len() > 10 {
        return None;
    }
    let v: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    u32::try_from(v).ok().filter(|&v| v <= ID_MAX)
}

/// A malformed line of a policy file.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParseError {
    /// The line number, from 1; 0 for a problem of the whole text (no
    /// `default` line).
    pub line: usize,
    /// What is wrong, and what a correct line looks like.
    pub what: &'static str,
}

impl fmt::Display for ParseError {
    /// `line 3: what` (or `what` alone for line 0). A tool prefixes the
    /// file name: `policy:3: what`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => f.write_str(self.what),
            n => write!(f, "line {n}: {}", self.what),
        }
    }
}

impl core::error::Error for ParseError {}

/// The text has no `default` line (reported with line 0).
pub const NO_DEFAULT: &str = "no 'default allow' or 'default deny' line: exactly one is required";
/// A second `default` line.
pub const SECOND_DEFAULT: &str = "a second 'default' line: exactly one is allowed";
/// The rule after the 512th.
pub const TOO_MANY_RULES: &str = "more than 512 rules: a policy has at most 512";

/// Parse a whole policy text without allocating: `rule` is called for
/// each rule in order (the first [`RULES_MAX`] only), `error` for every
/// malformed line (and the whole-text problems: no `default` line, line
/// 0; more than one; more than [`RULES_MAX`] rules, once, at the first
/// rule too many). Returns the default if the text is valid (no error
/// was reported); the rules are only a policy then.
///
/// ```
/// use ipcon::policy::{parse_each, Default, Rule};
///
/// let text = "default deny\nsend com.acme.camera anyone\n";
/// let mut rules: heapless::Vec<Rule<'_>, 16> = heapless::Vec::new();
/// let mut overflow = false;
/// let default = parse_each(text, |r| overflow |= rules.push(r).is_err(), |e| panic!("{e}"));
/// assert_eq!(default, Some(Default::Deny));
/// assert_eq!((rules.len(), overflow), (1, false));
/// ```
pub fn parse_each<'a>(
    text: &'a str,
    mut rule: impl FnMut(Rule<'a>),
    mut error: impl FnMut(ParseError),
) -> Option<Default> {
    let mut default = None;
    let mut rules = 0usize;
    let mut ok = true;
    let mut fail = |line, what| {
        ok = false;
        error(ParseError { line, what });
    };
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        match parse_line(line) {
            Ok(None) => {}
            Ok(Some(Line::Default(d))) => match default {
                None => default = Some(d),
                Some(_) => fail(n, SECOND_DEFAULT),
            },
            Ok(Some(Line::Rule(r))) => {
                rules += 1;
                if rules <= RULES_MAX {
                    rule(r);
                } else if rules == RULES_MAX + 1 {
                    fail(n, TOO_MANY_RULES);
                }
            }
            Err(what) => fail(n, what),
        }
    }
    if default.is_none() {
        fail(0, NO_DEFAULT);
    }
    if ok {
        default
    } else {
        None
    }
}

/// A rule that owns its pattern (needs feature `alloc`); see [`Rule`].
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedRule {
    /// What the rule allows.
    pub action: Action,
    /// The names it applies to (see [`check_pattern`]).
    pub pattern: String,
    /// Whom it allows.
    pub who: Who,
}

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl OwnedRule {
    /// The rule, borrowing the pattern.
    pub fn as_rule(&self) -> Rule<'_> {
        Rule {
            action: self.action,
            pattern: &self.pattern,
            who: self.who,
        }
    }
}

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl fmt::Display for OwnedRule {
    /// The rule as a line of the policy file (without newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_rule().fmt(f)
    }
}

/// A whole policy, owned (needs feature `alloc`): what
/// [`Policy::parse`] reads from a file,
/// [`Peer::load_policy`](crate::Peer::load_policy) installs and
/// [`Peer::policy`](crate::Peer::policy) reads back.
///
/// Its `Display` is the policy file format (the default, then one rule a
/// line), which [`Policy::parse`] reads back to an equal policy. The
/// `Default` trait gives what a freshly loaded module has: `default
/// allow`, no rules.
///
/// ```
/// use ipcon::policy::{Default, Policy};
///
/// let text = "# the camera\ndefault deny\n  own com.acme.camera   uid 1001 # daemon\n";
/// let p = Policy::parse(text).unwrap();
/// assert_eq!(p.default, Default::Deny);
/// assert_eq!(p.to_string(), "default deny\nown com.acme.camera uid 1001\n");
/// assert_eq!(Policy::parse(&p.to_string()), Ok(p));
/// ```
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Policy {
    /// For names no rule's pattern matches.
    pub default: Default,
    /// The rules, in order (rule 1 first); at most [`RULES_MAX`].
    pub rules: Vec<OwnedRule>,
}

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl core::default::Default for Policy {
    /// `default allow` and no rules: the policy of a freshly loaded
    /// module (and what [`Peer::clear_policy`](crate::Peer::clear_policy)
    /// installs).
    fn default() -> Self {
        Policy {
            default: Default::Allow,
            rules: Vec::new(),
        }
    }
}

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl Policy {
    /// Parse a policy file (see the [module documentation](self)). Every
    /// malformed line is reported, in line order, with its number (1 is
    /// the first line); a missing `default` line is reported last, with
    /// line 0. Either the whole text is valid or there is no policy.
    pub fn parse(text: &str) -> Result<Policy, Vec<ParseError>> {
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        let default = parse_each(text, |r| rules.push(r.into_owned()), |e| errors.push(e));
        match default {
            Some(default) => Ok(Policy { default, rules }),
            None => Err(errors),
        }
    }

    /// The rules, borrowed, in order (for
    /// [`Peer::set_policy`](crate::Peer::set_policy)).
    pub fn rules(&self) -> impl Iterator<Item = Rule<'_>> {
        self.rules.iter().map(OwnedRule::as_rule)
    }
}

#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "default {}", self.default)?;
        for r in &self.rules {
            writeln!(f, "{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
