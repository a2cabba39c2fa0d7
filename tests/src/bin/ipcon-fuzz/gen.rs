// SPDX-License-Identifier: MIT OR Apache-2.0
//! What the fuzzer sends: requests built from the UAPI (every command with
//! the attributes it takes, names from a small shared pool so that workers
//! collide, chunked payloads, flags, pairing tokens and ports, ids and
//! policies it has seen), and mutations of them (bit flips, length lies,
//! truncation, attributes added, dropped, duplicated or retyped, header
//! fields changed, boundary values).

use ipcon::uapi::*;

use crate::nl::{
    attr, message, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_OP, CTRL_CMD_GETFAMILY,
    CTRL_CMD_GETPOLICY, GENL_HDRLEN, GENL_ID_CTRL, NLA_F_NESTED, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_HDRLEN, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, NLM_F_REQUEST,
};
use crate::rng::Rng;

/// Services the workers of a namespace fight over.
pub const SERVICES: u64 = 48;
/// Groups the workers of a namespace fight over.
pub const GROUPS: u64 = 24;
/// A name no worker registers: the sentinel request resolves it.
pub const SENTINEL_NAME: &[u8] = b"fz.sentinel\0";

/// Stands for the nlctrl requests in the command table (not a command).
const NLCTRL: u8 = 0xff;

/// What a worker has learnt from the kernel's answers: ports and ids of
/// live (or once live) peers, and pairing tokens with their port.
#[derive(Default)]
pub struct Know {
    pub ports: Vec<u32>,
    pub ids: Vec<u64>,
    pub tokens: Vec<(u32, u64)>,
}

const KNOW_MAX: usize = 64;

fn remember<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if v.contains(&x) {
        return;
    }
    if v.len() >= KNOW_MAX {
        v.remove(0);
    }
    v.push(x);
}

impl Know {
    pub fn port(&mut self, p: u32) {
        if p != 0 {
            remember(&mut self.ports, p);
        }
    }
    pub fn id(&mut self, id: u64) {
        remember(&mut self.ids, id);
    }
    pub fn token(&mut self, port: u32, token: u64) {
        remember(&mut self.tokens, (port, token));
    }
}

/// A request ready to send.
pub struct Req {
    pub bytes: Vec<u8>,
    pub seq: u32,
    /// Sent with NLM_F_DUMP: answered by parts and NLMSG_DONE.
    pub dump: bool,
    /// The command (for the per-command counts).
    pub cmd: u8,
}

/// Who sends: decides nothing about validity, only what is worth trying.
pub struct Ctx<'a> {
    pub family: u16,
    pub port: u32,
    pub seq: u32,
    /// Ports of the worker's own open sockets.
    pub own_ports: &'a [u32],
    pub know: &'a Know,
}

/// A service name of the shared pool.
pub fn service(rng: &mut Rng) -> String {
    format!("fz.s{}", rng.below(SERVICES))
}

/// A group name of the shared pool.
pub fn group(rng: &mut Rng) -> String {
    format!("fz.g{}", rng.below(GROUPS))
}

/// The value of a name attribute: usually `base` as sent by a client,
/// sometimes one of the ways a name can be wrong.
fn name_value(rng: &mut Rng, base: &str) -> Vec<u8> {
    let mut v = base.as_bytes().to_vec();
    if rng.pct(93) {
        v.push(0);
        return v;
    }
    match rng.below(9) {
        0 => vec![0], // empty
        1 => {
            let mut long = vec![b'n'; 64]; // one too long
            long.push(0);
            long
        }
        2 => {
            let mut max = vec![b'm'; IPCON_NAME_MAX]; // exactly the limit
            max.push(0);
            max
        }
        3 => v, // no NUL
        4 => {
            v.extend_from_slice(b"\0xyz\0"); // bytes after the NUL
            v
        }
        5 => {
            v.extend_from_slice(b"\0\0"); // two NULs
            v
        }
        6 => b"fz bad/name\n\0".to_vec(), // characters outside the set
        7 => "fz.\u{e9}t\u{e9}\0".as_bytes().to_vec(),
        _ => {
            let n = rng.range(1, 80) as usize;
            rng.bytes(n)
        }
    }
}

fn u32_value(rng: &mut Rng, good: u32) -> Vec<u8> {
    if rng.pct(95) {
        return good.to_ne_bytes().to_vec();
    }
    match rng.below(4) {
        0 => vec![1, 2], // too short
        1 => vec![0; 8], // too long
        2 => u32::MAX.to_ne_bytes().to_vec(),
        _ => (good ^ (1 << rng.below(32))).to_ne_bytes().to_vec(),
    }
}

