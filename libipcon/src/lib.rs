// SPDX-License-Identifier: MIT OR Apache-2.0
//! libipcon: the C library of ipcon, a thin layer over the `ipcon` crate
//! (one implementation of the protocol). The C header
//! `include/ipcon/ipcon.h` is generated from this file by cbindgen, with
//! these comments: they are the C programmer's reference.
//!
//! This is the one crate of the project with `unsafe` code: a C interface
//! takes raw pointers. Every pointer is checked for NULL, every length
//! before a slice is made of it, and names are read at most 64 bytes far
//! (a missing NUL is an error, not a read past the name).

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn, missing_docs)]

mod convert;
mod errors;
mod policy;

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::time::Duration;
use std::os::fd::AsRawFd;

use ipcon::{GroupFlags, JoinFlags, OwnedReceiver, OwnedRequester, Peer};

use convert::{buf_arg, data_arg, message_of, name_arg, put_name, status};
pub use errors::ipcon_strerror;
pub use policy::{ipcon_policy_check, ipcon_policy_clear, ipcon_policy_load, ipcon_policy_show};

/// Size of the name fields of this header's structures: the longest
/// service or group name (63 bytes) and its terminating NUL.
pub const IPCON_NAME_SIZE: usize = 64;
/// Largest payload of one message, in bytes.
pub const IPCON_DATA_MAX: usize = 65536;
/// A receive buffer of this many bytes holds any message.
pub const IPCON_RECV_BUFFER_SIZE: usize = 66004;
/// A buffer of this many bytes holds any datagram of a listing.
pub const IPCON_DUMP_BUFFER_SIZE: usize = 32768;

const _: () = assert!(IPCON_NAME_SIZE == ipcon::NAME_MAX + 1);
const _: () = assert!(IPCON_DATA_MAX == ipcon::PAYLOAD_MAX);
const _: () = assert!(IPCON_RECV_BUFFER_SIZE == ipcon::RECV_BUFFER_SIZE);
const _: () = assert!(IPCON_DUMP_BUFFER_SIZE == ipcon::DUMP_BUFFER_SIZE);

/// ipcon_register_group() flag: the group keeps its last message, which a
/// peer joining with IPCON_JOIN_LAST receives first.
pub const IPCON_GROUP_RETAIN: c_uint = 1;
/// ipcon_join() flag: deliver the group's retained message (if any) right
/// after the join, before any later one.
pub const IPCON_JOIN_LAST: c_uint = 1;

const _: () = assert!(IPCON_GROUP_RETAIN == GroupFlags::RETAIN.bits());
const _: () = assert!(IPCON_JOIN_LAST == JoinFlags::LAST.bits());

/// struct ipcon_message kind: a unicast message (u.unicast).
pub const IPCON_MSG_UNICAST: c_int = 1;
/// struct ipcon_message kind: a message of a group this peer is a member
/// of (u.group).
pub const IPCON_MSG_GROUP: c_int = 2;
/// struct ipcon_message kind: a kernel event, after
/// ipcon_subscribe_events() (u.event).
pub const IPCON_MSG_EVENT: c_int = 3;
/// struct ipcon_message kind: messages to this peer were dropped because
/// its receive queue was full (u.lost).
pub const IPCON_MSG_LOST: c_int = 4;
/// struct ipcon_message kind: a delivery of a kind this version of the
/// library does not know, from a newer kernel module (u.unknown); ignore
/// it.
pub const IPCON_MSG_UNKNOWN: c_int = 5;

/// struct ipcon_event kind: a peer closed its sockets or exited (peer).
pub const IPCON_EVENT_PEER_GONE: c_uint = 1;
/// struct ipcon_event kind: a service was registered (name, by peer).
pub const IPCON_EVENT_SERVICE_ADDED: c_uint = 2;
/// struct ipcon_event kind: a service was removed (unregistered, or its
/// owner is gone).
pub const IPCON_EVENT_SERVICE_REMOVED: c_uint = 3;
/// struct ipcon_event kind: a group was registered.
pub const IPCON_EVENT_GROUP_ADDED: c_uint = 4;
/// struct ipcon_event kind: a group was removed.
pub const IPCON_EVENT_GROUP_REMOVED: c_uint = 5;

