// SPDX-License-Identifier: MIT OR Apache-2.0
//! The policy requests: encoding `IPCON_CMD_POLICY_SET` into a caller
//! buffer, and parsing the messages of the `IPCON_CMD_POLICY_GET` dump.
//!
//! A rule on the wire is one [`IPCON_A_RULE`] attribute (with
//! [`NLA_F_NESTED`](super::attr::NLA_F_NESTED)) holding
//! [`IPCON_RULE_A_ACTION`] (u32), [`IPCON_RULE_A_PATTERN`] (string) and
//! at most one of [`IPCON_RULE_A_UID`] and [`IPCON_RULE_A_GID`] (u32;
//! neither: anyone).

use super::align;
use super::attr::{AttrIter, NLA_HDRLEN};
use super::builder::Builder;
use super::genl::{GenlMsg, GENL_HDRLEN};
use super::netlink::NLMSG_HDRLEN;
use crate::policy::{Action, Default, Rule, Who};
use crate::uapi::*;
use crate::{Error, ProtocolError};

/// Bytes one rule takes in a `POLICY_SET` request or a dump message: the
/// nest header, the action, the pattern and the uid or gid.
pub fn rule_len(rule: &Rule<'_>) -> usize {
    let who = match rule.who {
        Who::Anyone => 0,
        Who::Uid(_) | Who::Gid(_) => NLA_HDRLEN + 4,
    };
    NLA_HDRLEN + (NLA_HDRLEN + 4) + align(NLA_HDRLEN + rule.pattern.len() + 1) + who
}

/// Bytes of the whole `POLICY_SET` request for `rules` (headers, default
/// and rules): the smallest buffer [`build_set`] needs. At most about
/// 45 KiB for [`RULES_MAX`](crate::policy::RULES_MAX) valid rules, so
/// [`POLICY_BUFFER_SIZE`](crate::policy::POLICY_BUFFER_SIZE) always
/// suffices.
pub fn set_len(rules: &[Rule<'_>]) -> usize {
    NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN + 4 + rules.iter().map(rule_len).sum::<usize>()
}

/// Append one rule as an [`IPCON_A_RULE`] nest.
pub fn put_rule(b: &mut Builder<'_>, rule: &Rule<'_>) -> Result<(), Error> {
    let nest = b.nest_start(IPCON_A_RULE)?;
    b.attr_u32(IPCON_RULE_A_ACTION, rule.action.to_raw())?;
    b.attr_str(IPCON_RULE_A_PATTERN, rule.pattern)?;
    match rule.who {
        Who::Anyone => {}
        Who::Uid(uid) => b.attr_u32(IPCON_RULE_A_UID, uid)?,
        Who::Gid(gid) => b.attr_u32(IPCON_RULE_A_GID, gid)?,
    }
    b.nest_end(nest)
}

/// Build a `POLICY_SET` request into `buf`: [`IPCON_A_POLICY_DEFAULT`],
/// then one [`IPCON_A_RULE`] nest per rule, in order. The rules are
/// encoded as they are (the kernel validates them; see
/// [`Rule::check`]); [`Error::BufferTooSmall`] if `buf` is shorter than
/// [`set_len`].
pub fn build_set<'b>(
    buf: &'b mut [u8],
    family: u16,
    flags: u16,
    seq: u32,
    default: Default,
    rules: &[Rule<'_>],
) -> Result<&'b [u8], Error> {
    let mut b = Builder::genl(
        buf,
        family,
        flags,
        seq,
        IPCON_CMD_POLICY_SET,
        IPCON_GENL_VERSION,
    )?;
    b.attr_u32(IPCON_A_POLICY_DEFAULT, default.to_raw())?;
    for rule in rules {
        put_rule(&mut b, rule)?;
    }
    b.finish()
}

/// One message of the `POLICY_GET` dump.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpEntry<'a> {
    /// The first message: the default and the number of rules that follow.
    Head {
        /// The policy's default.
        default: Default,
        /// How many rule messages follow.
        count: u32,
    },
    /// One rule (rule 1 first).
    Rule(Rule<'a>),
}