/// The payload chunks of a SEND or PUBLISH.
fn data(rng: &mut Rng, a: &mut Vec<u8>) {
    let total = match rng.weighted(&[25, 45, 15, 10, 3, 2]) {
        0 => return,
        1 => rng.below(65) as usize,
        2 => rng.range(65, 4096) as usize,
        3 => rng.range(4097, IPCON_PAYLOAD_MAX as u64) as usize,
        4 => {
            // One chunk over the limit.
            attr(a, IPCON_A_DATA, &vec![0x5a; IPCON_CHUNK_MAX + 1]);
            return;
        }
        _ => IPCON_PAYLOAD_MAX + rng.range(1, 4096) as usize, // over the total
    };
    let fill = rng.next() as u8;
    let mut left = total;
    if left == 0 && rng.pct(50) {
        attr(a, IPCON_A_DATA, &[]); // an empty chunk
        return;
    }
    while left > 0 {
        let chunk = if rng.pct(50) {
            left.min(IPCON_CHUNK_MAX)
        } else {
            (rng.range(1, IPCON_CHUNK_MAX as u64) as usize).min(left)
        };
        attr(a, IPCON_A_DATA, &vec![fill; chunk]);
        left -= chunk;
    }
}

/// A u64 attribute, with the empty padding attribute before it half the
/// time (as a client aligning it would send).
fn u64_attr(rng: &mut Rng, a: &mut Vec<u8>, ty: u16, v: u64) {
    if rng.pct(50) {
        attr(a, IPCON_A_PAD, &[]);
    }
    if rng.pct(97) {
        attr(a, ty, &v.to_ne_bytes());
    } else {
        attr(a, ty, &v.to_ne_bytes()[..4]);
    }
}

fn some_port(rng: &mut Rng, cx: &Ctx<'_>) -> u32 {
    match rng.below(10) {
        0..=3 if !cx.own_ports.is_empty() => *rng.pick(cx.own_ports),
        0..=7 if !cx.know.ports.is_empty() => *rng.pick(&cx.know.ports),
        8 => 0,
        _ => rng.next() as u32,
    }
}

fn some_id(rng: &mut Rng, cx: &Ctx<'_>) -> u64 {
    if !cx.know.ids.is_empty() && rng.pct(85) {
        let id = *rng.pick(&cx.know.ids);
        // A neighbour of a real id: an id that is gone or not yet given.
        if rng.pct(10) {
            id.wrapping_add(rng.range(1, 3))
        } else {
            id
        }
    } else {
        rng.below(1 << 20)
    }
}

/// One rule of a POLICY_SET: mostly valid and about the fuzzer's own names,
/// so that a policy the fuzzer sets bites its workers but not the system.
fn rule(rng: &mut Rng) -> Vec<u8> {
    let mut r = Vec::new();
    if rng.pct(98) {
        let action = if rng.pct(97) {
            rng.range(u64::from(IPCON_ACT_OWN), u64::from(IPCON_ACT_MAX)) as u32
        } else {
            *rng.pick(&[0u32, 4, 99])
        };
        attr(&mut r, IPCON_RULE_A_ACTION, &action.to_ne_bytes());
    }
    if rng.pct(98) {
        let patterns: &[&[u8]] = &[
            b"fz.s*\0",
            b"fz.g*\0",
            b"fz.*\0",
            b"fz.s1\0",
            b"fz.g2\0",
            b"fz.s1*\0",
            b"fz.r*\0",
            b"*\0",
            b"fz.*x\0",
            b"\0",
            b"fz.s3",
        ];
        let p = patterns[rng.weighted(&[20, 20, 10, 10, 10, 10, 10, 1, 2, 2, 2])];
        attr(&mut r, IPCON_RULE_A_PATTERN, p);
    }
    let ids: &[u32] = &[0, 1000, 1001, 4242, u32::MAX];
    match rng.weighted(&[50, 25, 20, 3]) {
        0 => {}
        1 => attr(&mut r, IPCON_RULE_A_UID, &rng.pick(ids).to_ne_bytes()),
        2 => attr(&mut r, IPCON_RULE_A_GID, &rng.pick(ids).to_ne_bytes()),
        _ => {
            attr(&mut r, IPCON_RULE_A_UID, &1000u32.to_ne_bytes());
            attr(&mut r, IPCON_RULE_A_GID, &1000u32.to_ne_bytes());
        }
    }
    let mut out = Vec::new();
    let ty = if rng.pct(95) {
        IPCON_A_RULE | NLA_F_NESTED
    } else {
        IPCON_A_RULE
    };
    attr(&mut out, ty, &r);
    out
}

