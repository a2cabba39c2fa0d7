// SPDX-License-Identifier: MIT OR Apache-2.0
//! Bad input sent straight to the family with a raw socket: each gets a
//! specific error, never a crash (the host also fails the run on any kernel
//! warning in dmesg). Also: only the kernel speaks to a peer.

use crate::raw::{attr, attr_len, cstr, errno::*, Raw, NLM_F_DUMP};
use crate::suite::{peer, recv_with, rxbuf, uniq, TestResult};
use crate::{ensure, fails_with, ok, tests};
use ipcon::uapi::*;
use ipcon::Message;

tests!(
    raw_unknown_command,
    raw_delivery_command_from_user,
    raw_missing_name,
    raw_u32_with_wrong_length,
    raw_unterminated_name,
    raw_name_too_long,
    raw_name_with_bad_characters,
    raw_kernel_only_attribute,
    raw_unknown_attribute,
    raw_unknown_flag_bits,
    raw_command_refuses_attributes_it_does_not_use,
    raw_name_with_bytes_after_nul,
    raw_send_needs_exactly_one_target,
    raw_attribute_overruns_message,
    raw_chunk_larger_than_limit,
    raw_payload_larger_than_limit,
    raw_truncated_genl_header,
    raw_nonzero_reserved_header_field,
    raw_pairing_errors,
    raw_single_socket_peer_works,
    raw_garbage_flood_survives,
    spoofed_user_message_is_dropped,
);

fn expect(raw: &Raw, msg: &[u8], want: &[i32]) -> TestResult {
    let got = raw.request(msg)?;
    ensure!(want.contains(&got), "errno {got}, expected one of {want:?}");
    Ok(())
}

fn u32v(v: u32) -> Vec<u8> {
    v.to_ne_bytes().to_vec()
}

fn raw_unknown_command() -> TestResult {
    let mut r = ok!(Raw::open());
    let m = r.ipcon(200, &[]);
    expect(&r, &m, &[EOPNOTSUPP])
}

fn raw_delivery_command_from_user() -> TestResult {
    let mut r = ok!(Raw::open());
    for cmd in [
        IPCON_CMD_MSG,
        IPCON_CMD_GRP_MSG,
        IPCON_CMD_EVENT,
        IPCON_CMD_LOST,
        IPCON_CMD_UNSPEC,
    ] {
        let m = r.ipcon(cmd, &[]);
        expect(&r, &m, &[EOPNOTSUPP])?;
    }
    Ok(())
}

fn raw_missing_name() -> TestResult {
    let mut r = ok!(Raw::open());
    for cmd in [
        IPCON_CMD_SRV_REG,
        IPCON_CMD_SRV_RESOLVE,
        IPCON_CMD_GRP_REG,
        IPCON_CMD_GRP_JOIN,
        IPCON_CMD_PUBLISH,
    ] {
        let m = r.ipcon(cmd, &[]);
        expect(&r, &m, &[EINVAL])?;
    }
    Ok(())
}

fn raw_u32_with_wrong_length() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &[1, 2]);
    let m = r.ipcon(IPCON_CMD_SEND, &a);
    expect(&r, &m, &[EINVAL, ERANGE])
}

fn raw_unterminated_name() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, b"abcd");
    let m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    expect(&r, &m, &[EINVAL])
}

fn raw_name_too_long() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&"n".repeat(64)));
    let m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    expect(&r, &m, &[EINVAL, ERANGE])?;
    // 63 is the limit and is fine.
    let mut a = Vec::new();
    let name = format!("{}{}", uniq("raw"), "n".repeat(63))
        .chars()
        .take(63)
        .collect::<String>();
    attr(&mut a, IPCON_A_NAME, &cstr(&name));
    let m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    expect(&r, &m, &[0])
}

fn raw_name_with_bad_characters() -> TestResult {
    let mut r = ok!(Raw::open());
    for bad in ["", "a b", "a/b", "a\nb", "é"] {
        let mut a = Vec::new();
        attr(&mut a, IPCON_A_NAME, &cstr(bad));
        for cmd in [IPCON_CMD_SRV_REG, IPCON_CMD_GRP_REG] {
            let m = r.ipcon(cmd, &a);
            expect(&r, &m, &[EINVAL]).map_err(|e| format!("{bad:?}: {e}"))?;
        }
    }
    Ok(())
}

