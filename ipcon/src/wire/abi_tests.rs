// SPDX-License-Identifier: MIT OR Apache-2.0
//! The wire ABI pinned down byte for byte. Every message is fixed-size
//! headers and attributes of fixed-width integers; nothing depends on the
//! size of a pointer or `long`, so a 32-bit process and a 64-bit kernel
//! read the same bytes. These tests hold literal byte arrays (little-endian,
//! as on x86_64, aarch64 and armv7): the harness runs them on all three
//! arches (ARM under qemu-user, with the MSRV toolchain), so a layout that
//! differed between 32- and 64-bit builds would fail on one of them.

use std::vec;
use std::vec::Vec;

use super::builder::Builder;
use super::genl::GenlMsg;
use super::netlink::{NlMsg, NLMSG_HDRLEN, NLM_F_ACK, NLM_F_REQUEST};
use super::policy::{build_set, parse_entry, set_len, DumpEntry};
use super::{attr::NLA_HDRLEN, genl::GENL_HDRLEN};
use crate::policy::{Action, Default, Rule, Who};
use crate::uapi::*;
use crate::{EventKind, Message};

const FAMILY: u16 = 0x1f;

fn le16(v: u16) -> [u8; 2] {
    v.to_le_bytes()
}

fn le32(v: u32) -> [u8; 4] {
    v.to_le_bytes()
}

/// Header bytes: netlink (len, type, flags, seq, port) then genetlink.
fn headers(len: u32, flags: u16, seq: u32, cmd: u8) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&le32(len));
    v.extend_from_slice(&le16(FAMILY));
    v.extend_from_slice(&le16(flags));
    v.extend_from_slice(&le32(seq));
    v.extend_from_slice(&le32(0));
    v.extend_from_slice(&[cmd, IPCON_GENL_VERSION, 0, 0]);
    v
}

#[test]
fn header_sizes_are_fixed() {
    assert_eq!(NLMSG_HDRLEN, 16);
    assert_eq!(GENL_HDRLEN, 4);
    assert_eq!(NLA_HDRLEN, 4);
}

#[test]
fn request_bytes_are_identical_on_every_arch() {
    let mut buf = vec![0u8; 256];
    let mut b = Builder::genl(
        &mut buf,
        FAMILY,
        NLM_F_REQUEST | NLM_F_ACK,
        7,
        IPCON_CMD_SEND,
        IPCON_GENL_VERSION,
    )
    .unwrap();
    b.attr_str(IPCON_A_NAME, "svc").unwrap();
    b.attr_u32(IPCON_A_PORT, 0x0102_0304).unwrap();
    b.attr_u64(IPCON_A_TOKEN, 0x1122_3344_5566_7788).unwrap();
    b.data(b"hello").unwrap();
    let got = b.finish().unwrap().to_vec();

    let mut want = headers(60, 0x0005, 7, IPCON_CMD_SEND);
    // NAME "svc\0": 8 bytes.
    want.extend_from_slice(&le16(8));
    want.extend_from_slice(&le16(IPCON_A_NAME));
    want.extend_from_slice(b"svc\0");
    // PORT u32: 8 bytes (offset 28).
    want.extend_from_slice(&le16(8));
    want.extend_from_slice(&le16(IPCON_A_PORT));
    want.extend_from_slice(&[0x04, 0x03, 0x02, 0x01]);
    // The u64 value would start at 36 + 4 = 40, 8-aligned: no PAD.
    want.extend_from_slice(&le16(12));
    want.extend_from_slice(&le16(IPCON_A_TOKEN));
    want.extend_from_slice(&[0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]);
    // DATA "hello": length 9, padded to 12.
    want.extend_from_slice(&le16(9));
    want.extend_from_slice(&le16(IPCON_A_DATA));
    want.extend_from_slice(b"hello\0\0\0");
    assert_eq!(want.len(), 60);
    assert_eq!(got, want);
}

#[test]
fn u64_gets_a_pad_attribute_when_misaligned() {
    let mut buf = vec![0u8; 64];
    let mut b = Builder::genl(&mut buf, FAMILY, 0, 1, IPCON_CMD_PAIR, 1).unwrap();
    // Headers (20) and a 12-byte NAME end at 32: a u64 attribute there
    // would put its value at 36, so an empty PAD comes first.
    b.attr_str(IPCON_A_NAME, "abcdefg").unwrap();
    b.attr_u64(IPCON_A_TOKEN, 1).unwrap();
    let got = b.finish().unwrap().to_vec();
    let mut want = headers(48, 0, 1, IPCON_CMD_PAIR);
    want.extend_from_slice(&le16(12));
    want.extend_from_slice(&le16(IPCON_A_NAME));
    want.extend_from_slice(b"abcdefg\0");
    want.extend_from_slice(&le16(4));
    want.extend_from_slice(&le16(IPCON_A_PAD));
    want.extend_from_slice(&le16(12));
    want.extend_from_slice(&le16(IPCON_A_TOKEN));
    want.extend_from_slice(&1u64.to_le_bytes());
    assert_eq!(got, want);
}

