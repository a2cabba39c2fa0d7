// SPDX-License-Identifier: MIT OR Apache-2.0
//! # ipcon: packet IPC over Generic Netlink for embedded Linux
//!
//! The ipcon kernel module registers the generic netlink family `IPCON` and
//! acts as a broker between processes:
//!
//! * **services**: unique names mapped to peer ports; send to a name and
//!   the kernel routes it,
//! * **groups**: named, owner-published, with kernel-tracked membership and
//!   an optional retained last message for late joiners,
//! * **unicast** relayed by the kernel, which stamps the **sender**: port,
//!   id, service name, uid, gid and pid, so a receiver can trust who is
//!   talking,
//! * **ids**: every peer gets a 64-bit id that is never reused in its
//!   network namespace ([`Peer::id`], [`Sender::id`]); sending with
//!   [`Target::Id`] reaches that peer or fails, never a newcomer that got
//!   the same port,
//! * **owners visible**: resolving a service ([`Peer::resolve_owner`]),
//!   the service and group lists and the events carry the owner's id, uid
//!   and gid, so a client can check a server before trusting it,
//! * **a security policy** ([`policy`]): which uids and gids may own, send
//!   to and join which names, with a default of allow or deny, set by
//!   `CAP_NET_ADMIN` and enforced by the kernel; and per-user limits
//!   ([`Error::LimitReached`]),
//! * **events**: peer gone, service or group added or removed,
//! * **lost-message notices** when a receive queue overflows.
//!
//! ## Principle
//!
//! Only the kernel speaks: every datagram this crate accepts comes from
//! netlink port 0; anything else is dropped and counted
//! ([`Peer::dropped_foreign`]). A [`Peer`] is two sockets paired by the
//! kernel: requests are synchronous on a control socket, and all
//! deliveries arrive on a receive socket ([`Peer`] implements `AsFd` for
//! `poll`/`epoll`). Sending and receiving never allocate: payloads go out as
//! I/O slices, and come in into a caller buffer, parsed into views that
//! borrow it ([`Message`]). The crate is `no_std` (without the `std`
//! feature), uses no `unsafe` code and makes system calls through `rustix`
//! only. The wire format is in [`uapi`] (mirroring the C header) and
//! [`wire`] (a pure codec).
//!
//! ## Trust
//!
//! What the kernel stamps can be trusted: the sender's uid and gid are
//! those of the credentials its receive socket was opened with (a socket
//! handed to a more privileged program keeps speaking for its opener),
//! its pid is translated into the receiver's pid namespace (0 if it has
//! no number there), its id is never reused. What a policy denies fails
//! with [`Error::Denied`]; a policy is loaded from a text file with
//! [`policy::Policy::parse`] and [`Peer::load_policy`] (or `ipcon policy
//! load FILE`).
//!
//! ## Example
//!
//! ```no_run
//! use core::time::Duration;
//! use ipcon::{Message, Peer, RECV_BUFFER_SIZE};
//!
//! # fn main() -> Result<(), ipcon::Error> {
//! let mut peer = Peer::open()?;
//! peer.register_service("demo.echo")?;
//! let mut buf = [0u8; RECV_BUFFER_SIZE];
//! loop {
//!     let (from, len) = match peer.recv_timeout(&mut buf, Duration::from_secs(5))? {
//!         Message::Unicast(m) => {
//!             // The sender is stamped by the kernel, not claimed by the client.
//!             if m.sender.uid != 0 {
//!                 continue;
//!             }
//!             (m.sender.port, m.data.len())
//!         }
//!         _ => continue,
//!     };
//!     // `buf` is free again once the message views are no longer used.
//!     peer.send_to_port(from, &len.to_ne_bytes())?;
//! }
//! # }
//! ```
//!
//! ## More examples and the `ipcon` tool
//!
//! The crate's `examples/` directory has complete programs, each run by
//! the VM test suite: `rpc_server` and `rpc_client` (request/response),
//! `pubsub` (a retained group and a late joiner), `watch_peers` (events: a
//! supervisor restarting a worker killed with SIGKILL), `poll_loop`
//! (several peers and a timer in one `poll(2)` loop) and `fixed_buffers`
//! (no heap, the API without `std` or `alloc`).
//!
//! The `ipcon` command-line tool (`ipcon list`, `call`, `serve`, `listen`,
//! `monitor`, `policy load|show|check|clear`, ...; `ipcon --help`) is the
//! package `ipcon-cli`, written on this public API only.
//!
//! ## Features
//!
//! * `std` (default): `std::error::Error` through `core::error::Error`,
//!   `From<Error> for std::io::Error`; implies `alloc`.
//! * `alloc`: owned convenience helpers such as [`Peer::service_list`],
//!   [`policy::Policy`] (parsing a whole policy file), [`Peer::load_policy`]
//!   and [`Peer::policy`].
//! * `defmt`: `defmt::Format` for the public types.
//!
//! Without default features the crate is `#![no_std]` and needs only
//! `core` (and a Linux target, for `rustix`).

#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "alloc")]
extern crate alloc;

#[cfg(any(feature = "tokio", feature = "async-io"))]
#[macro_use]
mod async_common;
#[cfg(feature = "async-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "async-io")))]
pub mod async_io;
#[cfg(feature = "defmt")]
mod defmt_impl;
mod error;
pub mod name;
#[cfg(feature = "alloc")]
mod owned;
mod peer;
pub mod policy;
mod sys;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;
pub mod uapi;
#[cfg(feature = "unstable")]
#[cfg_attr(docsrs, doc(cfg(feature = "unstable")))]
pub mod wire;
// Without `unstable`, the codec is the crate's own business.
#[cfg(not(feature = "unstable"))]
#[allow(dead_code, unreachable_pub)]
pub(crate) mod wire;

pub use error::{Errno, Error, ProtocolError, RecvError};
pub use name::Name;
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use owned::OwnedMessage;
pub use peer::{
    GroupFlags, GroupInfo, JoinFlags, OwnedReceiver, OwnedRequester, Owner, Peer, Receiver,
    Requester, ReuniteError, ServiceInfo, Target, DUMP_BUFFER_SIZE, RECV_BUFFER_SIZE,
};
/// Largest payload of one message, in bytes ([`uapi::IPCON_PAYLOAD_MAX`]).
pub const PAYLOAD_MAX: usize = uapi::IPCON_PAYLOAD_MAX;
/// Longest service or group name, in bytes ([`uapi::IPCON_NAME_MAX`]).
pub const NAME_MAX: usize = uapi::IPCON_NAME_MAX;

pub use wire::message::{Event, EventKind, GroupMessage, Lost, Message, Sender, Unicast};