fn raw_kernel_only_attribute() -> TestResult {
    let mut r = ok!(Raw::open());
    let p = peer()?;
    for ty in [
        IPCON_A_SRC_PORT,
        IPCON_A_UID,
        IPCON_A_GID,
        IPCON_A_PID,
        IPCON_A_EVENT,
        IPCON_A_COUNT,
    ] {
        let mut a = Vec::new();
        attr(&mut a, IPCON_A_PORT, &u32v(p.port()));
        attr(&mut a, ty, &u32v(0));
        let m = r.ipcon(IPCON_CMD_SEND, &a);
        expect(&r, &m, &[EINVAL]).map_err(|e| format!("attr {ty}: {e}"))?;
    }
    let mut buf = rxbuf();
    crate::suite::expect_nothing(&p, &mut buf)
}

fn raw_unknown_attribute() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&uniq("ua")));
    attr(&mut a, 99, &u32v(1));
    let m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    expect(&r, &m, &[EINVAL])
}

/// Unknown flag bits are refused by the commands' policies (EINVAL).
fn raw_unknown_flag_bits() -> TestResult {
    let mut r = ok!(Raw::open());
    let g = uniq("flags");
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&g));
    attr(&mut a, IPCON_A_FLAGS, &u32v(1 << 7));
    let m = r.ipcon(IPCON_CMD_GRP_REG, &a);
    expect(&r, &m, &[EINVAL])?;
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&g));
    let m = r.ipcon(IPCON_CMD_GRP_REG, &a);
    expect(&r, &m, &[0])?;
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&g));
    attr(&mut a, IPCON_A_FLAGS, &u32v(0x8000_0000));
    let m = r.ipcon(IPCON_CMD_GRP_JOIN, &a);
    expect(&r, &m, &[EINVAL])
}

/// Every command refuses each attribute it does not use (the kernel-only
/// ones, and the request attributes of other commands), and nothing of
/// such a request is applied.
fn raw_command_refuses_attributes_it_does_not_use() -> TestResult {
    let mut r = ok!(Raw::open());
    let name = uniq("percmd");
    // (command, the attributes it uses besides NAME)
    let cmds: &[(u8, &[u16])] = &[
        (IPCON_CMD_SRV_REG, &[IPCON_A_NAME]),
        (IPCON_CMD_SRV_UNREG, &[IPCON_A_NAME]),
        (IPCON_CMD_SRV_RESOLVE, &[IPCON_A_NAME]),
        (IPCON_CMD_GRP_REG, &[IPCON_A_NAME, IPCON_A_FLAGS]),
        (IPCON_CMD_GRP_UNREG, &[IPCON_A_NAME]),
        (IPCON_CMD_GRP_JOIN, &[IPCON_A_NAME, IPCON_A_FLAGS]),
        (IPCON_CMD_GRP_LEAVE, &[IPCON_A_NAME]),
        (IPCON_CMD_PUBLISH, &[IPCON_A_NAME, IPCON_A_DATA]),
        (IPCON_CMD_EVENTS_SUB, &[]),
        (IPCON_CMD_EVENTS_UNSUB, &[]),
        (IPCON_CMD_PAIR_START, &[]),
    ];
    for &(cmd, uses) in cmds {
        for ty in 1..=IPCON_A_MAX {
            if uses.contains(&ty) {
                continue;
            }
            let val: Vec<u8> = match ty {
                IPCON_A_PAD => Vec::new(),
                IPCON_A_NAME | IPCON_A_SRC_NAME => cstr(&name),
                IPCON_A_TOKEN | IPCON_A_ID | IPCON_A_SRC_ID => 1u64.to_ne_bytes().to_vec(),
                IPCON_A_DATA => vec![7u8; 64],
                IPCON_A_RULE => Vec::new(),
                _ => u32v(0),
            };
            let mut a = Vec::new();
            if uses.contains(&IPCON_A_NAME) {
                attr(&mut a, IPCON_A_NAME, &cstr(&name));
            }
            attr(&mut a, ty, &val);
            let m = r.ipcon(cmd, &a);
            expect(&r, &m, &[EINVAL]).map_err(|e| format!("command {cmd}, attribute {ty}: {e}"))?;
        }
    }
    // A registration carrying 64 KiB of data used to pass: nothing exists.
    let mut p = peer()?;
    fails_with!(p.resolve(&name), ipcon::Error::NoSuchService);
    // The dumps take no attribute either.
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&name));
    let m = r.message(r.family, IPCON_CMD_SRV_LIST, NLM_F_DUMP, 1, &a);
    expect(&r, &m, &[EINVAL])
}

