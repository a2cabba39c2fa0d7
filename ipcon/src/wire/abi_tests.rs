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
use super::netlink::{NLMSG_HDRLEN, NLM_F_ACK, NLM_F_REQUEST};
use super::{attr::NLA_HDRLEN, genl::GENL_HDRLEN};
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
    m.extend_from_slice(&le16(4 + 3));
    m.extend_from_slice(&le16(IPCON_A_DATA));
    m.extend_from_slice(b"xyz\0");
    let len = m.len() as u32;
    m[..4].copy_from_slice(&le32(len));
    match Message::parse(&mut m, FAMILY).unwrap() {
        Message::Unicast(u) => {
            assert_eq!(u.sender.port, 0x8000_0001);
            assert_eq!(
                (u.sender.uid, u.sender.gid, u.sender.pid),
                (1000, 1001, 0xfffe)
            );
            assert_eq!(u.sender.service, Some("a.b.c"));
            assert_eq!(u.data, b"xyz");
        }
        other => panic!("{other:?}"),
    }

    // An event: kind and port as u32, name as a string.
    let mut e = headers(0, 0, 0, IPCON_CMD_EVENT);
    e.extend_from_slice(&le16(8));
    e.extend_from_slice(&le16(IPCON_A_EVENT));
    e.extend_from_slice(&le32(IPCON_EV_SRV_ADDED));
    e.extend_from_slice(&le16(8));
    e.extend_from_slice(&le16(IPCON_A_PORT));
    e.extend_from_slice(&le32(0xdead_beef));
    e.extend_from_slice(&le16(4 + 2));
    e.extend_from_slice(&le16(IPCON_A_NAME));
    e.extend_from_slice(b"x\0\0\0");
    let len = e.len() as u32;
    e[..4].copy_from_slice(&le32(len));
    match Message::parse(&mut e, FAMILY).unwrap() {
        Message::Event(ev) => {
            assert_eq!(ev.kind, EventKind::ServiceAdded);
            assert_eq!(ev.port, 0xdead_beef);
            assert_eq!(ev.name, Some("x"));
        }
        other => panic!("{other:?}"),
    }
}