/// The attributes of a POLICY_SET: a default (nearly always allow: a deny
/// default would make the rest of the run a wall of EACCES) and a few
/// rules, rarely more than the limit.
pub fn policy_attrs(rng: &mut Rng) -> Vec<u8> {
    let mut a = Vec::new();
    if rng.pct(97) {
        let d = match rng.below(100) {
            0..=91 => IPCON_POLICY_ALLOW,
            92..=96 => IPCON_POLICY_DENY,
            _ => 2,
        };
        attr(&mut a, IPCON_A_POLICY_DEFAULT, &d.to_ne_bytes());
    }
    let n = if rng.pct(1) {
        IPCON_POLICY_RULES_MAX as u64 + rng.range(1, 8)
    } else {
        rng.below(7)
    };
    for _ in 0..n {
        a.extend_from_slice(&rule(rng));
    }
    a
}

/// A request: mostly valid by the UAPI, each command weighted by how much
/// kernel code it reaches.
pub fn request(rng: &mut Rng, cx: &Ctx<'_>) -> Req {
    const CMDS: &[(u8, u32)] = &[
        (IPCON_CMD_SRV_REG, 10),
        (IPCON_CMD_SRV_UNREG, 6),
        (IPCON_CMD_SRV_RESOLVE, 7),
        (IPCON_CMD_SRV_LIST, 3),
        (IPCON_CMD_GRP_REG, 9),
        (IPCON_CMD_GRP_UNREG, 5),
        (IPCON_CMD_GRP_JOIN, 10),
        (IPCON_CMD_GRP_LEAVE, 5),
        (IPCON_CMD_GRP_LIST, 3),
        (IPCON_CMD_SEND, 18),
        (IPCON_CMD_PUBLISH, 12),
        (IPCON_CMD_EVENTS_SUB, 3),
        (IPCON_CMD_EVENTS_UNSUB, 2),
        (IPCON_CMD_PAIR_START, 2),
        (IPCON_CMD_PAIR, 3),
        (IPCON_CMD_POLICY_SET, 2),
        (IPCON_CMD_POLICY_GET, 2),
        (IPCON_CMD_MSG, 1), // kernel-only commands and unknown ones
        (NLCTRL, 1),
    ];
    let weights: Vec<u32> = CMDS.iter().map(|c| c.1).collect();
    let cmd = CMDS[rng.weighted(&weights)].0;
    let mut a = Vec::new();
    let mut dump = false;
    let mut ty = cx.family;
    let mut wire_cmd = cmd;
    match cmd {
        IPCON_CMD_SRV_REG | IPCON_CMD_SRV_UNREG | IPCON_CMD_SRV_RESOLVE => {
            let n = service(rng);
            attr(&mut a, IPCON_A_NAME, &name_value(rng, &n));
        }
        IPCON_CMD_GRP_REG | IPCON_CMD_GRP_JOIN => {
            let n = group(rng);
            attr(&mut a, IPCON_A_NAME, &name_value(rng, &n));
            if rng.pct(50) {
                let f = rng.below(2) as u32;
                attr(&mut a, IPCON_A_FLAGS, &u32_value(rng, f));
            }
        }
        IPCON_CMD_GRP_UNREG | IPCON_CMD_GRP_LEAVE => {
            let n = group(rng);
            attr(&mut a, IPCON_A_NAME, &name_value(rng, &n));
        }
        IPCON_CMD_SRV_LIST | IPCON_CMD_GRP_LIST | IPCON_CMD_POLICY_GET => dump = true,
        IPCON_CMD_SEND => {
            // Exactly one target, usually; none or two now and then.
            let targets = match rng.below(100) {
                0..=1 => 0,
                2..=4 => 2,
                _ => 1,
            };
            for _ in 0..targets {
                match rng.below(10) {
                    0..=3 => {
                        let n = service(rng);
                        attr(&mut a, IPCON_A_NAME, &name_value(rng, &n));
                    }
                    4..=7 => {
                        let p = some_port(rng, cx);
                        attr(&mut a, IPCON_A_PORT, &u32_value(rng, p));
                    }
                    _ => {
                        let id = some_id(rng, cx);
                        u64_attr(rng, &mut a, IPCON_A_ID, id);
                    }
                }
            }
            if rng.pct(15) {
                let n = service(rng);
                attr(&mut a, IPCON_A_SRC_NAME, &name_value(rng, &n));
            }
            data(rng, &mut a);
        }
        IPCON_CMD_PUBLISH => {
            let n = group(rng);
            attr(&mut a, IPCON_A_NAME, &name_value(rng, &n));
            data(rng, &mut a);
        }
        IPCON_CMD_EVENTS_SUB | IPCON_CMD_EVENTS_UNSUB | IPCON_CMD_PAIR_START => {}
        IPCON_CMD_PAIR => {
            let (port, token) = if !cx.know.tokens.is_empty() && rng.pct(80) {
                let (p, t) = *rng.pick(&cx.know.tokens);
                (p, if rng.pct(90) { t } else { t ^ 1 })
            } else {
                (some_port(rng, cx), rng.next())
            };
            if rng.pct(97) {
                attr(&mut a, IPCON_A_PORT, &u32_value(rng, port));
            }
            if rng.pct(97) {
                u64_attr(rng, &mut a, IPCON_A_TOKEN, token);
            }
        }
        IPCON_CMD_POLICY_SET => a = policy_attrs(rng),
        IPCON_CMD_MSG => {
            // A command only the kernel sends, or none at all.
            wire_cmd = match rng.below(6) {
                0 => IPCON_CMD_UNSPEC,
                1 => IPCON_CMD_MSG,
                2 => IPCON_CMD_GRP_MSG,
                3 => IPCON_CMD_EVENT,
                4 => IPCON_CMD_LOST,
                _ => rng.range(u64::from(IPCON_CMD_MAX) + 1, 255) as u8,
            };
            attr(&mut a, IPCON_A_SRC_PORT, &cx.port.to_ne_bytes());
            attr(&mut a, IPCON_A_DATA, b"forged");
        }
        _ => {
            // nlctrl: the family by name or id, or the dump of the
            // family's policies (every command's, or one command's).
            ty = GENL_ID_CTRL;
            if rng.pct(40) {
                wire_cmd = CTRL_CMD_GETFAMILY;
                if rng.pct(50) {
                    attr(&mut a, CTRL_ATTR_FAMILY_NAME, b"IPCON\0");
                } else {
                    attr(&mut a, CTRL_ATTR_FAMILY_ID, &cx.family.to_ne_bytes());
                }
            } else {
                wire_cmd = CTRL_CMD_GETPOLICY;
                dump = true;
                attr(&mut a, CTRL_ATTR_FAMILY_ID, &cx.family.to_ne_bytes());
                if rng.pct(60) {
                    let op = rng.below(u64::from(IPCON_CMD_MAX) + 3) as u32;
                    attr(&mut a, CTRL_ATTR_OP, &op.to_ne_bytes());
                }
            }
        }
    }
    let flags = if dump {
        NLM_F_REQUEST | NLM_F_DUMP
    } else {
        NLM_F_REQUEST | NLM_F_ACK
    };
    let version = if ty == GENL_ID_CTRL {
        2
    } else {
        IPCON_GENL_VERSION
    };
    Req {
        bytes: message(ty, flags, cx.seq, cx.port, wire_cmd, version, &a),
        seq: cx.seq,
        dump,
        // (counted by command: nlctrl requests as 0, unknown commands as 255)
        cmd: match ty {
            GENL_ID_CTRL => 0,
            _ if wire_cmd > IPCON_CMD_MAX => 255,
            _ => wire_cmd,
        },
    }
}