const _: () = assert!(IPCON_EVENT_PEER_GONE == ipcon::uapi::IPCON_EV_PEER_GONE);
const _: () = assert!(IPCON_EVENT_SERVICE_ADDED == ipcon::uapi::IPCON_EV_SRV_ADDED);
const _: () = assert!(IPCON_EVENT_SERVICE_REMOVED == ipcon::uapi::IPCON_EV_SRV_REMOVED);
const _: () = assert!(IPCON_EVENT_GROUP_ADDED == ipcon::uapi::IPCON_EV_GRP_ADDED);
const _: () = assert!(IPCON_EVENT_GROUP_REMOVED == ipcon::uapi::IPCON_EV_GRP_REMOVED);

/// A peer: its own port and id, its services and groups, its memberships.
/// Opened with ipcon_open(), freed with ipcon_close().
///
/// Threads: the request functions (register, resolve, list, send,
/// publish, join, subscribe, the policy) must not run at the same time on
/// one peer; the receive functions (ipcon_recv() and its variants,
/// ipcon_fd(), ipcon_set_recv_buffer_size()) may run in another thread
/// while one of them does. So one thread may send while another receives.
/// Nothing may run on a peer while ipcon_close() frees it.
pub struct ipcon_peer {
    tx: OwnedRequester,
    rx: OwnedReceiver,
}

/// Who sent a message: stamped by the kernel, not by the sender.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_sender {
    /// The sender's port (reply with ipcon_send_to_port()); reused once
    /// its socket is closed, unlike the id.
    pub port: u32,
    /// The sender's id, never reused: reply with ipcon_send_to_id() to
    /// reach exactly this peer.
    pub id: u64,
    /// Effective uid of the sender (of the credentials its socket was
    /// opened with).
    pub uid: u32,
    /// Effective gid of the sender.
    pub gid: u32,
    /// Process id of the sender as seen from this peer's pid namespace; 0
    /// if it has none there.
    pub pid: u32,
    /// The sender's service: the one it named when sending, or its oldest;
    /// "" if it has none.
    pub service: [c_char; IPCON_NAME_SIZE],
}

/// The peer owning a name (ipcon_resolve_owner()), or the peer an event
/// is about.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_owner {
    /// Its port.
    pub port: u32,
    /// Its id (never reused).
    pub id: u64,
    /// Its effective uid.
    pub uid: u32,
    /// Its effective gid.
    pub gid: u32,
}

/// IPCON_MSG_UNICAST: a message sent to this peer.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_unicast {
    /// The kernel-stamped sender.
    pub sender: ipcon_sender,
    /// The service the message was sent to; "" if sent to the port or id.
    pub service: [c_char; IPCON_NAME_SIZE],
    /// The payload, inside the buffer given to the receive call.
    pub data: *const c_void,
    /// Its length in bytes.
    pub len: usize,
}

/// IPCON_MSG_GROUP: a message published to a group.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_group_message {
    /// The group.
    pub group: [c_char; IPCON_NAME_SIZE],
    /// The kernel-stamped sender (the group's owner).
    pub sender: ipcon_sender,
    /// True for the retained message replayed on a join with
    /// IPCON_JOIN_LAST.
    pub retained: bool,
    /// The payload, inside the buffer given to the receive call.
    pub data: *const c_void,
    /// Its length in bytes.
    pub len: usize,
}

/// IPCON_MSG_EVENT: a kernel event.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_event {
    /// IPCON_EVENT_*; another value is a kind this library does not know.
    pub kind: c_uint,
    /// The peer that is gone, or the owner of the service or group.
    pub peer: ipcon_owner,
    /// The service or group; "" for IPCON_EVENT_PEER_GONE.
    pub name: [c_char; IPCON_NAME_SIZE],
}

/// IPCON_MSG_LOST: messages to this peer were dropped because its receive
/// queue was full; sent before the next message that gets through.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_lost {
    /// The group whose messages were lost; "" for lost events.
    pub group: [c_char; IPCON_NAME_SIZE],
    /// How many were lost.
    pub count: u32,
}

/// IPCON_MSG_UNKNOWN: a delivery of a kind this library does not know.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_unknown {
    /// Its generic netlink command.
    pub cmd: u32,
}

/// The message itself; which member is valid depends on
/// struct ipcon_message kind.
#[repr(C)]
#[derive(Clone, Copy)]
pub union ipcon_message_body {
    /// IPCON_MSG_UNICAST.
    pub unicast: ipcon_unicast,
    /// IPCON_MSG_GROUP.
    pub group: ipcon_group_message,
    /// IPCON_MSG_EVENT.
    pub event: ipcon_event,
    /// IPCON_MSG_LOST.
    pub lost: ipcon_lost,
    /// IPCON_MSG_UNKNOWN.
    pub unknown: ipcon_unknown,
}