#[test]
fn kernel_delivery_bytes_parse_the_same_on_every_arch() {
    // A unicast delivery exactly as the module builds it.
    let mut m = headers(0, 0, 0, IPCON_CMD_MSG);
    for (kind, v) in [
        (IPCON_A_SRC_PORT, 0x8000_0001u32),
        (IPCON_A_UID, 1000),
        (IPCON_A_GID, 1001),
        (IPCON_A_PID, 0xfffe),
    ] {
        m.extend_from_slice(&le16(8));
        m.extend_from_slice(&le16(kind));
        m.extend_from_slice(&le32(v));
    }
    m.extend_from_slice(&le16(4 + 6));
    m.extend_from_slice(&le16(IPCON_A_SRC_NAME));
    m.extend_from_slice(b"a.b.c\0\0\0");
    // SRC_ID u64: its value would be at 68, so an empty PAD first (64),
    // then the attribute at 68 with the value at 72.
    assert_eq!(m.len(), 64);
    m.extend_from_slice(&le16(4));
    m.extend_from_slice(&le16(IPCON_A_PAD));
    m.extend_from_slice(&le16(12));
    m.extend_from_slice(&le16(IPCON_A_SRC_ID));
    m.extend_from_slice(&0x0102_0304_0506_0708u64.to_le_bytes());
    m.extend_from_slice(&le16(4 + 3));
    m.extend_from_slice(&le16(IPCON_A_DATA));
    m.extend_from_slice(b"xyz\0");
    let len = m.len() as u32;
    m[..4].copy_from_slice(&le32(len));
    match Message::parse(&mut m, FAMILY).unwrap() {
        Message::Unicast(u) => {
            assert_eq!(u.sender.port, 0x8000_0001);
            assert_eq!(u.sender.id, 0x0102_0304_0506_0708);
            assert_eq!(
                (u.sender.uid, u.sender.gid, u.sender.pid),
                (1000, 1001, 0xfffe)
            );
            assert_eq!(u.sender.service, Some("a.b.c"));
            assert_eq!(u.data, b"xyz");
        }
        other => panic!("{other:?}"),
    }

    // An event: kind and port as u32, the owner's id as u64 (aligned
    // here: no PAD), uid and gid as u32, name as a string.
    let mut e = headers(0, 0, 0, IPCON_CMD_EVENT);
    e.extend_from_slice(&le16(8));
    e.extend_from_slice(&le16(IPCON_A_EVENT));
    e.extend_from_slice(&le32(IPCON_EV_SRV_ADDED));
    e.extend_from_slice(&le16(8));
    e.extend_from_slice(&le16(IPCON_A_PORT));
    e.extend_from_slice(&le32(0xdead_beef));
    assert_eq!((e.len() + 4) % 8, 0);
    e.extend_from_slice(&le16(12));
    e.extend_from_slice(&le16(IPCON_A_ID));
    e.extend_from_slice(&u64::MAX.to_le_bytes());
    for (kind, v) in [(IPCON_A_UID, 1001), (IPCON_A_GID, 0xffff_fffe)] {
        e.extend_from_slice(&le16(8));
        e.extend_from_slice(&le16(kind));
        e.extend_from_slice(&le32(v));
    }
    e.extend_from_slice(&le16(4 + 2));
    e.extend_from_slice(&le16(IPCON_A_NAME));
    e.extend_from_slice(b"x\0\0\0");
    let len = e.len() as u32;
    e[..4].copy_from_slice(&le32(len));
    match Message::parse(&mut e, FAMILY).unwrap() {
        Message::Event(ev) => {
            assert_eq!(ev.kind, EventKind::ServiceAdded);
            assert_eq!(ev.port, 0xdead_beef);
            assert_eq!((ev.id, ev.uid, ev.gid), (u64::MAX, 1001, 0xffff_fffe));
            assert_eq!(ev.name, Some("x"));
        }
        other => panic!("{other:?}"),
    }
}

/// An attribute header: length (header included, before padding), type.
fn nla(v: &mut Vec<u8>, len: usize, kind: u16) {
    v.extend_from_slice(&le16(len as u16));
    v.extend_from_slice(&le16(kind));
}

