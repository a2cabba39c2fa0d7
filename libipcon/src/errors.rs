// SPDX-License-Identifier: MIT OR Apache-2.0
//! The error model of the C library: every function that can fail returns
//! 0 (or a count) on success and a negative errno on failure, and
//! ipcon_strerror() says what that errno means for ipcon. errno itself is
//! left alone.

// The sentences are b"...\0" strings: cbindgen 0.24 (Debian's, which
// generates the header) cannot parse c"..." literals.
#![allow(clippy::manual_c_str_literals)]

use core::ffi::{c_char, c_int};

use ipcon::{Errno, Error, RecvError};

pub(crate) const EINVAL: c_int = Errno::INVAL.raw_os_error();
pub(crate) const EMSGSIZE: c_int = Errno::MSGSIZE.raw_os_error();
pub(crate) const ENOSPC: c_int = Errno::NOSPC.raw_os_error();

/// The negative errno of a failed request.
pub(crate) fn of(e: Error) -> c_int {
    let errno = match e {
        Error::NotLoaded => Errno::PROTONOSUPPORT,
        Error::InvalidName | Error::InvalidPattern => Errno::INVAL,
        Error::PayloadTooLarge => Errno::MSGSIZE,
        Error::NameTaken => Errno::EXIST,
        Error::NoSuchService | Error::NoSuchGroup => Errno::NOENT,
        Error::NotOwner | Error::NotPermitted => Errno::PERM,
        Error::Denied => Errno::ACCESS,
        Error::LimitReached => Errno::DQUOT,
        Error::TooManyRules => Errno::TOOBIG,
        Error::AlreadyMember | Error::AlreadySubscribed => Errno::ALREADY,
        Error::NotMember | Error::NotSubscribed => Errno::NOTCONN,
        Error::PeerGone => Errno::CONNREFUSED,
        Error::QueueFull => Errno::NOBUFS,
        Error::Truncated { .. } | Error::BufferTooSmall => Errno::NOSPC,
        Error::Protocol(_) => Errno::PROTO,
        Error::Kernel(e) | Error::Io(e) => e,
        Error::Recv(r) => return of_recv(r),
        // A variant of a newer crate.
        _ => Errno::IO,
    };
    -errno.raw_os_error()
}

/// The negative errno of a failed receive.
pub(crate) fn of_recv(e: RecvError) -> c_int {
    let errno = match e {
        RecvError::WouldBlock => Errno::AGAIN,
        RecvError::TimedOut => Errno::TIMEDOUT,
        RecvError::Truncated { .. } => Errno::NOSPC,
        RecvError::Protocol(_) => Errno::PROTO,
        RecvError::Io(e) => e,
    };
    -errno.raw_os_error()
}

/// What each errno the library returns means for ipcon.
/// (Each a NUL-terminated string: `c""` literals are newer than cbindgen 0.24.)
const MEANINGS: &[(Errno, &[u8])] = &[
    (
        Errno::PROTONOSUPPORT,
        b"the ipcon kernel module is not loaded (run: modprobe ipcon)\0",
    ),
    (
        Errno::INVAL,
        b"invalid argument: a NULL pointer, a name that is not 1 to 63 bytes of [A-Za-z0-9._:-], unknown flags, or a malformed policy\0",
    ),
    (
        Errno::MSGSIZE,
        b"payload too large (more than IPCON_DATA_MAX bytes)\0",
    ),
    (Errno::EXIST, b"the name is already registered\0"),
    (Errno::NOENT, b"no such service or group\0"),
    (
        Errno::PERM,
        b"not permitted: the name belongs to another peer, or the policy needs CAP_NET_ADMIN\0",
    ),
    (Errno::ACCESS, b"denied by the ipcon policy\0"),
    (
        Errno::DQUOT,
        b"a per-user limit of the ipcon module is reached (/sys/module/ipcon/parameters)\0",
    ),
    (Errno::TOOBIG, b"the policy has too many rules\0"),
    (Errno::ALREADY, b"already a member, or already subscribed\0"),
    (Errno::NOTCONN, b"not a member, or not subscribed\0"),
    (
        Errno::CONNREFUSED,
        b"the destination peer is gone (no live peer with that port or id)\0",
    ),
    (
        Errno::NOBUFS,
        b"the destination's receive queue is full; nothing was delivered\0",
    ),
    (
        Errno::NOSPC,
        b"the buffer is too small: a received message was discarded (use IPCON_RECV_BUFFER_SIZE, or IPCON_DUMP_BUFFER_SIZE for a listing)\0",
    ),
    (
        Errno::PROTO,
        b"the kernel module sent something malformed (module and library versions too far apart?)\0",
    ),
    (Errno::AGAIN, b"no message is waiting\0"),
    (Errno::TIMEDOUT, b"no message arrived before the timeout\0"),
    (Errno::INTR, b"interrupted by a signal\0"),
];

/// What an error of this library means: a static, NUL-terminated English
/// sentence for `err` (a negative errno as returned, or the positive
/// value); "success" for 0. An errno the library only passes on from a
/// system call gets a generic sentence: see strerror(3) for it.
///
/// Threads: may be called from any thread.
#[no_mangle]
pub extern "C" fn ipcon_strerror(err: c_int) -> *const c_char {
    if err == 0 {
        return b"success\0".as_ptr().cast();
    }
    // (Compared as numbers: any int is accepted, errno or not.)
    let errno = err.unsigned_abs();
    MEANINGS
        .iter()
        .find(|(e, _)| e.raw_os_error().unsigned_abs() == errno)
        .map_or(
            &b"a system call failed (see strerror(3) for this errno)\0"[..],
            |(_, m)| m,
        )
        .as_ptr()
        .cast()
}

/// Every meaning ends with its NUL (checked when the library is compiled).
const _: () = {
    let mut i = 0;
    while i < MEANINGS.len() {
        let m = MEANINGS[i].1;
        assert!(!m.is_empty() && m[m.len() - 1] == 0);
        i += 1;
    }
};
