// SPDX-License-Identifier: MIT OR Apache-2.0
//! Codec tests on hand-built byte arrays: round trips, chunk compaction,
//! malformed input and a deterministic fuzz loop. Nothing here may panic
//! inside the codec.

use std::vec;
use std::vec::Vec;

use super::attr::{Attr, AttrIter};
use super::builder::{data_headers, data_len, gather, Builder};
use super::genl::{
    parse_family_id, GenlMsg, CTRL_ATTR_FAMILY_ID, CTRL_CMD_NEWFAMILY, GENL_ID_CTRL,
};
use super::netlink::{NlMsg, NlMsgIter, NLMSG_ERROR};
use crate::policy::{Action, Rule, Who};
use crate::uapi::*;
use crate::{Error, EventKind, Message};

const FAMILY: u16 = 0x1f;

/// Build a delivery: `attrs(builder)` adds the attributes.
fn build(cmd: u8, attrs: impl FnOnce(&mut Builder<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 70000];
    let mut b = Builder::genl(&mut buf, FAMILY, 0, 0, cmd, IPCON_GENL_VERSION).unwrap();
    attrs(&mut b);
    let len = b.finish().unwrap().len();
    buf.truncate(len);
    buf
}

/// The sender stamp as the module writes it (the id after the pid, with
/// a PAD attribute if its value would not be 8-byte aligned).
fn sender_attrs(b: &mut Builder<'_>) {
    b.attr_u32(IPCON_A_SRC_PORT, 4242).unwrap();
    b.attr_u32(IPCON_A_UID, 1000).unwrap();
    b.attr_u32(IPCON_A_GID, 100).unwrap();
    b.attr_u32(IPCON_A_PID, 77).unwrap();
    b.attr_u64(IPCON_A_SRC_ID, 0x1_0000_0007).unwrap();
}