/// The sentinel: a valid request whose ack always comes (ENOENT, or
/// ENOTCONN on a socket whose pair is gone), sent after anything whose
/// answers cannot be predicted; its ack tells that the kernel has dealt
/// with everything before it.
pub fn sentinel(family: u16, seq: u32, port: u32) -> Vec<u8> {
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, SENTINEL_NAME);
    message(
        family,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        port,
        IPCON_CMD_SRV_RESOLVE,
        IPCON_GENL_VERSION,
        &a,
    )
}

/// Spans (offset, length as claimed) of the attributes of a message we
/// built, as far as they can be walked.
fn attr_spans(m: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut off = NLMSG_HDRLEN + GENL_HDRLEN;
    while off + 4 <= m.len() {
        let len = usize::from(u16::from_ne_bytes([m[off], m[off + 1]]));
        if len < 4 || off + len > m.len() {
            break;
        }
        out.push((off, len));
        off += (len + 3) & !3;
    }
    out
}

fn set_len(m: &mut [u8], len: u32) {
    if m.len() >= 4 {
        m[0..4].copy_from_slice(&len.to_ne_bytes());
    }
}

fn fix_len(m: &mut [u8]) {
    let l = m.len() as u32;
    set_len(m, l);
}

/// Interesting u32 values for a flipped field.
const EDGES: &[u32] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    u32::MAX,
];

