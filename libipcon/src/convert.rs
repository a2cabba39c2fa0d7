// SPDX-License-Identifier: MIT OR Apache-2.0
//! Arguments from C checked into Rust values, and the crate's views made
//! into the C structures. Nothing here allocates.

use core::ffi::{c_char, c_int, c_void};

use ipcon::{Event, GroupMessage, Lost, Message, Sender, Unicast};

use crate::errors::{self, EINVAL, EMSGSIZE};
use crate::{
    ipcon_event, ipcon_group_message, ipcon_lost, ipcon_message, ipcon_message_body, ipcon_owner,
    ipcon_sender, ipcon_unicast, ipcon_unknown, IPCON_DATA_MAX, IPCON_MSG_EVENT, IPCON_MSG_GROUP,
    IPCON_MSG_LOST, IPCON_MSG_UNICAST, IPCON_MSG_UNKNOWN, IPCON_NAME_SIZE,
};

/// 0, or the negative errno of a failed request.
pub(crate) fn status(r: Result<(), ipcon::Error>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => errors::of(e),
    }
}

/// A name given by C: at most IPCON_NAME_SIZE bytes are read, so a string
/// without a NUL there is refused (-EINVAL) rather than read on. Whether
/// it is a valid name is the crate's check (also -EINVAL).
///
/// # Safety
/// p is NULL, or readable up to its NUL or IPCON_NAME_SIZE bytes,
/// whichever comes first.
pub(crate) unsafe fn name_arg<'a>(p: *const c_char) -> Result<&'a str, c_int> {
    if p.is_null() {
        return Err(-EINVAL);
    }
    let mut len = 0;
    // SAFETY: the bytes up to the NUL are readable, and the loop stops at
    // the NUL or at the name size limit.
    while len < IPCON_NAME_SIZE && unsafe { *p.add(len) } != 0 {
        len += 1;
    }
    if len == IPCON_NAME_SIZE {
        return Err(-EINVAL);
    }
    // SAFETY: `len` bytes were just read one by one.
    let bytes = unsafe { core::slice::from_raw_parts(p.cast::<u8>(), len) };
    core::str::from_utf8(bytes).map_err(|_| -EINVAL)
}

/// A payload given by C: NULL is allowed for an empty one; over
/// IPCON_DATA_MAX is -EMSGSIZE before any byte is read.
///
/// # Safety
/// data is NULL or `len` readable bytes.
pub(crate) unsafe fn data_arg<'a>(data: *const c_void, len: usize) -> Result<&'a [u8], c_int> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(-EINVAL);
    }
    if len > IPCON_DATA_MAX {
        return Err(-EMSGSIZE);
    }
    // SAFETY: non-NULL, `len` readable bytes by contract, len is small.
    Ok(unsafe { core::slice::from_raw_parts(data.cast::<u8>(), len) })
}

/// A buffer given by C to receive into.
///
/// # Safety
/// buf is NULL or `len` writable bytes.
pub(crate) unsafe fn buf_arg<'a>(buf: *mut c_void, len: usize) -> Result<&'a mut [u8], c_int> {
    if buf.is_null() || len == 0 || len > isize::MAX as usize {
        return Err(-EINVAL);
    }
    // SAFETY: non-NULL, `len` writable bytes by contract.
    Ok(unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) })
}

/// Copy a name into a C name field, NUL-terminated ("" for `None`).
pub(crate) fn put_name(dst: &mut [c_char; IPCON_NAME_SIZE], name: Option<&str>) {
    let src = name.unwrap_or("").as_bytes();
    let n = src.len().min(IPCON_NAME_SIZE - 1);
    for (d, s) in dst.iter_mut().zip(&src[..n]) {
        *d = *s as c_char;
    }
    dst[n] = 0;
}

fn named(name: Option<&str>) -> [c_char; IPCON_NAME_SIZE] {
    let mut out = [0; IPCON_NAME_SIZE];
    put_name(&mut out, name);
    out
}

pub(crate) fn owner_of(port: u32, id: u64, uid: u32, gid: u32) -> ipcon_owner {
    ipcon_owner { port, id, uid, gid }
}

fn sender_of(s: &Sender<'_>) -> ipcon_sender {
    ipcon_sender {
        port: s.port,
        id: s.id,
        uid: s.uid,
        gid: s.gid,
        pid: s.pid,
        service: named(s.service),
    }
}

fn unicast_of(u: &Unicast<'_>) -> ipcon_unicast {
    ipcon_unicast {
        sender: sender_of(&u.sender),
        service: named(u.service),
        data: u.data.as_ptr().cast(),
        len: u.data.len(),
    }
}

fn group_of(g: &GroupMessage<'_>) -> ipcon_group_message {
    ipcon_group_message {
        group: named(Some(g.group)),
        sender: sender_of(&g.sender),
        retained: g.retained,
        data: g.data.as_ptr().cast(),
        len: g.data.len(),
    }
}

fn event_of(e: &Event<'_>) -> ipcon_event {
    ipcon_event {
        kind: e.kind.to_raw(),
        peer: owner_of(e.port, e.id, e.uid, e.gid),
        name: named(e.name),
    }
}

fn lost_of(l: &Lost<'_>) -> ipcon_lost {
    ipcon_lost {
        group: named(l.group),
        count: l.count,
    }
}

/// The C description of a received message.
pub(crate) fn message_of(m: &Message<'_>) -> ipcon_message {
    let (kind, u) = match m {
        Message::Unicast(u) => (
            IPCON_MSG_UNICAST,
            ipcon_message_body {
                unicast: unicast_of(u),
            },
        ),
        Message::Group(g) => (IPCON_MSG_GROUP, ipcon_message_body { group: group_of(g) }),
        Message::Event(e) => (IPCON_MSG_EVENT, ipcon_message_body { event: event_of(e) }),
        Message::Lost(l) => (IPCON_MSG_LOST, ipcon_message_body { lost: lost_of(l) }),
        Message::Unknown { cmd } => (
            IPCON_MSG_UNKNOWN,
            ipcon_message_body {
                unknown: ipcon_unknown {
                    cmd: u32::from(*cmd),
                },
            },
        ),
        // A kind a newer crate knows: unknown to this library's users.
        _ => (
            IPCON_MSG_UNKNOWN,
            ipcon_message_body {
                unknown: ipcon_unknown { cmd: 0 },
            },
        ),
    };
    ipcon_message { kind, u }
}