/// A name must end at its NUL: "abc\0xyz" is not "abc".
fn raw_name_with_bytes_after_nul() -> TestResult {
    let mut r = ok!(Raw::open());
    let name = uniq("nul");
    let mut trailing = cstr(&name);
    trailing.extend_from_slice(b"xyz\0");
    for (cmd, ty) in [
        (IPCON_CMD_SRV_REG, IPCON_A_NAME),
        (IPCON_CMD_GRP_REG, IPCON_A_NAME),
        (IPCON_CMD_SEND, IPCON_A_NAME),
        (IPCON_CMD_SEND, IPCON_A_SRC_NAME),
    ] {
        let mut a = Vec::new();
        if ty == IPCON_A_SRC_NAME {
            attr(&mut a, IPCON_A_PORT, &u32v(r.port()));
        }
        attr(&mut a, ty, &trailing);
        let m = r.ipcon(cmd, &a);
        expect(&r, &m, &[EINVAL]).map_err(|e| format!("command {cmd}: {e}"))?;
    }
    let mut p = peer()?;
    fails_with!(p.resolve(&name), ipcon::Error::NoSuchService);
    Ok(())
}

fn raw_send_needs_exactly_one_target() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut svc = peer()?;
    let name = uniq("target");
    ok!(svc.register_service(&name));
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &u32v(svc.port()));
    attr(&mut a, IPCON_A_NAME, &cstr(&name));
    attr(&mut a, IPCON_A_DATA, b"x");
    let m = r.ipcon(IPCON_CMD_SEND, &a);
    expect(&r, &m, &[EBADR])?;
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_DATA, b"x");
    let m = r.ipcon(IPCON_CMD_SEND, &a);
    expect(&r, &m, &[EBADR])
}

fn raw_attribute_overruns_message() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut a = Vec::new();
    attr_len(&mut a, IPCON_A_NAME, &cstr("abc"), 200);
    let m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    expect(&r, &m, &[EINVAL])?;
    let mut a = Vec::new();
    attr_len(&mut a, IPCON_A_NAME, &cstr("abc"), 2);
    let m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    expect(&r, &m, &[EINVAL])
}

fn raw_chunk_larger_than_limit() -> TestResult {
    let mut r = ok!(Raw::open());
    let p = peer()?;
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &u32v(p.port()));
    attr(&mut a, IPCON_A_DATA, &vec![0u8; IPCON_CHUNK_MAX + 1]);
    let m = r.ipcon(IPCON_CMD_SEND, &a);
    expect(&r, &m, &[EINVAL, ERANGE])
}

fn raw_payload_larger_than_limit() -> TestResult {
    let mut r = ok!(Raw::open());
    let p = peer()?;
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &u32v(p.port()));
    for _ in 0..3 {
        attr(&mut a, IPCON_A_DATA, &vec![0u8; IPCON_CHUNK_MAX]);
    }
    let m = r.ipcon(IPCON_CMD_SEND, &a);
    expect(&r, &m, &[EMSGSIZE])?;
    let mut buf = rxbuf();
    crate::suite::expect_nothing(&p, &mut buf)
}

fn raw_truncated_genl_header() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut m = r.ipcon(IPCON_CMD_SRV_LIST, &[]);
    m.truncate(18);
    m[0..4].copy_from_slice(&18u32.to_ne_bytes());
    expect(&r, &m, &[EINVAL])
}

fn raw_nonzero_reserved_header_field() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&uniq("resv")));
    let mut m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    m[18] = 0xff;
    expect(&r, &m, &[EINVAL])
}

