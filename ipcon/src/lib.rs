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
//! deliveries arrive on a receive socket (the peer is `AsFd` and
//! `AsRawFd` for `poll`/`epoll` and async reactors). Sending and receiving
//! never allocate: payloads go out as I/O slices, and come in into a
//! caller buffer, parsed into views that borrow it ([`Message`]). The
//! crate is `no_std` (without the `std` feature), uses no `unsafe` code and
//! makes system calls through `rustix` only. The wire constants are in
//! [`uapi`] (mirroring the C header).
//!
//! ## Trust
//!
//! What the kernel stamps can be trusted: the sender's uid and gid are
//! those of the credentials its receive socket was opened with (a socket
//! handed to a more privileged program keeps speaking for its opener),
//! its pid is translated into the receiver's pid namespace (0 if it has
//! no number there), its id is never reused. What a policy denies fails
//! with [`Error::Denied`]; a policy is loaded from a text file with
//! `policy::Policy::parse` and `Peer::load_policy` (feature `alloc`), or
//! [`policy::parse_each`] and [`Peer::set_policy`] without it (or
//! `ipcon policy load FILE`).
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
//! ## Threads and async
//!
//! Requests take `&mut self`, receives `&self`; [`Peer::split`] and
//! [`Peer::into_split`] give a requesting and a receiving half so that one
//! thread can block in `recv` while another sends (the [`Peer`]
//! documentation says what may run at the same time). With the `tokio` or
//! `async-io` feature, `tokio::AsyncPeer` and `async_io::AsyncPeer` receive
//! with `.await` on the receive socket's readiness, cancellation safe.
//!
//! ## More examples and the `ipcon` tool
//!
//! The crate's `examples/` directory has complete programs, each run by
//! the VM test suite: `rpc_server` and `rpc_client` (request/response),
//! `pubsub` (a retained group and a late joiner), `watch_peers` (events: a
//! supervisor restarting a worker killed with SIGKILL), `poll_loop`
//! (several peers and a timer in one `poll(2)` loop), `fixed_buffers`
//! (no heap, the API without `std` or `alloc`), `threaded_server` (the
//! borrowed halves in two threads), `tokio_daemon` and `smol_daemon` (the
//! async peers, many requests at once, receives cancelled by a timer).
//!
//! The `ipcon` command-line tool (`ipcon list`, `call`, `serve`, `listen`,
//! `monitor`, `policy load|show|check|clear`, ...; `ipcon --help`) is the
//! package `ipcon-cli`, written on this public API only.
//!
//! ## Features
//!
//! * `std` (default): `std::error::Error` through `core::error::Error`,
//!   `From<Error>` and `From<RecvError>` for `std::io::Error` (without
//!   allocating), and std's `AsFd`/`AsRawFd` (rustix's own traits are the
//!   same ones then); implies `alloc`.
//! * `alloc`: owned convenience helpers: `OwnedMessage`,
//!   `Peer::service_list`, `policy::Policy` (parsing a whole policy file),
//!   `Peer::load_policy` and `Peer::policy`.
//! * `tokio`: `tokio::AsyncPeer`, on Tokio's reactor; implies `std`.
//! * `async-io`: `async_io::AsyncPeer`, on async-io's reactor (smol, or any
//!   executor); implies `std`.
//! * `defmt`: `defmt::Format` for the public types.
//! * `unstable`: the wire codec, `ipcon::wire`, as public API outside
//!   semver (see below).
//!
//! Without default features the crate is `#![no_std]` and needs only
//! `core` (and a Linux target, for `rustix`). Rust 1.85 or newer.
//!
//! ## API stability
//!
//! The crate follows semver from 0.1 on (while it is 0.x, a breaking
//! change bumps the minor version). Reviewed against the
//! [Rust API guidelines checklist](https://rust-lang.github.io/api-guidelines/checklist.html):
//!
//! **Stable** (covered by semver):
//! * [`Peer`], its halves ([`Requester`], [`Receiver`],
//!   [`OwnedRequester`], [`OwnedReceiver`]) and the async peers: every
//!   public method. New methods may come in minor versions.
//! * The views ([`Message`], [`Sender`], [`Unicast`], [`GroupMessage`],
//!   [`Event`], [`Lost`], [`ServiceInfo`], [`GroupInfo`], [`Owner`]) and
//!   the enums the kernel's answers fill ([`EventKind`], [`Error`],
//!   [`ProtocolError`], `policy::Action`, `policy::Who`,
//!   `policy::Default`, `policy::Line`) are `#[non_exhaustive]`
//!   (C-STRUCT-PRIVATE's intent for growing types): a newer module may
//!   add fields, kinds and errors in a minor version. Match them with a
//!   wildcard arm; construct the input types ([`Target`],
//!   [`policy::Rule`]) freely.
//! * [`RecvError`] is **exhaustive on purpose**: a receive loop can handle
//!   every case, and a new variant would be a major version.
//! * A delivery this version does not know is [`Message::Unknown`], an
//!   event kind [`EventKind::Unknown`]: a newer kernel module never breaks
//!   an older client's receive loop.
//! * [`uapi`]: the constants of the wire ABI; a released constant never
//!   changes meaning (new ones may be added).
//!
//! **Not stable**: the `wire` module (the codec: builders, views,
//! iterators) is public only with the `unstable` feature, and may change in
//! any release; the layout of `Debug` output; the exact `Display` texts
//! (they are for people).
//!
//! **Checklist, as applied**: names follow RFC 430 (C-CASE); conversions
//! are `From`/`as_`/`into_` (C-CONV: `OwnedMessage::message`,
//! [`Peer::into_split`], `AsyncPeer::into_peer`); the error types implement
//! `core::error::Error`, `Display` and `Send + Sync + 'static`, and convert
//! into `std::io::Error` and `embedded_io::Error` (C-GOOD-ERR); every public
//! type implements `Debug`, values `Clone`/`Copy`/`Eq`/`Hash` where they
//! are plain data (C-COMMON-TRAITS), and `defmt::Format` with that
//! feature; the halves are `Send`, the receiving ones `Sync` (C-SEND-SYNC);
//! flags are newtypes with constants, not bools (C-CUSTOM-TYPE,
//! C-BITFLAG); buffers come from the caller and no method allocates on the
//! send or receive path (C-CALLER-CONTROL); the fd-owning types implement
//! `AsFd` and `AsRawFd`; every public item is documented with its errors
//! and most with an example (C-EXAMPLE, C-FAILURE); features are additive
//! (C-FEATURE); the package has a README, licence files, a CHANGELOG and
//! docs.rs metadata (C-METADATA); dependencies are re-exported nowhere but
//! [`Errno`] (rustix's, the only foreign type in the API besides
//! `std::io::Error`, `futures_core::Stream` and the reactors' types in the
//! async modules).

#![cfg_attr(not(any(feature = "std", test)), no_std)]
#![cfg_attr(docsrs, feature(doc_cfg))]
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

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