/// A received message, filled by ipcon_recv() and its variants. Payload
/// pointers point into the buffer given to that call: valid until the
/// buffer is reused or freed.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_message {
    /// IPCON_MSG_*: which member of u is valid.
    pub kind: c_int,
    /// The message.
    pub u: ipcon_message_body,
}

/// One service of ipcon_list_services().
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_service_info {
    /// The service.
    pub name: [c_char; IPCON_NAME_SIZE],
    /// Its owner.
    pub owner: ipcon_owner,
}

/// One group of ipcon_list_groups().
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ipcon_group_info {
    /// The group.
    pub name: [c_char; IPCON_NAME_SIZE],
    /// Its owner, the only peer that may publish to it.
    pub owner: ipcon_owner,
    /// Number of members.
    pub members: u32,
    /// Whether it retains its last message (IPCON_GROUP_RETAIN).
    pub retain: bool,
}

/// Called by ipcon_list_services() for each service, with the arg given
/// to it; info is valid during the call only.
pub type ipcon_service_cb =
    Option<unsafe extern "C" fn(info: *const ipcon_service_info, arg: *mut c_void)>;

/// Called by ipcon_list_groups() for each group, with the arg given to
/// it; info is valid during the call only.
pub type ipcon_group_cb =
    Option<unsafe extern "C" fn(info: *const ipcon_group_info, arg: *mut c_void)>;

/// The library's version, "MAJOR.MINOR.PATCH".
///
/// Threads: any thread, any time.
#[no_mangle]
pub extern "C" fn ipcon_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Open a peer: a port, an id, no names yet. Stores it in *peer.
///
/// Returns 0, or a negative errno: -EPROTONOSUPPORT (the ipcon kernel
/// module is not loaded), -EINVAL (peer is NULL), another from socket(2).
///
/// Threads: any thread, any time.
///
/// # Safety
/// peer is NULL or points to writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_open(peer: *mut *mut ipcon_peer) -> c_int {
    if peer.is_null() {
        return -errors::EINVAL;
    }
    match Peer::open() {
        Ok(p) => {
            let (tx, rx) = p.into_split();
            let boxed = Box::into_raw(Box::new(ipcon_peer { tx, rx }));
            // SAFETY: checked non-NULL; the caller gives writable storage.
            unsafe { peer.write(boxed) };
            0
        }
        Err(e) => errors::of(e),
    }
}

/// Close a peer: its sockets are closed, its services and groups removed
/// (subscribers of events see IPCON_EVENT_PEER_GONE), and it is freed.
/// NULL is ignored.
///
/// Threads: nothing else may run on the peer, or follow.
///
/// # Safety
/// peer is NULL or was returned by ipcon_open() and not closed yet; no
/// other call on it runs or follows.
#[no_mangle]
pub unsafe extern "C" fn ipcon_close(peer: *mut ipcon_peer) {
    if !peer.is_null() {
        // SAFETY: the caller passes a pointer from ipcon_open(), once.
        drop(unsafe { Box::from_raw(peer) });
    }
}

/// The requesting half of `peer`, or -EINVAL for NULL.
///
/// # Safety
/// peer is NULL or a live peer that no other request uses meanwhile.
unsafe fn tx<'a>(peer: *mut ipcon_peer) -> Result<&'a mut OwnedRequester, c_int> {
    if peer.is_null() {
        return Err(-errors::EINVAL);
    }
    // SAFETY: a live peer; only the requesting half is borrowed mutably,
    // so a receive in another thread (which borrows rx) does not alias it.
    Ok(unsafe { &mut *core::ptr::addr_of_mut!((*peer).tx) })
}

/// The receiving half of `peer`, or -EINVAL for NULL.
///
/// # Safety
/// peer is NULL or a live peer.
unsafe fn rx<'a>(peer: *const ipcon_peer) -> Result<&'a OwnedReceiver, c_int> {
    if peer.is_null() {
        return Err(-errors::EINVAL);
    }
    // SAFETY: a live peer; the receiving half is only ever borrowed shared.
    Ok(unsafe { &*core::ptr::addr_of!((*peer).rx) })
}