/// Parse one message of the `POLICY_GET` dump (its command is not
/// checked). Unknown attributes are skipped; an unknown default or action
/// is a [`ProtocolError`].
pub fn parse_entry(msg: GenlMsg<'_>) -> Result<DumpEntry<'_>, ProtocolError> {
    let (mut default, mut count, mut rule) = (None, None, None);
    for a in msg.attr_iter() {
        let a = a?;
        match a.kind() {
            IPCON_A_POLICY_DEFAULT => default = Some(a.u32()?),
            IPCON_A_COUNT => count = Some(a.u32()?),
            IPCON_A_RULE if rule.is_some() => return Err(ProtocolError::BadPolicyDump),
            IPCON_A_RULE => rule = Some(parse_rule(a.payload())?),
            _ => {}
        }
    }
    match (default, count, rule) {
        (None, None, Some(rule)) => Ok(DumpEntry::Rule(rule)),
        (Some(d), Some(count), None) => Ok(DumpEntry::Head {
            default: Default::from_raw(d).ok_or(ProtocolError::UnknownValue)?,
            count,
        }),
        (_, _, Some(_)) => Err(ProtocolError::BadPolicyDump),
        (Some(_), None, None) => Err(ProtocolError::BadPolicyDump),
        _ => Err(ProtocolError::BadPolicyDump),
    }
}

/// Parse the payload of an [`IPCON_A_RULE`] nest. The pattern is taken
/// as the kernel sent it (not checked).
pub fn parse_rule(nest: &[u8]) -> Result<Rule<'_>, ProtocolError> {
    let (mut action, mut pattern, mut uid, mut gid) = (None, None, None, None);
    for a in AttrIter::new(nest) {
        let a = a?;
        match a.kind() {
            IPCON_RULE_A_ACTION => action = Some(a.u32()?),
            IPCON_RULE_A_PATTERN => pattern = Some(a.str()?),
            IPCON_RULE_A_UID => uid = Some(a.u32()?),
            IPCON_RULE_A_GID => gid = Some(a.u32()?),
            _ => {}
        }
    }
    let action = action.ok_or(ProtocolError::MissingAttribute)?;
    let action = Action::from_raw(action).ok_or(ProtocolError::UnknownValue)?;
    let pattern = pattern.ok_or(ProtocolError::MissingAttribute)?;
    let who = match (uid, gid) {
        (None, None) => Who::Anyone,
        (Some(uid), None) => Who::Uid(uid),
        (None, Some(gid)) => Who::Gid(gid),
        (Some(_), Some(_)) => return Err(ProtocolError::BadPolicyDump),
    };
    Ok(Rule {
        action,
        pattern,
        who,
    })
}

/// Assembles a [`Policy`](crate::policy::Policy) from the messages of one
/// `POLICY_GET` dump, and says whether the dump must be read again.
#[cfg(feature = "alloc")]
#[derive(Debug, core::default::Default)]
pub(crate) struct DumpReader {
    head: Option<(Default, u32)>,
    rules: alloc::vec::Vec<crate::policy::OwnedRule>,
    interrupted: bool,
    problem: Option<ProtocolError>,
}

/// Why a dump gave no policy.
#[cfg(feature = "alloc")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DumpProblem {
    /// The policy changed while it was read: read it again.
    Again(&'static str),
    /// The kernel sent something malformed.
    Fail(ProtocolError),
}

#[cfg(feature = "alloc")]
impl DumpReader {
    /// Take one message of the dump. Never fails: a problem is kept for
    /// [`finish`](Self::finish), which knows whether the dump was
    /// interrupted (then ordering problems are expected).
    pub(crate) fn push(&mut self, msg: GenlMsg<'_>) {
        if msg.netlink().flags() & super::netlink::NLM_F_DUMP_INTR != 0 {
            self.interrupted = true;
        }
        if self.problem.is_some() {
            return;
        }
        let problem = match parse_entry(msg) {
            Ok(DumpEntry::Head { .. }) if self.head.is_some() => ProtocolError::BadPolicyDump,
            Ok(DumpEntry::Head { default, count }) => {
                self.head = Some((default, count));
                return;
            }
            Ok(DumpEntry::Rule(_)) if self.head.is_none() => ProtocolError::BadPolicyDump,
            Ok(DumpEntry::Rule(_)) if self.rules.len() >= crate::policy::RULES_MAX => {
                ProtocolError::BadPolicyDump
            }
            Ok(DumpEntry::Rule(rule)) => {
                self.rules.push(rule.into_owned());
                return;
            }
            Err(e) => e,
        };
        self.problem = Some(problem);
    }

    /// Note that the dump was flagged inconsistent on a message not
    /// pushed (the final `NLMSG_DONE`).
    pub(crate) fn interrupted(&mut self) {
        self.interrupted = true;
    }

    /// The policy, once the dump is done.
    pub(crate) fn finish(self) -> Result<crate::policy::Policy, DumpProblem> {
        if self.interrupted {
            return Err(DumpProblem::Again(
                "the policy kept changing while it was read (NLM_F_DUMP_INTR)",
            ));
        }
        if let Some(e) = self.problem {
            return Err(DumpProblem::Fail(e));
        }
        let Some((default, count)) = self.head else {
            return Err(DumpProblem::Fail(ProtocolError::BadPolicyDump));
        };
        if usize::try_from(count).ok() != Some(self.rules.len()) {
            // A policy replaced between two datagrams of the dump, if the
            // kernel did not flag it.
            return Err(DumpProblem::Again(
                "the policy dump's rule count does not match its rules",
            ));
        }
        Ok(crate::policy::Policy {
            default,
            rules: self.rules,
        })
    }
}