fn raw_pairing_errors() -> TestResult {
    let mut rx = ok!(Raw::open());
    let mut ctl = ok!(Raw::open());
    // Pairing with a port that asked for no token.
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &u32v(rx.port()));
    attr(&mut a, IPCON_A_TOKEN, &0x1234u64.to_ne_bytes());
    let m = ctl.ipcon(IPCON_CMD_PAIR, &a);
    expect(&ctl, &m, &[ENOENT, EACCES])?;
    // A wrong token.
    let m = rx.ipcon(IPCON_CMD_PAIR_START, &[]);
    rx.send(&m)?;
    let reply = rx.recv_msg()?;
    ensure!(reply.len() > 20, "no token reply");
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &u32v(rx.port()));
    attr(&mut a, IPCON_A_TOKEN, &0xdead_beefu64.to_ne_bytes());
    let m = ctl.ipcon(IPCON_CMD_PAIR, &a);
    expect(&ctl, &m, &[EACCES])?;
    // Missing token.
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &u32v(rx.port()));
    let m = ctl.ipcon(IPCON_CMD_PAIR, &a);
    expect(&ctl, &m, &[EINVAL])
}

fn raw_single_socket_peer_works() -> TestResult {
    // A client without pairing: one socket is a whole peer.
    let mut r = ok!(Raw::open());
    let name = uniq("single");
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_NAME, &cstr(&name));
    let m = r.ipcon(IPCON_CMD_SRV_REG, &a);
    expect(&r, &m, &[0])?;
    let mut p = peer()?;
    ensure!(
        ok!(p.resolve(&name)) == r.port(),
        "service not bound to the raw port"
    );
    ok!(p.send_to_service(&name, b"to raw"));
    let msg = r.recv_msg()?;
    ensure!(
        msg.len() > 20 && msg[16] == IPCON_CMD_MSG,
        "not an IPCON_CMD_MSG: {:?}",
        &msg[..msg.len().min(24)]
    );
    ensure!(msg.windows(6).any(|w| w == b"to raw"), "payload missing");
    Ok(())
}

fn raw_garbage_flood_survives() -> TestResult {
    let mut r = ok!(Raw::open());
    let mut x: u32 = 0x1234_5678;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    for i in 0..2000 {
        let cmd = (rnd() % (u32::from(IPCON_CMD_MAX) + 3)) as u8;
        let mut a = Vec::new();
        for _ in 0..(rnd() % 4) {
            let ty = (rnd() % (u32::from(IPCON_A_MAX) + 2)) as u16;
            let len = (rnd() % 12) as usize;
            let val: Vec<u8> = (0..len).map(|_| rnd() as u8).collect();
            if rnd() % 5 == 0 {
                attr_len(&mut a, ty, &val, (rnd() % 40) as u16);
            } else {
                attr(&mut a, ty, &val);
            }
        }
        let m = r.ipcon(cmd, &a);
        // Every request gets an answer; the kernel stays up (dmesg is
        // checked by the host).
        r.request(&m).map_err(|e| format!("request {i}: {e}"))?;
    }
    // And the family still works.
    let mut p = peer()?;
    ok!(p.register_service(&uniq("after.flood")));
    Ok(())
}

fn spoofed_user_message_is_dropped() -> TestResult {
    // Root may send netlink datagrams user-to-user. A forged IPCON_CMD_MSG
    // straight to a peer's port must not be taken as a kernel relay.
    let mut r = ok!(Raw::open());
    let b = peer()?;
    let mut a = Vec::new();
    attr(&mut a, IPCON_A_SRC_PORT, &u32v(1));
    attr(&mut a, IPCON_A_UID, &u32v(0));
    attr(&mut a, IPCON_A_GID, &u32v(0));
    attr(&mut a, IPCON_A_PID, &u32v(1));
    attr(&mut a, IPCON_A_DATA, b"forged");
    let m = r.ipcon(IPCON_CMD_MSG, &a);
    r.send_to(b.port(), &m)?;
    let mut real = peer()?;
    ok!(real.send_to_port(b.port(), b"genuine"));
    let mut buf = rxbuf();
    recv_with(&b, &mut buf, |m| match m {
        Message::Unicast(u) if u.data == b"genuine" => Ok(()),
        other => Err(format!("got {other:?}")),
    })?;
    ensure!(
        b.dropped_foreign() == 1,
        "dropped {} foreign messages",
        b.dropped_foreign()
    );
    Ok(())
}