/// The file descriptor a receive waits on, for poll(2) and epoll(7)
/// (readable: a message is waiting). Owned by the peer: do not close it.
/// Returns it, or -EINVAL if peer is NULL.
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// peer is NULL or a live peer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_fd(peer: *const ipcon_peer) -> c_int {
    // SAFETY: the caller's contract.
    match unsafe { rx(peer) } {
        Ok(rx) => rx.as_raw_fd(),
        Err(e) => e,
    }
}

/// The peer's port (what others send to); 0 if peer is NULL.
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// peer is NULL or a live peer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_port(peer: *const ipcon_peer) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { rx(peer) }.map_or(0, |rx| rx.port())
}

/// The peer's id, unique in the network namespace and never reused; 0 if
/// peer is NULL.
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// peer is NULL or a live peer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_id(peer: *const ipcon_peer) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { rx(peer) }.map_or(0, |rx| rx.id())
}

/// How many datagrams not sent by the kernel the peer's sockets received
/// and dropped (only a process with CAP_NET_ADMIN can send them); 0 if
/// peer is NULL.
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// peer is NULL or a live peer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_dropped_foreign(peer: *const ipcon_peer) -> u32 {
    // SAFETY: the caller's contract.
    unsafe { rx(peer) }.map_or(0, |rx| rx.dropped_foreign())
}

/// Ask for a receive queue of `bytes` (capped by net.core.rmem_max) and
/// store the size in effect in *actual (if actual is not NULL). A larger
/// queue absorbs bursts before the kernel drops (IPCON_MSG_LOST).
/// Returns 0 or a negative errno (-EINVAL: peer is NULL).
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// peer is NULL or a live peer; actual is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_set_recv_buffer_size(
    peer: *const ipcon_peer,
    bytes: usize,
    actual: *mut usize,
) -> c_int {
    // SAFETY: the caller's contract.
    let rx = match unsafe { rx(peer) } {
        Ok(rx) => rx,
        Err(e) => return e,
    };
    match rx.set_recv_buffer_size(bytes) {
        Ok(size) => {
            if !actual.is_null() {
                // SAFETY: checked non-NULL; writable by contract.
                unsafe { actual.write(size) };
            }
            0
        }
        Err(e) => errors::of(e),
    }
}

/// Run a request with the peer's requesting half and a checked name.
///
/// # Safety
/// As for `tx` and `name_arg`.
unsafe fn with_name(
    peer: *mut ipcon_peer,
    name: *const c_char,
    f: impl FnOnce(&mut OwnedRequester, &str) -> Result<(), ipcon::Error>,
) -> c_int {
    // SAFETY: the caller's contract.
    let (tx, name) = match unsafe { (tx(peer), name_arg(name)) } {
        (Ok(tx), Ok(name)) => (tx, name),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    status(f(tx, name))
}

/// Register a service owned by this peer: messages sent to the name come
/// to it. Returns 0 or a negative errno: -EEXIST (taken), -EINVAL (NULL,
/// or not a name: 1 to 63 bytes of [A-Za-z0-9._:-]), -EACCES (the policy
/// denies it), -EDQUOT (the per-user limit).
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_register_service(
    peer: *mut ipcon_peer,
    name: *const c_char,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_name(peer, name, |tx, n| tx.register_service(n)) }
}

/// Remove one of this peer's services. Returns 0 or a negative errno:
/// -ENOENT (no such service), -EPERM (another peer's), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_unregister_service(
    peer: *mut ipcon_peer,
    name: *const c_char,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_name(peer, name, |tx, n| tx.unregister_service(n)) }
}

/// The port of the service's owner, in *port. Returns 0 or a negative
/// errno: -ENOENT (no such service), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string; port is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_resolve(
    peer: *mut ipcon_peer,
    name: *const c_char,
    port: *mut u32,
) -> c_int {
    if port.is_null() {
        return -errors::EINVAL;
    }
    // SAFETY: the caller's contract.
    unsafe {
        with_name(peer, name, |tx, n| {
            let p = tx.resolve(n)?;
            // SAFETY: checked non-NULL; writable by contract.
            port.write(p);
            Ok(())
        })
    }
}

