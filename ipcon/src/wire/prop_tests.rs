// SPDX-License-Identifier: MIT OR Apache-2.0
//! Property tests: build a delivery (or a request) from generated values,
//! parse it, and get the same values back, over payload sizes up to the
//! maximum, every way of cutting the payload into chunks, and any order of
//! the attributes (with unknown ones mixed in); and no input whatever makes
//! a parser panic. `PROPTEST_CASES` sets the number of cases (64 by
//! default here: the suite also runs on ARM under emulation).

use std::string::String;
use std::vec::Vec;

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::builder::{data_headers, data_len, gather, Builder};
use super::genl::GenlMsg;
use super::netlink::NlMsg;
use super::policy::{parse_rule, put_rule};
use crate::policy::{Action, Rule, Who};
use crate::uapi::*;
use crate::{EventKind, Message};

const FAMILY: u16 = 0x1f;

fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(64),
        // Nothing written next to the sources (a packaged crate, a device).
        failure_persistence: None,
        ..Config::default()
    }
}

/// One attribute of a generated delivery.
#[derive(Debug, Clone)]
enum Item {
    U32(u16, u32),
    U64(u16, u64),
    Str(u16, String),
    /// The next data chunk, of this many bytes (filled in order).
    Chunk(usize),
    /// An attribute this crate does not know.
    Unknown(u16, Vec<u8>),
}

/// A valid name: 1 to 63 bytes of `[A-Za-z0-9._:-]`.
fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._:-]{1,63}"
}

/// Payload lengths that matter: empty, small, around the chunk size, the
/// maximum, and anything in between.
fn payload_len() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        1usize..64,
        (IPCON_CHUNK_MAX - 4)..=(IPCON_CHUNK_MAX + 4),
        (IPCON_PAYLOAD_MAX - 4)..=IPCON_PAYLOAD_MAX,
        0usize..=IPCON_PAYLOAD_MAX,
    ]
}

/// Cut `len` bytes into chunks of at most IPCON_CHUNK_MAX bytes, at
/// generated points (empty chunks included).
fn chunks(len: usize) -> impl Strategy<Value = Vec<usize>> {
    let min = len.div_ceil(IPCON_CHUNK_MAX);
    proptest::collection::vec(0..=len, min..min + 4).prop_map(move |mut cuts| {
        cuts.push(0);
        cuts.push(len);
        cuts.sort_unstable();
        let mut sizes: Vec<usize> = cuts.windows(2).map(|w| w[1] - w[0]).collect();
        // Split any chunk still over the maximum.
        let mut out = Vec::new();
        for s in sizes.drain(..) {
            let mut s = s;
            while s > IPCON_CHUNK_MAX {
                out.push(IPCON_CHUNK_MAX);
                s -= IPCON_CHUNK_MAX;
            }
            out.push(s);
        }
        out
    })
}

fn unknown_attrs() -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec(
        (
            IPCON_A_MAX + 1..0x3fff,
            proptest::collection::vec(any::<u8>(), 0..12),
        )
            .prop_map(|(k, v)| Item::Unknown(k, v)),
        0..3,
    )
}

/// Build the delivery `cmd` from `items` in their order, the chunks filled
/// from `payload` in order of appearance.
fn build(cmd: u8, items: &[Item], payload: &[u8]) -> Vec<u8> {
    let mut buf = std::vec![0u8; 70000];
    let mut b = Builder::genl(&mut buf, FAMILY, 0, 0, cmd, IPCON_GENL_VERSION).unwrap();
    let mut at = 0;
    for item in items {
        match item {
            Item::U32(k, v) => b.attr_u32(*k, *v).unwrap(),
            Item::U64(k, v) => b.attr_u64(*k, *v).unwrap(),
            Item::Str(k, s) => b.attr_str(*k, s).unwrap(),
            Item::Chunk(n) => {
                b.attr(IPCON_A_DATA, &payload[at..at + n]).unwrap();
                at += n;
            }
            Item::Unknown(k, v) => b.attr(*k, v).unwrap(),
        }
    }
    assert_eq!(at, payload.len());
    let len = b.finish().unwrap().len();
    buf.truncate(len);
    buf
}

/// Everything a unicast or group message may carry, shuffled with its
/// chunks and unknown attributes.
#[derive(Debug, Clone)]
struct Delivery {
    port: u32,
    id: u64,
    uid: u32,
    gid: u32,
    pid: u32,
    src_name: Option<String>,
    name: Option<String>,
    retained: bool,
    payload: Vec<u8>,
    items: Vec<Item>,
}