/// The subject of an event: port, id, uid, gid.
fn subject_attrs(b: &mut Builder<'_>, port: u32) {
    b.attr_u32(IPCON_A_PORT, port).unwrap();
    b.attr_u64(IPCON_A_ID, 99).unwrap();
    b.attr_u32(IPCON_A_UID, 1001).unwrap();
    b.attr_u32(IPCON_A_GID, 300).unwrap();
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn unicast_round_trip() {
    let mut m = build(IPCON_CMD_MSG, |b| {
        sender_attrs(b);
        b.attr_str(IPCON_A_SRC_NAME, "demo.client").unwrap();
        b.attr_str(IPCON_A_NAME, "demo.echo").unwrap();
        b.data(b"ping 1").unwrap();
    });
    match Message::parse(&mut m, FAMILY).unwrap() {
        Message::Unicast(u) => {
            assert_eq!(u.sender.port, 4242);
            assert_eq!(u.sender.id, 0x1_0000_0007);
            assert_eq!(u.sender.service, Some("demo.client"));
            assert_eq!((u.sender.uid, u.sender.gid, u.sender.pid), (1000, 100, 77));
            assert_eq!(u.service, Some("demo.echo"));
            assert_eq!(u.data, b"ping 1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unicast_without_optional_attributes_and_empty_payload() {
    let mut m = build(IPCON_CMD_MSG, sender_attrs);
    match Message::parse(&mut m, FAMILY).unwrap() {
        Message::Unicast(u) => {
            assert_eq!(u.sender.service, None);
            assert_eq!(u.service, None);
            assert!(u.data.is_empty());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn group_round_trip() {
    for (flags, retained) in [(0, false), (IPCON_MSG_F_RETAINED, true)] {
        let mut m = build(IPCON_CMD_GRP_MSG, |b| {
            b.attr_str(IPCON_A_NAME, "demo.temperature").unwrap();
            sender_attrs(b);
            b.attr_u32(IPCON_A_FLAGS, flags).unwrap();
            b.data(b"21.5").unwrap();
        });
        match Message::parse(&mut m, FAMILY).unwrap() {
            Message::Group(g) => {
                assert_eq!(g.group, "demo.temperature");
                assert_eq!(g.sender.port, 4242);
                assert_eq!(g.sender.id, 0x1_0000_0007);
                assert_eq!(g.retained, retained);
                assert_eq!(g.data, b"21.5");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn event_round_trip() {
    let cases = [
        (IPCON_EV_PEER_GONE, EventKind::PeerGone, None),
        (IPCON_EV_SRV_ADDED, EventKind::ServiceAdded, Some("a.b")),
        (IPCON_EV_SRV_REMOVED, EventKind::ServiceRemoved, Some("a.b")),
        (IPCON_EV_GRP_ADDED, EventKind::GroupAdded, Some("g")),
        (IPCON_EV_GRP_REMOVED, EventKind::GroupRemoved, Some("g")),
        (99, EventKind::Unknown(99), None),
    ];
    let names = [
        "peer-gone",
        "service-added",
        "service-removed",
        "group-added",
        "group-removed",
        "unknown(99)",
    ];
    for ((raw, kind, name), shown) in cases.into_iter().zip(names) {
        assert_eq!(EventKind::from_raw(raw), kind);
        assert_eq!(kind.to_raw(), raw);
        assert_eq!(std::format!("{kind}"), shown);
        assert!(shown.starts_with(kind.name()));
        let mut m = build(IPCON_CMD_EVENT, |b| {
            b.attr_u32(IPCON_A_EVENT, raw).unwrap();
            subject_attrs(b, 31337);
            if let Some(n) = name {
                b.attr_str(IPCON_A_NAME, n).unwrap();
            }
        });
        match Message::parse(&mut m, FAMILY).unwrap() {
            Message::Event(e) => {
                assert_eq!(e.kind, kind);
                assert_eq!(e.port, 31337);
                assert_eq!((e.id, e.uid, e.gid), (99, 1001, 300));
                assert_eq!(e.name, name);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn events_need_the_subject_identity() {
    // Each of port, id, uid, gid missing in turn: a protocol error.
    for skip in [IPCON_A_PORT, IPCON_A_ID, IPCON_A_UID, IPCON_A_GID] {
        let mut m = build(IPCON_CMD_EVENT, |b| {
            b.attr_u32(IPCON_A_EVENT, IPCON_EV_SRV_ADDED).unwrap();
            for (kind, v) in [(IPCON_A_PORT, 1), (IPCON_A_UID, 2), (IPCON_A_GID, 3)] {
                if kind != skip {
                    b.attr_u32(kind, v).unwrap();
                }
            }
            if skip != IPCON_A_ID {
                b.attr_u64(IPCON_A_ID, 4).unwrap();
            }
            b.attr_str(IPCON_A_NAME, "x").unwrap();
        });
        protocol_error(Message::parse(&mut m, FAMILY));
    }
}

#[test]
fn ids_are_u64_wherever_they_are_aligned() {
    // With and without PAD before the id, and an id that a 32-bit value
    // could not hold.
    for pad_first in [false, true] {
        let mut m = build(IPCON_CMD_MSG, |b| {
            if pad_first {
                b.attr_u32(IPCON_A_FLAGS, 0).unwrap();
            }
            sender_attrs(b);
            b.attr(IPCON_A_PAD, &[]).unwrap();
            b.data(b"x").unwrap();
        });
        match Message::parse(&mut m, FAMILY).unwrap() {
            Message::Unicast(u) => assert_eq!(u.sender.id, 0x1_0000_0007),
            other => panic!("{other:?}"),
        }
    }
    let mut m = build(IPCON_CMD_MSG, |b| {
        b.attr_u32(IPCON_A_SRC_PORT, 1).unwrap();
        b.attr_u32(IPCON_A_UID, 0).unwrap();
        b.attr_u32(IPCON_A_GID, 0).unwrap();
        b.attr_u32(IPCON_A_PID, 0).unwrap();
        b.attr_u64(IPCON_A_SRC_ID, u64::MAX).unwrap();
    });
    match Message::parse(&mut m, FAMILY).unwrap() {
        Message::Unicast(u) => assert_eq!(u.sender.id, u64::MAX),
        other => panic!("{other:?}"),
    }
}

#[test]
fn lost_round_trip() {
    for group in [None, Some("demo.temperature")] {
        let mut m = build(IPCON_CMD_LOST, |b| {
            b.attr_u32(IPCON_A_COUNT, 12).unwrap();
            if let Some(g) = group {
                b.attr_str(IPCON_A_NAME, g).unwrap();
            }
        });
        match Message::parse(&mut m, FAMILY).unwrap() {
            Message::Lost(l) => {
                assert_eq!(l.group, group);
                assert_eq!(l.count, 12);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn full_payload_in_two_chunks_is_compacted() {
    for len in [
        IPCON_CHUNK_MAX,
        IPCON_CHUNK_MAX + 1,
        40001,
        IPCON_PAYLOAD_MAX,
    ] {
        let data = pattern(len);
        let mut m = build(IPCON_CMD_MSG, |b| {
            sender_attrs(b);
            b.data(&data).unwrap();
        });
        assert!(m.len() <= crate::RECV_BUFFER_SIZE);
        match Message::parse(&mut m, FAMILY).unwrap() {
            Message::Unicast(u) => assert_eq!(u.data, &data[..]),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn chunks_interleaved_with_strings_are_compacted() {
    // Odd chunk sizes (padding), strings between and after chunks.
    let mut m = build(IPCON_CMD_GRP_MSG, |b| {
        sender_attrs(b);
        b.attr(IPCON_A_DATA, b"hello").unwrap();
        b.attr_str(IPCON_A_NAME, "grp.one").unwrap();
        b.attr(IPCON_A_DATA, b", ").unwrap();
        b.attr_u32(IPCON_A_FLAGS, IPCON_MSG_F_RETAINED).unwrap();
        b.attr(IPCON_A_DATA, b"").unwrap();
        b.attr_str(IPCON_A_SRC_NAME, "svc:x").unwrap();
        b.attr(IPCON_A_DATA, b"world!!").unwrap();
        b.attr(200, b"unknown").unwrap();
    });
    match Message::parse(&mut m, FAMILY).unwrap() {
        Message::Group(g) => {
            assert_eq!(g.data, b"hello, world!!");
            assert_eq!(g.group, "grp.one");
            assert_eq!(g.sender.service, Some("svc:x"));
            assert!(g.retained);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_attributes_are_skipped() {
    let mut m = build(IPCON_CMD_LOST, |b| {
        b.attr(0x7fff, &[1, 2, 3]).unwrap();
        b.attr_u32(IPCON_A_COUNT, 1).unwrap();
        b.attr(IPCON_A_MAX + 1, &[0; 9]).unwrap();
        b.attr(IPCON_A_TOKEN, &[0; 3]).unwrap(); // not used by LOST
    });
    assert!(matches!(
        Message::parse(&mut m, FAMILY),
        Ok(Message::Lost(_))
    ));
}

fn protocol_error<T: core::fmt::Debug, E: Into<Error>>(r: Result<T, E>) {
    match r.map_err(Into::into) {
        Err(Error::Protocol(_)) => {}
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[test]
fn malformed_headers() {
    let good = build(IPCON_CMD_LOST, |b| b.attr_u32(IPCON_A_COUNT, 1).unwrap());
    // zero-length and truncated buffers
    for n in 0..20 {
        protocol_error(Message::parse(&mut good.clone()[..n], FAMILY));
    }
    // nlmsg_len smaller than the header
    for len in [0u32, 1, 15] {
        let mut m = good.clone();
        m[..4].copy_from_slice(&len.to_ne_bytes());
        protocol_error(Message::parse(&mut m, FAMILY));
    }
    // nlmsg_len larger than the buffer
    let mut m = good.clone();
    m[..4].copy_from_slice(&(good.len() as u32 + 1).to_ne_bytes());
    protocol_error(Message::parse(&mut m, FAMILY));
    let mut m = good.clone();
    m[..4].copy_from_slice(&u32::MAX.to_ne_bytes());
    protocol_error(Message::parse(&mut m, FAMILY));
    // genetlink header missing
    let mut m = good.clone();
    m[..4].copy_from_slice(&18u32.to_ne_bytes());
    protocol_error(Message::parse(&mut m, FAMILY));
    // wrong message type (not the family; an error message)
    protocol_error(Message::parse(&mut good.clone(), FAMILY + 1));
    let mut m = good.clone();
    m[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
    protocol_error(Message::parse(&mut m, FAMILY));
    // A command that is not a delivery this crate knows (a newer module's)
    // is no error: it is reported, unparsed, as Unknown.
    for cmd in [IPCON_CMD_UNSPEC, IPCON_CMD_SEND, IPCON_CMD_PAIR_START, 200] {
        let mut m = good.clone();
        m[16] = cmd;
        assert_eq!(Message::parse(&mut m, FAMILY), Ok(Message::Unknown { cmd }));
    }
    // Even with attributes this crate could not parse.
    let mut m = build(201, |b| b.attr(IPCON_A_COUNT, &[1]).unwrap());
    assert_eq!(
        Message::parse(&mut m, FAMILY),
        Ok(Message::Unknown { cmd: 201 })
    );
}

#[test]
fn malformed_attributes() {
    let base = |extra: &dyn Fn(&mut Builder<'_>)| {
        build(IPCON_CMD_MSG, |b| {
            sender_attrs(b);
            extra(b);
        })
    };
    // string without NUL
    protocol_error(Message::parse(
        &mut base(&|b| b.attr(IPCON_A_NAME, b"abc").unwrap()),
        FAMILY,
    ));
    // non-UTF-8 string
    protocol_error(Message::parse(
        &mut base(&|b| b.attr(IPCON_A_SRC_NAME, b"a\xff\0").unwrap()),
        FAMILY,
    ));
    // u32 attribute of wrong length
    for bad in [&[][..], &[1, 2, 3][..], &[1, 2, 3, 4, 5][..]] {
        protocol_error(Message::parse(
            &mut base(&|b| b.attr(IPCON_A_PID, bad).unwrap()),
            FAMILY,
        ));
    }
    // u64 attribute of wrong length
    for bad in [&[][..], &[1, 2, 3, 4][..], &[0; 9][..], &[0; 16][..]] {
        for kind in [IPCON_A_SRC_ID, IPCON_A_ID] {
            protocol_error(Message::parse(
                &mut base(&|b| b.attr(kind, bad).unwrap()),
                FAMILY,
            ));
        }
    }
    // missing mandatory sender attribute
    let mut m = build(IPCON_CMD_MSG, |b| b.attr_u32(IPCON_A_SRC_PORT, 1).unwrap());
    protocol_error(Message::parse(&mut m, FAMILY));
    // a stamp without the sender id (a module older than the crate)
    let mut m = build(IPCON_CMD_MSG, |b| {
        b.attr_u32(IPCON_A_SRC_PORT, 4242).unwrap();
        b.attr_u32(IPCON_A_UID, 1000).unwrap();
        b.attr_u32(IPCON_A_GID, 100).unwrap();
        b.attr_u32(IPCON_A_PID, 77).unwrap();
    });
    protocol_error(Message::parse(&mut m, FAMILY));
    // nla_len < 4, and nla_len overrunning the message
    let good = base(&|b| b.data(b"xyz").unwrap());
    let data_attr = good.len() - 8; // last attribute: 4 header + 3 data + 1 pad
    for nla_len in [0u16, 1, 3, 9, 200, u16::MAX] {
        let mut m = good.clone();
        m[data_attr..data_attr + 2].copy_from_slice(&nla_len.to_ne_bytes());
        protocol_error(Message::parse(&mut m, FAMILY));
    }
    // trailing bytes too short for an attribute header are padding
    let mut m = good.clone();
    m.extend_from_slice(&[0, 0]);
    let len = m.len() as u32;
    m[..4].copy_from_slice(&len.to_ne_bytes());
    assert!(Message::parse(&mut m, FAMILY).is_ok());
}

#[test]
fn attribute_iterator_and_getters() {
    let mut buf = [0u8; 64];
    let mut b = Builder::new(&mut buf, 1, 0, 0).unwrap();
    b.attr_u32(1, 7).unwrap();
    b.attr_str(2, "x").unwrap();
    b.attr_u16(3, 9).unwrap();
    let msg = b.finish().unwrap();
    let attrs: Vec<Attr<'_>> = AttrIter::new(&msg[16..]).map(Result::unwrap).collect();
    assert_eq!(attrs.len(), 3);
    assert_eq!(attrs[0].u32(), Ok(7));
    assert!(attrs[0].u64().is_err());
    assert!(attrs[0].u16().is_err());
    assert_eq!(attrs[1].str(), Ok("x"));
    assert_eq!(attrs[2].u16(), Ok(9));
    // An overrun yields one error and then stops.
    let bad = [8u8, 0, 1, 0, 1, 2];
    let mut it = AttrIter::new(&bad);
    assert!(matches!(it.next(), Some(Err(_))));
    assert!(it.next().is_none());
    assert!(AttrIter::new(&[]).next().is_none());
    assert!(AttrIter::new(&[1, 2, 3]).next().is_none());
}

#[test]
fn netlink_iterator() {
    let a = build(IPCON_CMD_LOST, |b| b.attr_u32(IPCON_A_COUNT, 1).unwrap());
    let mut two = a.clone();
    two.extend_from_slice(&a);
    assert_eq!(NlMsgIter::new(&two).filter(|m| m.is_ok()).count(), 2);
    two.extend_from_slice(&[1, 2, 3]);
    let v: Vec<_> = NlMsgIter::new(&two).collect();
    assert_eq!(v.len(), 3);
    assert!(v[2].is_err());
    let m = NlMsg::new_checked(&a).unwrap();
    assert_eq!((m.kind(), m.len()), (FAMILY, a.len()));
    assert!(m.error_code().is_ok());
    assert!(NlMsg::new_checked(&a[..16]).is_err());
}

#[test]
fn builder_overflow_and_u64_alignment() {
    let mut small = [0u8; 24];
    let mut b = Builder::genl(&mut small, FAMILY, 0, 1, IPCON_CMD_PAIR, 1).unwrap();
    assert_eq!(b.attr_u32(IPCON_A_PORT, 1), Err(Error::BufferTooSmall));
    assert_eq!(
        b.attr_str(IPCON_A_NAME, "toolong"),
        Err(Error::BufferTooSmall)
    );
    assert!(Builder::new(&mut [0u8; 15], 1, 0, 0).is_err());
    assert!(Builder::new(&mut [], 1, 0, 0).is_err());

    // The PAIR request: PORT then TOKEN needs no padding; TOKEN first does.
    let mut buf = [0u8; 64];
    let mut b = Builder::genl(&mut buf, FAMILY, 0, 1, IPCON_CMD_PAIR, 1).unwrap();
    b.attr_u32(IPCON_A_PORT, 5).unwrap();
    b.attr_u64(IPCON_A_TOKEN, 0x0102_0304_0506_0708).unwrap();
    assert_eq!(b.finish().unwrap().len(), 20 + 8 + 12);
    let mut b = Builder::genl(&mut buf, FAMILY, 0, 1, IPCON_CMD_PAIR, 1).unwrap();
    b.attr_u64(IPCON_A_TOKEN, 0x0102_0304_0506_0708).unwrap();
    let msg = b.finish().unwrap();
    let g = GenlMsg::new_checked(NlMsg::new_checked(msg).unwrap()).unwrap();
    let tok = AttrIter::find(g.attrs(), IPCON_A_TOKEN).unwrap().unwrap();
    assert_eq!(tok.offset() % 8, 4, "offset relative to the attributes");
    assert_eq!((20 + tok.offset()) % 8, 0);
    assert_eq!(tok.u64(), Ok(0x0102_0304_0506_0708));
}

#[test]
fn zero_copy_layout_equals_copied_message() {
    for len in [
        0,
        1,
        3,
        4,
        5,
        IPCON_CHUNK_MAX - 1,
        IPCON_CHUNK_MAX,
        IPCON_CHUNK_MAX + 2,
        IPCON_PAYLOAD_MAX,
    ] {
        let data = pattern(len);
        let copied = build(IPCON_CMD_SEND, |b| {
            b.attr_u32(IPCON_A_PORT, 9).unwrap();
            b.data(&data).unwrap();
        });
        let mut head = [0u8; 64];
        let mut b =
            Builder::genl(&mut head, FAMILY, 0, 0, IPCON_CMD_SEND, IPCON_GENL_VERSION).unwrap();
        b.attr_u32(IPCON_A_PORT, 9).unwrap();
        let head = b.finish_with_trailer(data_len(len)).unwrap();
        let hdrs = data_headers(&data);
        let (parts, n) = gather(head, &hdrs, &data);
        let gathered: Vec<u8> = parts[..n].concat();
        assert_eq!(gathered, copied, "payload length {len}");
    }
}

#[test]
fn nlctrl_family_reply() {
    let mut buf = [0u8; 128];
    let mut b = Builder::genl(&mut buf, GENL_ID_CTRL, 0, 1, CTRL_CMD_NEWFAMILY, 2).unwrap();
    b.attr_str(2, "IPCON").unwrap();
    b.attr_u16(CTRL_ATTR_FAMILY_ID, 0x22).unwrap();
    let msg = b.finish().unwrap();
    let g = GenlMsg::new_checked(NlMsg::new_checked(msg).unwrap()).unwrap();
    assert_eq!(parse_family_id(g), Ok(0x22));
}

/// xorshift64*: deterministic pseudo-random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn exercise(buf: &mut [u8]) {
    for m in NlMsgIter::new(buf).flatten() {
        let _ = m.error_code();
        if let Ok(g) = GenlMsg::new_checked(m) {
            let _ = parse_family_id(g);
            let _ = super::policy::parse_entry(g);
            for a in g.attr_iter().flatten() {
                let _ = (a.u32(), a.u64(), a.str());
                let _ = super::policy::parse_rule(a.payload());
                for n in a.nested().flatten() {
                    let _ = (n.u32(), n.str());
                }
            }
        }
    }
    let _ = Message::parse(buf, FAMILY);
}

#[test]
fn fuzz_parser_never_panics() {
    let data = pattern(300);
    let seeds = [
        build(IPCON_CMD_MSG, |b| {
            sender_attrs(b);
            b.attr_str(IPCON_A_SRC_NAME, "s").unwrap();
            b.attr(IPCON_A_DATA, &data[..100]).unwrap();
            b.attr_str(IPCON_A_NAME, "n.n").unwrap();
            b.attr(IPCON_A_DATA, &data[100..]).unwrap();
        }),
        build(IPCON_CMD_GRP_MSG, |b| {
            b.attr_str(IPCON_A_NAME, "g").unwrap();
            sender_attrs(b);
            b.attr_u32(IPCON_A_FLAGS, 1).unwrap();
            b.data(b"reading").unwrap();
        }),
        build(IPCON_CMD_EVENT, |b| {
            b.attr_u32(IPCON_A_EVENT, 3).unwrap();
            subject_attrs(b, 3);
            b.attr_str(IPCON_A_NAME, "x").unwrap();
        }),
        build(IPCON_CMD_LOST, |b| b.attr_u32(IPCON_A_COUNT, 2).unwrap()),
        build(IPCON_CMD_POLICY_GET, |b| {
            b.attr_u32(IPCON_A_POLICY_DEFAULT, 1).unwrap();
            b.attr_u32(IPCON_A_COUNT, 1).unwrap();
        }),
        build(IPCON_CMD_POLICY_GET, |b| {
            super::policy::put_rule(
                b,
                &Rule {
                    action: Action::Join,
                    pattern: "a.*",
                    who: Who::Uid(5),
                },
            )
            .unwrap();
        }),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    for i in 0..100_000 {
        let mut buf = if i % 4 == 0 {
            // random bytes, sometimes with a plausible header
            let len = rng.below(160);
            let mut b: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if len >= 20 && rng.below(2) == 0 {
                b[..4].copy_from_slice(&(rng.below(len + 8) as u32).to_ne_bytes());
                b[4..6].copy_from_slice(&FAMILY.to_ne_bytes());
                b[16] = IPCON_CMD_MSG + rng.below(4) as u8;
            }
            b
        } else {
            // a valid delivery with a few mutations
            let mut b = seeds[rng.below(seeds.len())].clone();
            for _ in 0..1 + rng.below(4) {
                if b.is_empty() {
                    break;
                }
                let at = rng.below(b.len());
                match rng.below(4) {
                    0 => b[at] = rng.next() as u8,
                    1 => b[at] ^= 1 << rng.below(8),
                    2 => b.truncate(at),
                    _ => {
                        let v = [0u8, 1, 3, 4, 0xff][rng.below(5)];
                        b[at] = v;
                    }
                }
            }
            b
        };
        exercise(&mut buf);
        if Message::parse(&mut buf, FAMILY).is_ok() {
            parsed += 1;
        }
    }
    // The mutations leave some messages valid: the loop covers both paths.
    assert!(parsed > 1000, "only {parsed} mutated messages parsed");
}

#[cfg(feature = "defmt")]
#[test]
fn public_types_implement_defmt_format() {
    fn is_format<T: defmt::Format>() {}
    is_format::<Message<'static>>();
    is_format::<crate::Event<'static>>();
    is_format::<crate::Lost<'static>>();
    is_format::<Error>();
    is_format::<crate::Name>();
    is_format::<crate::Target<'static>>();
    is_format::<crate::GroupFlags>();
    is_format::<crate::JoinFlags>();
    is_format::<crate::ServiceInfo<'static>>();
    is_format::<crate::GroupInfo<'static>>();
}

fn genl(m: &[u8]) -> GenlMsg<'_> {
    GenlMsg::new_checked(NlMsg::new_checked(m).unwrap()).unwrap()
}

#[cfg(feature = "alloc")]
fn policy_rule(pattern: &str, who: Who) -> Vec<u8> {
    build(IPCON_CMD_POLICY_GET, |b| {
        super::policy::put_rule(
            b,
            &Rule {
                action: Action::Own,
                pattern,
                who,
            },
        )
        .unwrap()
    })
}

#[cfg(feature = "alloc")]
fn policy_head(default: u32, count: u32) -> Vec<u8> {
    build(IPCON_CMD_POLICY_GET, |b| {
        b.attr_u32(IPCON_A_POLICY_DEFAULT, default).unwrap();
        b.attr_u32(IPCON_A_COUNT, count).unwrap();
    })
}

#[test]
fn malformed_policy_entries() {
    use super::policy::parse_entry;
    let entry = |attrs: &dyn Fn(&mut Builder<'_>)| {
        let m = build(IPCON_CMD_POLICY_GET, attrs);
        parse_entry(genl(&m)).map(|_| ())
    };
    let nest = |b: &mut Builder<'_>, inner: &dyn Fn(&mut Builder<'_>)| {
        let n = b.nest_start(IPCON_A_RULE).unwrap();
        inner(b);
        b.nest_end(n).unwrap();
    };
    let action = |b: &mut Builder<'_>, a: u32| b.attr_u32(IPCON_RULE_A_ACTION, a).unwrap();
    let pattern = |b: &mut Builder<'_>| b.attr_str(IPCON_RULE_A_PATTERN, "x").unwrap();
    assert_eq!(
        entry(&|b| nest(b, &|b| {
            action(b, IPCON_ACT_OWN);
            pattern(b)
        })),
        Ok(())
    );
    // nothing, a default without count, a count alone, an unknown default
    protocol_error(entry(&|_| {}));
    protocol_error(entry(&|b| b.attr_u32(IPCON_A_POLICY_DEFAULT, 0).unwrap()));
    protocol_error(entry(&|b| b.attr_u32(IPCON_A_COUNT, 0).unwrap()));
    protocol_error(entry(&|b| {
        b.attr_u32(IPCON_A_POLICY_DEFAULT, 2).unwrap();
        b.attr_u32(IPCON_A_COUNT, 0).unwrap();
    }));
    // a rule with a default, two rules
    protocol_error(entry(&|b| {
        b.attr_u32(IPCON_A_POLICY_DEFAULT, 0).unwrap();
        nest(b, &|b| {
            action(b, 1);
            pattern(b)
        });
    }));
    protocol_error(entry(&|b| {
        for _ in 0..2 {
            nest(b, &|b| {
                action(b, 1);
                pattern(b)
            });
        }
    }));
    // rules: no action, unknown action, no pattern, bad pattern string,
    // uid and gid, a u32 of wrong length, a truncated nested attribute
    protocol_error(entry(&|b| nest(b, &|b| pattern(b))));
    for bad in [0, 4, u32::MAX] {
        protocol_error(entry(&|b| {
            nest(b, &|b| {
                action(b, bad);
                pattern(b)
            })
        }));
    }
    protocol_error(entry(&|b| nest(b, &|b| action(b, 1))));
    protocol_error(entry(&|b| {
        nest(b, &|b| {
            action(b, 1);
            b.attr(IPCON_RULE_A_PATTERN, b"no nul").unwrap();
        })
    }));
    protocol_error(entry(&|b| {
        nest(b, &|b| {
            action(b, 1);
            pattern(b);
            b.attr_u32(IPCON_RULE_A_UID, 1).unwrap();
            b.attr_u32(IPCON_RULE_A_GID, 1).unwrap();
        })
    }));
    protocol_error(entry(&|b| {
        nest(b, &|b| {
            action(b, 1);
            pattern(b);
            b.attr(IPCON_RULE_A_UID, &[1, 2]).unwrap();
        })
    }));
    protocol_error(entry(&|b| b.attr(IPCON_A_RULE, &[9, 0, 1, 0]).unwrap()));
}

#[cfg(feature = "alloc")]
#[test]
fn policy_dump_assembly() {
    use super::netlink::NLM_F_DUMP_INTR;
    use super::policy::{DumpProblem, DumpReader};
    use crate::policy::Default;

    let read = |msgs: &[Vec<u8>]| {
        let mut r = DumpReader::default();
        for m in msgs {
            r.push(genl(m));
        }
        r.finish()
    };
    let head = policy_head(IPCON_POLICY_DENY, 2);
    let r1 = policy_rule("a", Who::Uid(1));
    let r2 = policy_rule("b*", Who::Anyone);
    let p = read(&[head.clone(), r1.clone(), r2.clone()]).unwrap();
    assert_eq!(p.default, Default::Deny);
    assert_eq!(p.to_string(), "default deny\nown a uid 1\nown b* anyone\n");
    let empty = read(&[policy_head(IPCON_POLICY_ALLOW, 0)]).unwrap();
    assert_eq!(empty, crate::policy::Policy::default());

    // Count mismatches: read again.
    for msgs in [
        vec![head.clone(), r1.clone()],
        vec![head.clone(), r1.clone(), r2.clone(), r2.clone()],
    ] {
        assert!(matches!(read(&msgs), Err(DumpProblem::Again(_))));
    }
    // NLM_F_DUMP_INTR on any message: read again, even if it looks whole.
    for at in 0..3 {
        let mut msgs = vec![head.clone(), r1.clone(), r2.clone()];
        let flags = u16::from_ne_bytes([msgs[at][6], msgs[at][7]]) | NLM_F_DUMP_INTR;
        msgs[at][6..8].copy_from_slice(&flags.to_ne_bytes());
        assert!(matches!(read(&msgs), Err(DumpProblem::Again(_))), "{at}");
    }
    // ... or on the final NLMSG_DONE, which the reader is told about.
    let mut r = DumpReader::default();
    for m in [&head, &r1, &r2] {
        r.push(genl(m));
    }
    r.interrupted();
    assert!(matches!(r.finish(), Err(DumpProblem::Again(_))));
    // Malformed: no first message, a rule first, two first messages, a
    // bad rule.
    let bad_rule = build(IPCON_CMD_POLICY_GET, |b| {
        let n = b.nest_start(IPCON_A_RULE).unwrap();
        b.attr_u32(IPCON_RULE_A_ACTION, 9).unwrap();
        b.nest_end(n).unwrap();
    });
    for msgs in [
        vec![],
        vec![r1.clone(), head.clone(), r2.clone()],
        vec![head.clone(), head.clone(), r1.clone(), r2.clone()],
        vec![head.clone(), r1.clone(), bad_rule],
    ] {
        assert!(
            matches!(read(&msgs), Err(DumpProblem::Fail(_))),
            "{:?}",
            read(&msgs)
        );
    }
    // More than 512 rules.
    let mut msgs = vec![policy_head(0, 513)];
    msgs.extend(std::iter::repeat_n(r1.clone(), 513));
    assert!(matches!(read(&msgs), Err(DumpProblem::Fail(_))));
}

#[test]
fn nests_are_closed_with_their_length() {
    let mut buf = [0u8; 64];
    let mut b = Builder::new(&mut buf, 1, 0, 0).unwrap();
    let n = b.nest_start(IPCON_A_RULE).unwrap();
    b.attr_str(IPCON_RULE_A_PATTERN, "ab").unwrap();
    b.nest_end(n).unwrap();
    b.attr_u32(IPCON_A_COUNT, 3).unwrap();
    let msg = b.finish().unwrap();
    let attrs: Vec<Attr<'_>> = AttrIter::new(&msg[16..]).map(Result::unwrap).collect();
    assert_eq!(attrs.len(), 2);
    assert_eq!(attrs[0].kind(), IPCON_A_RULE);
    assert_eq!(attrs[0].payload().len(), 8);
    let inner: Vec<Attr<'_>> = attrs[0].nested().map(Result::unwrap).collect();
    assert_eq!(inner[0].str(), Ok("ab"));
    assert_eq!(attrs[1].u32(), Ok(3));
    // A nest that no longer fits.
    let mut small = [0u8; 22];
    let mut b = Builder::new(&mut small, 1, 0, 0).unwrap();
    let n = b.nest_start(IPCON_A_RULE).unwrap();
    assert_eq!(b.attr_u32(1, 1), Err(Error::BufferTooSmall));
    b.nest_end(n).unwrap();
}

#[test]
fn nest_start_end_writes_the_nest_length() {
    use super::builder::Builder;
    let mut buf = [0u8; 64];
    let mut b = Builder::new(&mut buf, 0x1f, 0, 1).unwrap();
    let rule = b.nest_start(IPCON_A_RULE).unwrap();
    b.attr_u32(IPCON_RULE_A_ACTION, IPCON_ACT_OWN).unwrap();
    b.nest_end(rule).unwrap();
    let msg = b.finish().unwrap();
    assert_eq!(msg.len(), 16 + 4 + 8);
    // nla_len 12 (header + one u32 attribute), type with NLA_F_NESTED
    assert_eq!(u16::from_ne_bytes([msg[16], msg[17]]), 12);
    assert_eq!(
        u16::from_ne_bytes([msg[18], msg[19]]),
        IPCON_A_RULE | (1 << 15)
    );
}