/// The service's owner (port, id, uid, gid) in *owner: check it before
/// trusting the service. Returns 0 or a negative errno: -ENOENT, -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string; owner is NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_resolve_owner(
    peer: *mut ipcon_peer,
    name: *const c_char,
    owner: *mut ipcon_owner,
) -> c_int {
    if owner.is_null() {
        return -errors::EINVAL;
    }
    // SAFETY: the caller's contract.
    unsafe {
        with_name(peer, name, |tx, n| {
            let o = tx.resolve_owner(n)?;
            // SAFETY: checked non-NULL; writable by contract.
            owner.write(convert::owner_of(o.port, o.id, o.uid, o.gid));
            Ok(())
        })
    }
}

/// Register a group owned by this peer (only the owner publishes); flags
/// 0 or IPCON_GROUP_RETAIN. Returns 0 or a negative errno: -EEXIST,
/// -EINVAL (NULL, not a name, unknown flags), -EACCES, -EDQUOT.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_register_group(
    peer: *mut ipcon_peer,
    name: *const c_char,
    flags: c_uint,
) -> c_int {
    let flags = match flags {
        0 => GroupFlags::empty(),
        IPCON_GROUP_RETAIN => GroupFlags::RETAIN,
        _ => return -errors::EINVAL,
    };
    // SAFETY: the caller's contract.
    unsafe { with_name(peer, name, |tx, n| tx.register_group(n, flags)) }
}

/// Remove one of this peer's groups (members with events see
/// IPCON_EVENT_GROUP_REMOVED). Returns 0 or a negative errno: -ENOENT,
/// -EPERM (another peer's), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_unregister_group(
    peer: *mut ipcon_peer,
    name: *const c_char,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_name(peer, name, |tx, n| tx.unregister_group(n)) }
}

/// Join a group: its messages are then delivered to this peer; flags 0 or
/// IPCON_JOIN_LAST. Returns 0 or a negative errno: -ENOENT (no such
/// group), -EALREADY (a member already), -EACCES, -EDQUOT, -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_join(
    peer: *mut ipcon_peer,
    name: *const c_char,
    flags: c_uint,
) -> c_int {
    let flags = match flags {
        0 => JoinFlags::empty(),
        IPCON_JOIN_LAST => JoinFlags::LAST,
        _ => return -errors::EINVAL,
    };
    // SAFETY: the caller's contract.
    unsafe { with_name(peer, name, |tx, n| tx.join(n, flags)) }
}

/// Leave a group. Returns 0 or a negative errno: -ENOENT, -ENOTCONN (not
/// a member), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; name is NULL or a string.
#[no_mangle]
pub unsafe extern "C" fn ipcon_leave(peer: *mut ipcon_peer, name: *const c_char) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_name(peer, name, |tx, n| tx.leave(n)) }
}

/// Run a send with the peer's requesting half and a checked payload.
///
/// # Safety
/// As for `tx` and `data_arg`.
unsafe fn with_data(
    peer: *mut ipcon_peer,
    data: *const c_void,
    len: usize,
    f: impl FnOnce(&mut OwnedRequester, &[u8]) -> Result<(), ipcon::Error>,
) -> c_int {
    // SAFETY: the caller's contract.
    let (tx, data) = match unsafe { (tx(peer), data_arg(data, len)) } {
        (Ok(tx), Ok(data)) => (tx, data),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    status(f(tx, data))
}

/// Run a send with the peer's requesting half, a checked name and a
/// checked payload.
///
/// # Safety
/// As for `tx`, `name_arg` and `data_arg`.
unsafe fn with_name_data(
    peer: *mut ipcon_peer,
    name: *const c_char,
    data: *const c_void,
    len: usize,
    f: impl FnOnce(&mut OwnedRequester, &str, &[u8]) -> Result<(), ipcon::Error>,
) -> c_int {
    // SAFETY: the caller's contract.
    match unsafe { name_arg(name) } {
        // SAFETY: the caller's contract.
        Ok(name) => unsafe { with_data(peer, data, len, |tx, d| f(tx, name, d)) },
        Err(e) => e,
    }
}

/// Run a request that takes no argument with the peer's requesting half.
///
/// # Safety
/// As for `tx`.
pub(crate) unsafe fn with_tx(
    peer: *mut ipcon_peer,
    f: impl FnOnce(&mut OwnedRequester) -> Result<(), ipcon::Error>,
) -> c_int {
    // SAFETY: the caller's contract.
    match unsafe { tx(peer) } {
        Ok(tx) => status(f(tx)),
        Err(e) => e,
    }
}

/// Send len bytes (at most IPCON_DATA_MAX; data may be NULL if len is 0)
/// to the peer with this port. Returns once the message is in the
/// receiver's queue, or a negative errno with nothing delivered:
/// -ECONNREFUSED (no such peer), -ENOBUFS (its queue is full), -EMSGSIZE
/// (too long), -EACCES (the policy), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; data is NULL or len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_send_to_port(
    peer: *mut ipcon_peer,
    port: u32,
    data: *const c_void,
    len: usize,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_data(peer, data, len, |tx, d| tx.send_to_port(port, d)) }
}