/// Mutate a request in place: one to three mutations.
pub fn mutate(rng: &mut Rng, m: &mut Vec<u8>, family: u16) {
    for _ in 0..rng.range(1, 3) {
        match rng.weighted(&[22, 10, 10, 28, 12, 4, 10, 4]) {
            0 => {
                // Bit flips anywhere but the message type (see 5).
                for _ in 0..rng.range(1, 8) {
                    if m.len() <= 6 {
                        break;
                    }
                    let mut i = rng.index(m.len());
                    if i == 4 || i == 5 {
                        i = 6;
                    }
                    m[i] ^= 1 << rng.below(8);
                }
            }
            1 => {
                // nlmsg_len lies.
                let l = m.len() as u64;
                let lie = match rng.below(4) {
                    0 => rng.below(l),
                    1 => l + rng.range(1, 64),
                    2 => *rng.pick(&[0u64, 15, 16, 19, 20, 21]),
                    _ => u64::from(u32::MAX - rng.below(8) as u32),
                };
                set_len(m, lie as u32);
            }
            2 => {
                // Truncation, with the header telling the truth or not.
                let cut = rng.index(m.len() + 1);
                m.truncate(cut);
                if rng.pct(60) {
                    fix_len(m);
                }
            }
            3 => mutate_attr(rng, m),
            4 => {
                // Header fields: flags, genetlink command, version, reserved.
                if m.len() < NLMSG_HDRLEN + GENL_HDRLEN {
                    continue;
                }
                match rng.below(4) {
                    0 => {
                        let extra = *rng.pick(&[
                            0u16, NLM_F_ECHO, 2, 0x10, 0x20, 0x100, 0x200, 0x400, 0x800, 0x1000,
                        ]);
                        let mut f = u16::from_ne_bytes([m[6], m[7]]);
                        f ^= extra;
                        if rng.pct(20) {
                            f ^= NLM_F_ACK;
                        }
                        if rng.pct(10) {
                            f ^= NLM_F_DUMP;
                        }
                        m[6..8].copy_from_slice(&f.to_ne_bytes());
                    }
                    1 => m[16] = rng.below(u64::from(IPCON_CMD_MAX) + 4) as u8,
                    2 => m[17] = *rng.pick(&[0u8, 1, 2, 255]),
                    _ => m[18] = rng.next() as u8,
                }
            }
            5 => {
                // The message type: netlink control types, or nlctrl. Never
                // another family: the fuzzer aims at ipcon, not the rest.
                if m.len() >= 6 {
                    let ty = *rng.pick(&[
                        NLMSG_NOOP,
                        NLMSG_ERROR,
                        NLMSG_DONE,
                        NLMSG_OVERRUN,
                        GENL_ID_CTRL,
                        family,
                    ]);
                    m[4..6].copy_from_slice(&ty.to_ne_bytes());
                }
            }
            6 => {
                // A boundary value in a 4-byte attribute.
                let spans: Vec<_> = attr_spans(m).into_iter().filter(|s| s.1 == 8).collect();
                if let Some(&(off, _)) = spans.get(rng.index(spans.len().max(1))) {
                    m[off + 4..off + 8].copy_from_slice(&rng.pick(EDGES).to_ne_bytes());
                }
            }
            _ => {
                // Garbage after a valid header.
                let n = rng.range(1, 64) as usize;
                let junk = rng.bytes(n);
                m.truncate(NLMSG_HDRLEN + GENL_HDRLEN.min(m.len().saturating_sub(NLMSG_HDRLEN)));
                m.extend_from_slice(&junk);
                if rng.pct(80) {
                    fix_len(m);
                }
            }
        }
    }
}