#[test]
fn policy_set_bytes_are_identical_on_every_arch() {
    let rules = [
        Rule {
            action: Action::Own,
            pattern: "a.*",
            who: Who::Uid(1001),
        },
        Rule {
            action: Action::Send,
            pattern: "*",
            who: Who::Anyone,
        },
        Rule {
            action: Action::Join,
            pattern: "g",
            who: Who::Gid(300),
        },
    ];
    let mut buf = vec![0u8; 256];
    let got = build_set(
        &mut buf,
        FAMILY,
        NLM_F_REQUEST | NLM_F_ACK,
        9,
        Default::Deny,
        &rules,
    )
    .unwrap()
    .to_vec();

    let nested = IPCON_A_RULE | 0x8000; // NLA_F_NESTED
    let mut want = headers(104, 0x0005, 9, IPCON_CMD_POLICY_SET);
    nla(&mut want, 8, IPCON_A_POLICY_DEFAULT);
    want.extend_from_slice(&le32(IPCON_POLICY_DENY));
    // Rule 1: 4 + ACTION 8 + PATTERN "a.*\0" 8 + UID 8 = 28.
    nla(&mut want, 28, nested);
    nla(&mut want, 8, IPCON_RULE_A_ACTION);
    want.extend_from_slice(&le32(IPCON_ACT_OWN));
    nla(&mut want, 8, IPCON_RULE_A_PATTERN);
    want.extend_from_slice(b"a.*\0");
    nla(&mut want, 8, IPCON_RULE_A_UID);
    want.extend_from_slice(&le32(1001));
    // Rule 2: anyone, no UID or GID; "*\0" is 6 bytes, padded to 8.
    nla(&mut want, 20, nested);
    nla(&mut want, 8, IPCON_RULE_A_ACTION);
    want.extend_from_slice(&le32(IPCON_ACT_SEND));
    nla(&mut want, 6, IPCON_RULE_A_PATTERN);
    want.extend_from_slice(b"*\0\0\0");
    // Rule 3.
    nla(&mut want, 28, nested);
    nla(&mut want, 8, IPCON_RULE_A_ACTION);
    want.extend_from_slice(&le32(IPCON_ACT_JOIN));
    nla(&mut want, 6, IPCON_RULE_A_PATTERN);
    want.extend_from_slice(b"g\0\0\0");
    nla(&mut want, 8, IPCON_RULE_A_GID);
    want.extend_from_slice(&le32(300));
    assert_eq!(want.len(), 104);
    assert_eq!(got, want);
    assert_eq!(set_len(&rules), 104);

    // An empty policy: the default only.
    let got = build_set(&mut buf, FAMILY, 0, 1, Default::Allow, &[]).unwrap();
    let mut want = headers(28, 0, 1, IPCON_CMD_POLICY_SET);
    nla(&mut want, 8, IPCON_A_POLICY_DEFAULT);
    want.extend_from_slice(&le32(IPCON_POLICY_ALLOW));
    assert_eq!(got, want);
    assert_eq!(set_len(&[]), 28);
}

#[test]
fn largest_policy_fits_the_policy_buffer() {
    let long = "p".repeat(62) + "*";
    let rules = vec![
        Rule {
            action: Action::Own,
            pattern: &long,
            who: Who::Gid(u32::MAX - 1),
        };
        crate::policy::RULES_MAX
    ];
    let len = set_len(&rules);
    assert!(len <= crate::policy::POLICY_BUFFER_SIZE, "{len}");
    let mut buf = vec![0u8; len];
    assert_eq!(
        build_set(&mut buf, FAMILY, 0, 1, Default::Deny, &rules)
            .unwrap()
            .len(),
        len
    );
    let mut short = vec![0u8; len - 1];
    assert_eq!(
        build_set(&mut short, FAMILY, 0, 1, Default::Deny, &rules),
        Err(crate::Error::BufferTooSmall)
    );
}

#[test]
fn policy_dump_bytes_parse_the_same_on_every_arch() {
    // The first message: default and count.
    let mut head = headers(36, 0x2, 5, IPCON_CMD_POLICY_GET);
    nla(&mut head, 8, IPCON_A_POLICY_DEFAULT);
    head.extend_from_slice(&le32(IPCON_POLICY_DENY));
    nla(&mut head, 8, IPCON_A_COUNT);
    head.extend_from_slice(&le32(2));
    let g = GenlMsg::new_checked(NlMsg::new_checked(&head).unwrap()).unwrap();
    assert_eq!(
        parse_entry(g),
        Ok(DumpEntry::Head {
            default: Default::Deny,
            count: 2
        })
    );
    // A rule message, as the kernel nests it (with NLA_F_NESTED), with an
    // attribute this crate does not know inside the nest.
    let mut rule = headers(52, 0x2, 5, IPCON_CMD_POLICY_GET);
    nla(&mut rule, 32, IPCON_A_RULE | 0x8000);
    nla(&mut rule, 8, IPCON_RULE_A_ACTION);
    rule.extend_from_slice(&le32(IPCON_ACT_SEND));
    nla(&mut rule, 8, IPCON_RULE_A_PATTERN);
    rule.extend_from_slice(b"ab*\0");
    nla(&mut rule, 4, 99);
    nla(&mut rule, 8, IPCON_RULE_A_GID);
    rule.extend_from_slice(&le32(7));
    assert_eq!(rule.len(), 52);
    let g = GenlMsg::new_checked(NlMsg::new_checked(&rule).unwrap()).unwrap();
    assert_eq!(
        parse_entry(g),
        Ok(DumpEntry::Rule(Rule {
            action: Action::Send,
            pattern: "ab*",
            who: Who::Gid(7)
        }))
    );
}