/// Like ipcon_send_to_port(), to the peer with this id: that very peer or
/// none (-ECONNREFUSED once it is gone, even if its port is reused).
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; data is NULL or len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_send_to_id(
    peer: *mut ipcon_peer,
    id: u64,
    data: *const c_void,
    len: usize,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_data(peer, data, len, |tx, d| tx.send_to_id(id, d)) }
}

/// Like ipcon_send_to_port(), to the owner of a service; -ENOENT if there
/// is no such service.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; service is NULL or a string; data is NULL
/// or len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_send_to_service(
    peer: *mut ipcon_peer,
    service: *const c_char,
    data: *const c_void,
    len: usize,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe {
        with_name_data(peer, service, data, len, |tx, n, d| {
            tx.send_to_service(n, d)
        })
    }
}

/// Publish len bytes to one of this peer's groups: every member gets it
/// (a member whose queue is full gets an IPCON_MSG_LOST count later).
/// Returns 0 or a negative errno: -ENOENT, -EPERM (not the owner),
/// -EMSGSIZE, -EDQUOT (retained bytes), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; group is NULL or a string; data is NULL
/// or len readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_publish(
    peer: *mut ipcon_peer,
    group: *const c_char,
    data: *const c_void,
    len: usize,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_name_data(peer, group, data, len, |tx, n, d| tx.publish(n, d)) }
}

/// Receive kernel events (IPCON_MSG_EVENT): services and groups added and
/// removed, peers gone. Returns 0 or a negative errno: -EALREADY,
/// -EDQUOT, -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_subscribe_events(peer: *mut ipcon_peer) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_tx(peer, |tx| tx.subscribe_events()) }
}

/// Stop receiving kernel events. Returns 0 or a negative errno:
/// -ENOTCONN (not subscribed), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_unsubscribe_events(peer: *mut ipcon_peer) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_tx(peer, |tx| tx.unsubscribe_events()) }
}

/// Run a listing with the peer's requesting half and a checked buffer.
///
/// # Safety
/// As for `tx` and `buf_arg`.
unsafe fn with_dump(
    peer: *mut ipcon_peer,
    buf: *mut c_void,
    len: usize,
    f: impl FnOnce(&mut OwnedRequester, &mut [u8]) -> Result<(), ipcon::Error>,
) -> c_int {
    // SAFETY: the caller's contract.
    match unsafe { (tx(peer), buf_arg(buf, len)) } {
        (Ok(tx), Ok(buf)) => status(f(tx, buf)),
        (Err(e), _) | (_, Err(e)) => e,
    }
}

/// Call cb for every service, with arg; buf (len bytes, use
/// IPCON_DUMP_BUFFER_SIZE) receives the listing. A service that exists
/// for the whole listing is passed exactly once; one registered or removed
/// meanwhile may or may not be. Returns 0 or a negative errno: -ENOSPC
/// (buf too small), -EINVAL (NULL).
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; buf is NULL or len writable bytes; cb is
/// NULL or a function taking arg.
#[no_mangle]
pub unsafe extern "C" fn ipcon_list_services(
    peer: *mut ipcon_peer,
    buf: *mut c_void,
    len: usize,
    cb: ipcon_service_cb,
    arg: *mut c_void,
) -> c_int {
    let Some(cb) = cb else {
        return -errors::EINVAL;
    };
    let list = |tx: &mut OwnedRequester, buf: &mut [u8]| {
        tx.services(buf, |s| {
            let mut info = ipcon_service_info {
                name: [0; IPCON_NAME_SIZE],
                owner: convert::owner_of(s.port, s.id, s.uid, s.gid),
            };
            put_name(&mut info.name, Some(s.name));
            // SAFETY: a C callback given by the caller, with its argument.
            unsafe { cb(&info, arg) };
        })
    };
    // SAFETY: the caller's contract.
    unsafe { with_dump(peer, buf, len, list) }
}