/// Attribute-level mutations; the message length is kept true.
fn mutate_attr(rng: &mut Rng, m: &mut Vec<u8>) {
    let spans = attr_spans(m);
    let pick = |rng: &mut Rng| spans.get(rng.index(spans.len().max(1))).copied();
    match rng.below(7) {
        0 => {
            // An attribute of any type, any length.
            let ty = rng.below(u64::from(IPCON_A_MAX) + 4) as u16
                | if rng.pct(10) { NLA_F_NESTED } else { 0 };
            let len = *rng.pick(&[0usize, 1, 2, 4, 8, 9, 16, 64]);
            let v = rng.bytes(len);
            let at = pick(rng).map_or(m.len(), |s| s.0);
            let mut a = Vec::new();
            attr(&mut a, ty, &v);
            if at <= m.len() {
                m.splice(at..at, a);
            }
        }
        1 => {
            // Drop one.
            if let Some((off, len)) = pick(rng) {
                let end = (off + ((len + 3) & !3)).min(m.len());
                m.drain(off..end);
            }
        }
        2 => {
            // Duplicate one.
            if let Some((off, len)) = pick(rng) {
                let end = (off + ((len + 3) & !3)).min(m.len());
                let copy = m[off..end].to_vec();
                m.extend_from_slice(&copy);
            }
        }
        3 => {
            // Retype one.
            if let Some((off, _)) = pick(rng) {
                let ty = rng.below(u64::from(IPCON_A_MAX) + 4) as u16
                    | if rng.pct(15) { NLA_F_NESTED } else { 0 };
                m[off + 2..off + 4].copy_from_slice(&ty.to_ne_bytes());
            }
        }
        4 => {
            // Its length lies (the message length stays true).
            if let Some((off, len)) = pick(rng) {
                let lie = match rng.below(3) {
                    0 => rng.below(4) as u16,
                    1 => (len as u16).wrapping_add(rng.range(1, 12) as u16),
                    _ => (len as u16).wrapping_sub(rng.range(1, 4) as u16),
                };
                m[off..off + 2].copy_from_slice(&lie.to_ne_bytes());
            }
        }
        5 => {
            // Swap two.
            if spans.len() >= 2 {
                let (a, b) = (spans[0], spans[spans.len() - 1]);
                let mut first = m[a.0..a.0 + ((a.1 + 3) & !3)].to_vec();
                let last = m[b.0..(b.0 + ((b.1 + 3) & !3)).min(m.len())].to_vec();
                let mid = m[a.0 + first.len()..b.0].to_vec();
                let mut re = last;
                re.extend_from_slice(&mid);
                re.append(&mut first);
                m.truncate(a.0);
                m.extend_from_slice(&re);
            }
        }
        _ => {
            // Cut inside one (the attribute claims more than is left).
            if let Some((off, len)) = pick(rng) {
                m.truncate(off + 4 + rng.index(len.saturating_sub(4).max(1)));
            }
        }
    }
    fix_len(m);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nl::check_datagram;

    fn cx<'a>(know: &'a Know, own: &'a [u32], seq: u32) -> Ctx<'a> {
        Ctx {
            family: 30,
            port: 1234,
            seq,
            own_ports: own,
            know,
        }
    }

    /// Every request is a well-formed netlink message (a mutated one need
    /// not be), and the stream is the same for the same seed.
    #[test]
    fn requests_are_well_formed_and_reproducible() {
        let know = Know::default();
        let own = [1234u32];
        let (mut a, mut b) = (Rng::new(9, 1), Rng::new(9, 1));
        for seq in 0..3000 {
            let r = request(&mut a, &cx(&know, &own, seq));
            let r2 = request(&mut b, &cx(&know, &own, seq));
            assert_eq!(r.bytes, r2.bytes);
            assert_eq!(r.bytes.len() % 4, 0);
            check_datagram(&r.bytes, 30).unwrap();
            assert!(r.bytes.len() < 200 * 1024);
        }
    }

    #[test]
    fn every_command_is_generated() {
        let know = Know::default();
        let mut rng = Rng::new(5, 5);
        let mut seen = std::collections::BTreeSet::new();
        for seq in 0..20000 {
            seen.insert(request(&mut rng, &cx(&know, &[], seq)).cmd);
        }
        // Every command of the UAPI, the kernel-only ones included: one
        // added to the header and not to the generator fails here.
        for cmd in 1..=IPCON_CMD_MAX {
            assert!(seen.contains(&cmd), "command {cmd} never generated");
        }
    }

    /// Mutations never panic, whatever they are applied to.
    #[test]
    fn mutations_do_not_panic() {
        let know = Know::default();
        let mut rng = Rng::new(3, 3);
        for seq in 0..20000 {
            let mut r = request(&mut rng, &cx(&know, &[], seq));
            mutate(&mut rng, &mut r.bytes, 30);
            mutate(&mut rng, &mut r.bytes, 30);
        }
        for n in 0..40 {
            let mut m = vec![0u8; n];
            mutate(&mut rng, &mut m, 30);
        }
    }
}