fn delivery(group: bool) -> impl Strategy<Value = Delivery> {
    (
        any::<(u32, u64, u32, u32, u32)>(),
        proptest::option::of(name()),
        if group {
            name().prop_map(Some).boxed()
        } else {
            proptest::option::of(name()).boxed()
        },
        any::<bool>(),
        payload_len(),
        unknown_attrs(),
    )
        .prop_flat_map(
            move |((port, id, uid, gid, pid), src_name, name, retained, len, unknown)| {
                let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
                (chunks(len), Just(payload)).prop_flat_map(move |(sizes, payload)| {
                    let mut items = std::vec![
                        Item::U32(IPCON_A_SRC_PORT, port),
                        Item::U64(IPCON_A_SRC_ID, id),
                        Item::U32(IPCON_A_UID, uid),
                        Item::U32(IPCON_A_GID, gid),
                        Item::U32(IPCON_A_PID, pid),
                    ];
                    if let Some(s) = &src_name {
                        items.push(Item::Str(IPCON_A_SRC_NAME, s.clone()));
                    }
                    if let Some(n) = &name {
                        items.push(Item::Str(IPCON_A_NAME, n.clone()));
                    }
                    if group {
                        let flags = if retained { IPCON_MSG_F_RETAINED } else { 0 };
                        items.push(Item::U32(IPCON_A_FLAGS, flags));
                    }
                    items.extend(sizes.iter().map(|&n| Item::Chunk(n)));
                    items.extend(unknown.iter().cloned());
                    let d = Delivery {
                        port,
                        id,
                        uid,
                        gid,
                        pid,
                        src_name: src_name.clone(),
                        name: name.clone(),
                        retained: group && retained,
                        payload: payload.clone(),
                        items: Vec::new(),
                    };
                    Just(items).prop_shuffle().prop_map(move |mut items| {
                        // Chunks are filled in order of appearance, so any
                        // shuffle still carries the payload in order.
                        let sizes_in_order: Vec<usize> = sizes.clone();
                        let mut next = sizes_in_order.into_iter();
                        for it in items.iter_mut() {
                            if let Item::Chunk(n) = it {
                                *n = next.next().unwrap();
                            }
                        }
                        Delivery { items, ..d.clone() }
                    })
                })
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn unicast_round_trips(d in delivery(false)) {
        let mut m = build(IPCON_CMD_MSG, &d.items, &d.payload);
        prop_assert!(m.len() <= crate::RECV_BUFFER_SIZE);
        match Message::parse(&mut m, FAMILY) {
            Ok(Message::Unicast(u)) => {
                prop_assert_eq!(u.data, &d.payload[..]);
                prop_assert_eq!(
                    (u.sender.port, u.sender.id, u.sender.uid, u.sender.gid, u.sender.pid),
                    (d.port, d.id, d.uid, d.gid, d.pid)
                );
                prop_assert_eq!(u.sender.service, d.src_name.as_deref());
                prop_assert_eq!(u.service, d.name.as_deref());
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn group_message_round_trips(d in delivery(true)) {
        let mut m = build(IPCON_CMD_GRP_MSG, &d.items, &d.payload);
        match Message::parse(&mut m, FAMILY) {
            Ok(Message::Group(g)) => {
                prop_assert_eq!(g.data, &d.payload[..]);
                prop_assert_eq!(Some(g.group), d.name.as_deref());
                prop_assert_eq!(g.retained, d.retained);
                prop_assert_eq!((g.sender.port, g.sender.id), (d.port, d.id));
                prop_assert_eq!(g.sender.service, d.src_name.as_deref());
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn event_round_trips(
        (raw, port, id, uid, gid) in any::<(u32, u32, u64, u32, u32)>(),
        name in proptest::option::of(name()),
        unknown in unknown_attrs(),
        order in any::<u64>(),
    ) {
        let mut items = std::vec![
            Item::U32(IPCON_A_EVENT, raw),
            Item::U32(IPCON_A_PORT, port),
            Item::U64(IPCON_A_ID, id),
            Item::U32(IPCON_A_UID, uid),
            Item::U32(IPCON_A_GID, gid),
        ];
        if let Some(n) = &name {
            items.push(Item::Str(IPCON_A_NAME, n.clone()));
        }
        items.extend(unknown);
        // A rotation and a reversal chosen by `order`: attribute order
        // must not matter.
        let k = (order as usize) % items.len();
        items.rotate_left(k);
        if order & 1 == 1 {
            items.reverse();
        }
        let mut m = build(IPCON_CMD_EVENT, &items, &[]);
        match Message::parse(&mut m, FAMILY) {
            Ok(Message::Event(e)) => {
                prop_assert_eq!(e.kind, EventKind::from_raw(raw));
                prop_assert_eq!(e.kind.to_raw(), raw);
                prop_assert_eq!((e.port, e.id, e.uid, e.gid), (port, id, uid, gid));
                prop_assert_eq!(e.name, name.as_deref());
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn lost_round_trips(count in any::<u32>(), group in proptest::option::of(name()), first in any::<bool>()) {
        let mut items = std::vec![Item::U32(IPCON_A_COUNT, count)];
        if let Some(g) = &group {
            items.push(Item::Str(IPCON_A_NAME, g.clone()));
        }
        if first {
            items.reverse();
        }
        let mut m = build(IPCON_CMD_LOST, &items, &[]);
        match Message::parse(&mut m, FAMILY) {
            Ok(Message::Lost(l)) => {
                prop_assert_eq!(l.count, count);
                prop_assert_eq!(l.group, group.as_deref());
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// The zero-copy send path (header, then each chunk's attribute header
    /// and bytes as separate slices) gives the same bytes as a message
    /// built by copying, and it parses back to the payload.
    #[test]
    fn zero_copy_send_equals_copied_message(len in payload_len(), target in name()) {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        let mut hdr = [0u8; 256];
        let mut b = Builder::genl(&mut hdr, FAMILY, 5, 9, IPCON_CMD_SEND, IPCON_GENL_VERSION).unwrap();
        b.attr_str(IPCON_A_NAME, &target).unwrap();
        let head = b.finish_with_trailer(data_len(len)).unwrap();
        let hdrs = data_headers(&payload);
        let (parts, n) = gather(head, &hdrs, &payload);
        let sent: Vec<u8> = parts[..n].concat();

        let mut buf = std::vec![0u8; 70000];
        let mut c = Builder::genl(&mut buf, FAMILY, 5, 9, IPCON_CMD_SEND, IPCON_GENL_VERSION).unwrap();
        c.attr_str(IPCON_A_NAME, &target).unwrap();
        c.data(&payload).unwrap();
        let copied = c.finish().unwrap();
        prop_assert_eq!(&sent[..], copied);

        // And the kernel's view of it: one message, its attributes in order.
        let nl = NlMsg::new_checked(&sent).unwrap();
        prop_assert_eq!(nl.len(), sent.len());
        let g = GenlMsg::new_checked(nl).unwrap();
        let mut data = Vec::new();
        for a in g.attr_iter() {
            let a = a.unwrap();
            match a.kind() {
                IPCON_A_NAME => prop_assert_eq!(a.str().unwrap(), target.as_str()),
                IPCON_A_DATA => data.extend_from_slice(a.payload()),
                other => prop_assert!(false, "attribute {}", other),
            }
        }
        prop_assert_eq!(data, payload);
    }

    #[test]
    fn policy_rule_round_trips(
        action in prop_oneof![Just(Action::Own), Just(Action::Send), Just(Action::Join)],
        pattern in "[A-Za-z0-9._:-]{0,62}\\*?".prop_filter("empty", |p| !p.is_empty()),
        who in prop_oneof![
            Just(Who::Anyone),
            (0..=crate::policy::ID_MAX).prop_map(Who::Uid),
            (0..=crate::policy::ID_MAX).prop_map(Who::Gid),
        ],
    ) {
        let rule = Rule { action, pattern: &pattern, who };
        prop_assert!(rule.check().is_ok());
        let mut buf = [0u8; 256];
        let mut b = Builder::genl(&mut buf, FAMILY, 0, 0, IPCON_CMD_POLICY_SET, IPCON_GENL_VERSION).unwrap();
        put_rule(&mut b, &rule).unwrap();
        let msg = b.finish().unwrap();
        prop_assert_eq!(msg.len(), 20 + super::policy::rule_len(&rule));
        let g = GenlMsg::new_checked(NlMsg::new_checked(msg).unwrap()).unwrap();
        let nest = g.attr_iter().next().unwrap().unwrap();
        prop_assert_eq!(nest.kind(), IPCON_A_RULE);
        prop_assert_eq!(parse_rule(nest.payload()).unwrap(), rule);
    }

    /// Whatever the bytes, parsing fails cleanly or succeeds; it never
    /// panics.
    #[test]
    fn parsers_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..512), cmd in 0u8..32) {
        if bytes.len() >= 20 {
            let len = bytes.len() as u32;
            bytes[..4].copy_from_slice(&len.to_ne_bytes());
            bytes[4..6].copy_from_slice(&FAMILY.to_ne_bytes());
            bytes[16] = cmd;
        }
        let _ = Message::parse(&mut bytes.clone(), FAMILY);
        if let Ok(nl) = NlMsg::new_checked(&bytes) {
            if let Ok(g) = GenlMsg::new_checked(nl) {
                for a in g.attr_iter().flatten() {
                    let _ = (a.u32(), a.u64(), a.u16(), a.str());
                    let _ = parse_rule(a.payload());
                }
            }
        }
    }
}