/// Call cb for every group, with arg; buf as for ipcon_list_services().
/// Returns 0 or a negative errno: -ENOSPC, -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; buf is NULL or len writable bytes; cb is
/// NULL or a function taking arg.
#[no_mangle]
pub unsafe extern "C" fn ipcon_list_groups(
    peer: *mut ipcon_peer,
    buf: *mut c_void,
    len: usize,
    cb: ipcon_group_cb,
    arg: *mut c_void,
) -> c_int {
    let Some(cb) = cb else {
        return -errors::EINVAL;
    };
    let list = |tx: &mut OwnedRequester, buf: &mut [u8]| {
        tx.groups(buf, |g| {
            let mut info = ipcon_group_info {
                name: [0; IPCON_NAME_SIZE],
                owner: convert::owner_of(g.owner, g.owner_id, g.owner_uid, g.owner_gid),
                members: g.members,
                retain: g.retain,
            };
            put_name(&mut info.name, Some(g.name));
            // SAFETY: a C callback given by the caller, with its argument.
            unsafe { cb(&info, arg) };
        })
    };
    // SAFETY: the caller's contract.
    unsafe { with_dump(peer, buf, len, list) }
}

/// How a receive waits.
enum Wait {
    Forever,
    For(Duration),
    No,
}

/// Receive into `buf` and fill `*msg`.
///
/// # Safety
/// As for `rx` and `buf_arg`; msg is NULL or writable.
unsafe fn receive(
    peer: *const ipcon_peer,
    buf: *mut c_void,
    len: usize,
    msg: *mut ipcon_message,
    wait: Wait,
) -> c_int {
    if msg.is_null() {
        return -errors::EINVAL;
    }
    // SAFETY: the caller's contract.
    let (rx, buf) = match unsafe { (rx(peer), buf_arg(buf, len)) } {
        (Ok(rx), Ok(buf)) => (rx, buf),
        (Err(e), _) | (_, Err(e)) => return e,
    };
    let got = match wait {
        Wait::Forever => rx.recv(buf),
        Wait::For(t) => rx.recv_timeout(buf, t),
        Wait::No => rx.try_recv(buf),
    };
    match got {
        Ok(m) => {
            // SAFETY: checked non-NULL; writable by contract.
            unsafe { msg.write(message_of(&m)) };
            0
        }
        Err(e) => errors::of_recv(e),
    }
}

/// Wait for the next message and describe it in *msg; buf (len bytes, use
/// IPCON_RECV_BUFFER_SIZE) holds it, and msg's data points into it.
/// Returns 0 or a negative errno: -ENOSPC (the message did not fit buf and
/// was discarded), -EPROTO (a malformed delivery, discarded), -EINTR (a
/// signal), -EINVAL (NULL). Allocates nothing.
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// peer is NULL or a live peer; buf is NULL or len writable bytes; msg is
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_recv(
    peer: *const ipcon_peer,
    buf: *mut c_void,
    len: usize,
    msg: *mut ipcon_message,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { receive(peer, buf, len, msg, Wait::Forever) }
}

/// Like ipcon_recv(), waiting at most timeout_ms milliseconds (0: not at
/// all); -ETIMEDOUT if no message came (-EAGAIN for 0 and none queued).
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// As for ipcon_recv().
#[no_mangle]
pub unsafe extern "C" fn ipcon_recv_timeout(
    peer: *const ipcon_peer,
    buf: *mut c_void,
    len: usize,
    timeout_ms: c_uint,
    msg: *mut ipcon_message,
) -> c_int {
    let wait = match timeout_ms {
        0 => Wait::No,
        ms => Wait::For(Duration::from_millis(u64::from(ms))),
    };
    // SAFETY: the caller's contract.
    unsafe { receive(peer, buf, len, msg, wait) }
}

/// Like ipcon_recv() without waiting: -EAGAIN if no message is queued.
/// With poll(2) on ipcon_fd(), drain the peer with it until -EAGAIN.
///
/// Threads: a receive: may run while a request runs in another thread.
///
/// # Safety
/// As for ipcon_recv().
#[no_mangle]
pub unsafe extern "C" fn ipcon_try_recv(
    peer: *const ipcon_peer,
    buf: *mut c_void,
    len: usize,
    msg: *mut ipcon_message,
) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { receive(peer, buf, len, msg, Wait::No) }
}
