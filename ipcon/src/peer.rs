// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Peer`]: one ipcon endpoint, made of a receive socket and a control socket.

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::io::Errno;

use crate::name::validate;
use crate::policy::{self, Rule};
use crate::sys;
use crate::uapi::*;
use crate::wire::attr::NLA_HDRLEN;
use crate::wire::builder::{data_headers, data_len, gather, Builder, MAX_CHUNKS};
use crate::wire::genl::{
    parse_family_id, GenlMsg, CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, CTRL_VERSION, GENL_HDRLEN,
    GENL_ID_CTRL,
};
use crate::wire::netlink::{
    NlMsg, NlMsgIter, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use crate::wire::{align, get_u16, get_u32};
use crate::{Error, Message};

/// Size of one attribute carrying a name (header + 63 bytes + NUL, aligned).
const NAME_ATTR: usize = align(NLA_HDRLEN + IPCON_NAME_MAX + 1);
/// Size of one `u32` attribute.
const U32_ATTR: usize = NLA_HDRLEN + 4;
/// Size of one `u64` attribute with the padding attribute before it.
const U64_ATTR: usize = NLA_HDRLEN + NLA_HDRLEN + 8;

/// Receive buffer size that holds any delivery: the netlink and genetlink
/// headers, two names (group or addressed service, and sender service),
/// five `u32` attributes (source port, uid, gid, pid, flags), the sender
/// id (a `u64` and its padding), and a full [`IPCON_PAYLOAD_MAX`] payload
/// in [`IPCON_CHUNK_MAX`] chunks with their attribute headers, plus 248
/// bytes of slack for attributes a newer kernel module might add:
/// 66 004 bytes.
///
/// A smaller buffer works for small messages; a message that does not fit
/// is reported as [`Error::Truncated`].
pub const RECV_BUFFER_SIZE: usize = NLMSG_HDRLEN
    + GENL_HDRLEN
    + 2 * NAME_ATTR
    + 5 * U32_ATTR
    + U64_ATTR
    + MAX_CHUNKS * NLA_HDRLEN
    + IPCON_PAYLOAD_MAX
    + 248;

/// Recommended buffer size for [`Peer::services`] and [`Peer::groups`].
///
/// The kernel packs several dump entries into one datagram and may fill a
/// datagram up to 32 KiB when the socket has been read with large buffers,
/// so 32 KiB is always enough; with a smaller buffer a large datagram is
/// reported as [`Error::Truncated`].
pub const DUMP_BUFFER_SIZE: usize = 32768;

/// Stack buffer for replies and acknowledgements to requests (the largest
/// is the nlctrl family description, a few hundred bytes; error acks echo
/// the request but only their first bytes are needed).
const REPLY_BUF: usize = 2048;
/// Stack buffer for request headers (everything but the payload).
const REQUEST_BUF: usize = NLMSG_HDRLEN + GENL_HDRLEN + 2 * NAME_ATTR + 4 * U32_ATTR + 16;

// The largest request headers: SEND by name with a source name, SEND by
// id with a source name, PAIR (port and padded token).
const _: () = assert!(REQUEST_BUF >= NLMSG_HDRLEN + GENL_HDRLEN + 2 * NAME_ATTR + U32_ATTR);
const _: () = assert!(REQUEST_BUF >= NLMSG_HDRLEN + GENL_HDRLEN + NAME_ATTR + U64_ATTR);
const _: () = assert!(REQUEST_BUF >= NLMSG_HDRLEN + GENL_HDRLEN + U32_ATTR + U64_ATTR);
// An empty policy (clear_policy) fits the request buffer.
const _: () = assert!(REQUEST_BUF >= NLMSG_HDRLEN + GENL_HDRLEN + U32_ATTR);

/// How often [`Peer::policy`] reads the dump again when the policy
/// changed while it was read.
#[cfg(feature = "alloc")]
const POLICY_READ_TRIES: usize = 5;

/// Where to send a unicast message.
///
/// ```no_run
/// use ipcon::{Peer, Target};
///
/// # fn main() -> Result<(), ipcon::Error> {
/// let mut peer = Peer::open()?;
/// peer.send(Target::Service("demo.echo"), b"by name")?;
/// let owner = peer.resolve_owner("demo.echo")?;
/// peer.send(Target::Port(owner.port), b"by port")?;
/// // Never reaches a newcomer on the same port: fails once the owner is gone.
/// peer.send(Target::Id(owner.id), b"by id")?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Target<'a> {
    /// A peer's port (for example [`Sender::port`](crate::Sender::port) of a request).
    /// Ports are reused as soon as a socket is closed.
    Port(u32),
    /// A registered service, resolved by the kernel at send time.
    Service(&'a str),
    /// A peer's id (for example [`Sender::id`](crate::Sender::id) of a
    /// request): reaches that peer or fails with [`Error::PeerGone`], never
    /// a newer peer on the same port.
    Id(u64),
}

/// A flag set newtype over the wire's `u32`: `NONE`, the named flags,
/// `empty()`, `bits()`, `contains()` and `|`.
macro_rules! flag_set {
    ($(#[$doc:meta])* $name:ident { $($(#[$fdoc:meta])* $flag:ident = $value:expr;)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name(u32);

        impl $name {
            /// No flags.
            pub const NONE: Self = $name(0);
            $($(#[$fdoc])* pub const $flag: Self = $name($value);)*

            /// No flags (same as `NONE`).
            pub const fn empty() -> Self {
                $name(0)
            }

            /// The wire value.
            pub const fn bits(self) -> u32 {
                self.0
            }

            /// Whether all flags of `other` are set.
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, rhs: Self) -> Self {
                $name(self.0 | rhs.0)
            }
        }
    };
}

flag_set! {
    /// Flags for [`Peer::register_group`].
    ///
    /// ```
    /// use ipcon::GroupFlags;
    ///
    /// let flags = GroupFlags::RETAIN;
    /// assert!(flags.contains(GroupFlags::RETAIN));
    /// assert_eq!(GroupFlags::empty(), GroupFlags::NONE);
    /// assert_eq!((GroupFlags::NONE | GroupFlags::RETAIN).bits(), 1);
    /// ```
    GroupFlags {
        /// The kernel keeps the last published message and replays it to
        /// members that join with [`JoinFlags::LAST`].
        RETAIN = IPCON_GRP_F_RETAIN;
    }
}

flag_set! {
    /// Flags for [`Peer::join`].
    ///
    /// ```
    /// use ipcon::JoinFlags;
    ///
    /// assert!(JoinFlags::LAST.contains(JoinFlags::LAST));
    /// assert!(!JoinFlags::NONE.contains(JoinFlags::LAST));
    /// ```
    JoinFlags {
        /// Deliver the group's retained message (if any) right after joining,
        /// as a [`GroupMessage`](crate::GroupMessage) with `retained` set.
        LAST = IPCON_JOIN_F_LAST;
    }
}

/// One entry of [`Peer::services`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServiceInfo<'a> {
    /// Service name.
    pub name: &'a str,
    /// Port of the peer providing it.
    pub port: u32,
    /// Id of the peer providing it (never reused, unlike the port).
    pub id: u64,
    /// Effective uid of the peer providing it (of the credentials its
    /// receive socket was opened with).
    pub uid: u32,
    /// Effective gid of the peer providing it.
    pub gid: u32,
}

/// One entry of [`Peer::groups`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GroupInfo<'a> {
    /// Group name.
    pub name: &'a str,
    /// Port of the owner (the only peer that may publish).
    pub owner: u32,
    /// Id of the owner (never reused, unlike the port).
    pub owner_id: u64,
    /// Effective uid of the owner.
    pub owner_uid: u32,
    /// Effective gid of the owner.
    pub owner_gid: u32,
    /// Number of members.
    pub members: u32,
    /// Whether the group retains its last message.
    pub retain: bool,
}

/// The peer that owns a service, from [`Peer::resolve_owner`]: check it
/// before trusting the service, as with `SO_PEERCRED`.
///
/// ```no_run
/// # fn main() -> Result<(), ipcon::Error> {
/// let mut peer = ipcon::Peer::open()?;
/// let owner = peer.resolve_owner("com.acme.camera")?;
/// if owner.uid != 1001 {
///     eprintln!("com.acme.camera is not run by the camera daemon's user");
/// }
/// # Ok(())
/// # }
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Owner {
    /// The owner's port.
    pub port: u32,
    /// The owner's id (never reused): send with [`Target::Id`] to reach
    /// exactly this peer.
    pub id: u64,
    /// The owner's effective uid (of the credentials its receive socket
    /// was opened with), in the user namespace owning the network
    /// namespace.
    pub uid: u32,
    /// The owner's effective gid.
    pub gid: u32,
}

/// What a request was about, to turn ambiguous errnos into named errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Service,
    Group,
    Join,
    Leave,
    Subscribe,
    Unsubscribe,
    Send,
    Publish,
    /// Setting or reading the policy.
    Policy,
    Other,
}

fn map_error(op: Op, e: Error) -> Error {
    let Error::Kernel(errno) = e else { return e };
    match errno {
        Errno::PERM if op == Op::Policy => Error::NotPermitted,
        Errno::TOOBIG if op == Op::Policy => Error::TooManyRules,
        // Operations the policy checks; elsewhere (pairing) EACCES is a
        // token mismatch.
        Errno::ACCESS
            if matches!(
                op,
                Op::Service | Op::Group | Op::Join | Op::Send | Op::Publish
            ) =>
        {
            Error::Denied
        }
        Errno::DQUOT => Error::LimitReached,
        Errno::EXIST => Error::NameTaken,
        Errno::NOENT => match op {
            Op::Group | Op::Join | Op::Leave | Op::Publish => Error::NoSuchGroup,
            _ => Error::NoSuchService,
        },
        Errno::PERM => Error::NotOwner,
        Errno::ALREADY if op == Op::Subscribe => Error::AlreadySubscribed,
        Errno::ALREADY => Error::AlreadyMember,
        Errno::NOTCONN if op == Op::Unsubscribe => Error::NotSubscribed,
        Errno::NOTCONN if op == Op::Leave => Error::NotMember,
        // Elsewhere ENOTCONN means the other socket of the pair was closed.
        Errno::CONNREFUSED => Error::PeerGone,
        Errno::NOBUFS => Error::QueueFull,
        Errno::MSGSIZE => Error::PayloadTooLarge,
        other => Error::Kernel(other),
    }
}

/// An ipcon peer: a receive socket R, on which the kernel delivers every
/// message, event and notice, and a control socket C for synchronous
/// requests, paired by the kernel into one peer whose port is R's.
///
/// Requests take `&mut self` (they use C and a sequence counter); receives
/// take `&self`, so one thread can receive while the peer is shared
/// read-only. Dropping the peer closes both sockets, which makes the kernel
/// remove its services, groups and memberships and announce
/// [`EventKind::PeerGone`](crate::EventKind::PeerGone).
///
/// # Example: a retained group and a late joiner
///
/// ```no_run
/// use core::time::Duration;
/// use ipcon::{GroupFlags, JoinFlags, Message, Peer, RECV_BUFFER_SIZE};
///
/// # fn main() -> Result<(), ipcon::Error> {
/// let mut sensor = Peer::open()?;
/// sensor.register_group("demo.temperature", GroupFlags::RETAIN)?;
/// sensor.publish("demo.temperature", b"21.5")?;
///
/// let mut display = Peer::open()?;
/// display.join("demo.temperature", JoinFlags::LAST)?;
/// let mut buf = [0u8; RECV_BUFFER_SIZE];
/// if let Message::Group(m) = display.recv_timeout(&mut buf, Duration::from_secs(1))? {
///     assert!(m.retained);
///     assert_eq!(m.data, b"21.5");
///     assert_eq!(m.sender.port, sensor.port());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Peer {
    r: OwnedFd,
    c: OwnedFd,
    port: u32,
    id: u64,
    family: u16,
    seq: u32,
    dropped: AtomicU32,
}

/// What a `SRV_RESOLVE` reply said (each attribute if present).
#[derive(Default)]
struct Resolved {
    port: Option<u32>,
    id: Option<u64>,
    uid: Option<u32>,
    gid: Option<u32>,
}

/// How a reply datagram sequence ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// An `NLMSG_ERROR` acknowledgement.
    Ack,
    /// `NLMSG_DONE` (dumps).
    Done,
}

impl Peer {
    /// Open a peer: two netlink sockets, the family lookup and the pairing.
    ///
    /// Fails with [`Error::NotLoaded`] if the ipcon kernel module is not
    /// loaded.
    ///
    /// ```no_run
    /// use ipcon::{Error, Peer};
    ///
    /// match Peer::open() {
    ///     Ok(peer) => println!("peer on port {}", peer.port()),
    ///     Err(Error::NotLoaded) => eprintln!("run: modprobe ipcon"),
    ///     Err(e) => eprintln!("{e}"),
    /// }
    /// ```
    pub fn open() -> Result<Self, Error> {
        let (r, port) = sys::open_socket()?;
        let (c, _) = sys::open_socket()?;
        let mut peer = Peer {
            r,
            c,
            port,
            id: 0,
            family: 0,
            seq: 0,
            dropped: AtomicU32::new(0),
        };
        let seq = peer.next_seq();
        peer.family = lookup_family(peer.c.as_fd(), &peer.dropped, seq, IPCON_GENL_NAME)?;

        // PAIR_START on R; the reply (and then the ack) arrive on R.
        let seq = peer.next_seq();
        let mut hdr = [0u8; REQUEST_BUF];
        let b = Builder::genl(
            &mut hdr,
            peer.family,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            IPCON_CMD_PAIR_START,
            IPCON_GENL_VERSION,
        )?;
        sys::send(peer.r.as_fd(), &[b.finish()?])?;
        let (mut token, mut id) = (None, None);
        let mut reply = [0u8; REPLY_BUF];
        transact(
            peer.r.as_fd(),
            &peer.dropped,
            &mut reply,
            seq,
            peer.family,
            Until::Ack,
            &mut |g| {
                if g.cmd() == IPCON_CMD_PAIR_START {
                    for a in g.attr_iter() {
                        let a = a?;
                        match a.kind() {
                            IPCON_A_TOKEN => token = Some(a.u64()?),
                            IPCON_A_ID => id = Some(a.u64()?),
                            _ => {}
                        }
                    }
                }
                Ok(())
            },
        )
        .map_err(|e| map_error(Op::Other, e))?;
        let token = token.ok_or(Error::Protocol("PAIR_START reply without token"))?;
        peer.id = id.ok_or(Error::Protocol("PAIR_START reply without the peer's id"))?;

        // PAIR on C: from now on C acts for R.
        peer.request(
            Op::Other,
            IPCON_CMD_PAIR,
            |b| {
                b.attr_u32(IPCON_A_PORT, port)?;
                b.attr_u64(IPCON_A_TOKEN, token)
            },
            &[],
            |_| Ok(()),
        )?;
        Ok(peer)
    }

    /// The peer's port (that of its receive socket): the address other
    /// peers send to, and the sender port stamped on its messages.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// The peer's id: unique for the life of the network namespace and
    /// never reused (unlike the port, which the kernel gives to a new
    /// socket as soon as this one is closed). It is stamped on this peer's
    /// messages ([`Sender::id`](crate::Sender::id)); others reach exactly
    /// this peer with [`Target::Id`].
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The generic netlink family id of ipcon, as resolved at open time.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Number of datagrams dropped because they did not come from the
    /// kernel (netlink source port not 0). Only the kernel speaks ipcon; a
    /// local process can address a netlink socket directly, and such
    /// messages are discarded, never parsed.
    pub fn dropped_foreign(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Ask for a receive queue of about `bytes` bytes on the receive socket
    /// (`SO_RCVBUF`; the kernel doubles the value for bookkeeping and caps it
    /// at `net.core.rmem_max`). Returns the size in effect. A larger queue
    /// absorbs bursts of large messages before the kernel has to drop
    /// (and report [`Message::Lost`]).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let peer = ipcon::Peer::open()?;
    /// let size = peer.set_recv_buffer_size(1 << 20)?;
    /// println!("receive queue: {size} bytes");
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_recv_buffer_size(&self, bytes: usize) -> Result<usize, Error> {
        sys::set_recv_buffer_size(self.r.as_fd(), bytes)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Send a request on C (header built by `build`, then `data` as
    /// zero-copy chunks) and wait for its acknowledgement, passing replies
    /// to `on_reply`.
    fn request(
        &mut self,
        op: Op,
        cmd: u8,
        build: impl FnOnce(&mut Builder<'_>) -> Result<(), Error>,
        data: &[u8],
        on_reply: impl FnMut(GenlMsg<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        if data.len() > IPCON_PAYLOAD_MAX {
            return Err(Error::PayloadTooLarge);
        }
        let mut hdr = [0u8; REQUEST_BUF];
        self.request_in(&mut hdr, op, cmd, build, data, on_reply)
    }

    /// [`request`](Self::request) with the request header built in `hdr`
    /// (the caller's buffer, for requests larger than a stack buffer).
    fn request_in(
        &mut self,
        hdr: &mut [u8],
        op: Op,
        cmd: u8,
        build: impl FnOnce(&mut Builder<'_>) -> Result<(), Error>,
        data: &[u8],
        mut on_reply: impl FnMut(GenlMsg<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let seq = self.next_seq();
        let mut b = Builder::genl(
            hdr,
            self.family,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            cmd,
            IPCON_GENL_VERSION,
        )?;
        build(&mut b)?;
        let head = b.finish_with_trailer(data_len(data.len()))?;

        // Zero copy: the caller's payload goes out as I/O slices.
        let hdrs = data_headers(data);
        let (parts, n) = gather(head, &hdrs, data);
        sys::send(self.c.as_fd(), &parts[..n])?;

        let mut reply = [0u8; REPLY_BUF];
        transact(
            self.c.as_fd(),
            &self.dropped,
            &mut reply,
            seq,
            self.family,
            Until::Ack,
            &mut on_reply,
        )
        .map(|_| ())
        .map_err(|e| map_error(op, e))
    }

    fn simple(&mut self, op: Op, cmd: u8, name: &str, flags: u32) -> Result<(), Error> {
        validate(name)?;
        self.request(
            op,
            cmd,
            |b| {
                b.attr_str(IPCON_A_NAME, name)?;
                if flags != 0 {
                    b.attr_u32(IPCON_A_FLAGS, flags)?;
                }
                Ok(())
            },
            &[],
            |_| Ok(()),
        )
    }

    /// Register a service under `name`; other peers can then send to it by
    /// name. Errors: [`Error::NameTaken`], [`Error::InvalidName`],
    /// [`Error::Denied`] (the policy does not let this peer own `name`),
    /// [`Error::LimitReached`] (this uid has registered as many services as
    /// the module allows).
    ///
    /// A peer may own several services; they go away with it. The oldest
    /// one is stamped as the sender of its messages
    /// ([`Sender::service`](crate::Sender::service)).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = ipcon::Peer::open()?;
    /// match peer.register_service("demo.echo") {
    ///     Ok(()) => {}
    ///     Err(ipcon::Error::NameTaken) => eprintln!("already running?"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn register_service(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Service, IPCON_CMD_SRV_REG, name, 0)
    }

    /// Remove one of this peer's services. Errors: [`Error::NoSuchService`],
    /// [`Error::NotOwner`].
    pub fn unregister_service(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Service, IPCON_CMD_SRV_UNREG, name, 0)
    }

    /// The port of the peer providing service `name`.
    /// Errors: [`Error::NoSuchService`].
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = ipcon::Peer::open()?;
    /// if let Ok(port) = peer.resolve("demo.echo") {
    ///     println!("demo.echo is port {port}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn resolve(&mut self, name: &str) -> Result<u32, Error> {
        self.resolve_inner(name)?
            .port
            .ok_or(Error::Protocol("resolve reply without port"))
    }

    /// The peer providing service `name`: its port, id, uid and gid.
    /// Errors: [`Error::NoSuchService`].
    ///
    /// The uid and gid are those of the credentials the owner's receive
    /// socket was opened with, stamped by the kernel: a client can check
    /// who runs a service before trusting it, and then send with
    /// [`Target::Id`] to reach that very peer and never a successor.
    ///
    /// ```no_run
    /// use ipcon::Target;
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = ipcon::Peer::open()?;
    /// let owner = peer.resolve_owner("demo.echo")?;
    /// if owner.uid == 0 {
    ///     peer.send(Target::Id(owner.id), b"hello, root")?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn resolve_owner(&mut self, name: &str) -> Result<Owner, Error> {
        match self.resolve_inner(name)? {
            Resolved {
                port: Some(port),
                id: Some(id),
                uid: Some(uid),
                gid: Some(gid),
            } => Ok(Owner { port, id, uid, gid }),
            _ => Err(Error::Protocol(
                "resolve reply without the owner's port, id, uid or gid",
            )),
        }
    }

    fn resolve_inner(&mut self, name: &str) -> Result<Resolved, Error> {
        validate(name)?;
        let mut r = Resolved::default();
        self.request(
            Op::Service,
            IPCON_CMD_SRV_RESOLVE,
            |b| b.attr_str(IPCON_A_NAME, name),
            &[],
            |g| {
                if g.cmd() == IPCON_CMD_SRV_RESOLVE {
                    for a in g.attr_iter() {
                        let a = a?;
                        match a.kind() {
                            IPCON_A_PORT => r.port = Some(a.u32()?),
                            IPCON_A_ID => r.id = Some(a.u64()?),
                            IPCON_A_UID => r.uid = Some(a.u32()?),
                            IPCON_A_GID => r.gid = Some(a.u32()?),
                            _ => {}
                        }
                    }
                }
                Ok(())
            },
        )?;
        Ok(r)
    }

    /// Run a dump, passing each entry to `on_entry`; returns whether the
    /// kernel flagged it inconsistent (`NLM_F_DUMP_INTR`).
    fn dump(
        &mut self,
        op: Op,
        cmd: u8,
        buf: &mut [u8],
        on_entry: &mut dyn FnMut(GenlMsg<'_>) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        let seq = self.next_seq();
        let mut hdr = [0u8; REQUEST_BUF];
        let b = Builder::genl(
            &mut hdr,
            self.family,
            NLM_F_REQUEST | NLM_F_DUMP,
            seq,
            cmd,
            IPCON_GENL_VERSION,
        )?;
        sys::send(self.c.as_fd(), &[b.finish()?])?;
        transact(
            self.c.as_fd(),
            &self.dropped,
            buf,
            seq,
            self.family,
            Until::Done,
            &mut |g| {
                if g.cmd() != cmd {
                    return Err(Error::Protocol("unexpected command in dump"));
                }
                on_entry(g)
            },
        )
        .map_err(|e| map_error(op, e))
    }

    /// List all services, calling `f` for each. `buf` receives the dump
    /// datagrams; use [`DUMP_BUFFER_SIZE`] bytes.
    ///
    /// ```no_run
    /// use ipcon::{Peer, DUMP_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// let mut buf = [0u8; DUMP_BUFFER_SIZE];
    /// peer.services(&mut buf, |s| {
    ///     println!("{} on port {} (id {}, uid {})", s.name, s.port, s.id, s.uid)
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn services(
        &mut self,
        buf: &mut [u8],
        mut f: impl FnMut(ServiceInfo<'_>),
    ) -> Result<(), Error> {
        self.dump(Op::Other, IPCON_CMD_SRV_LIST, buf, &mut |g| {
            let (mut name, mut port, mut id, mut uid, mut gid) = (None, None, None, None, None);
            for a in g.attr_iter() {
                let a = a?;
                match a.kind() {
                    IPCON_A_NAME => name = Some(a.str()?),
                    IPCON_A_PORT => port = Some(a.u32()?),
                    IPCON_A_ID => id = Some(a.u64()?),
                    IPCON_A_UID => uid = Some(a.u32()?),
                    IPCON_A_GID => gid = Some(a.u32()?),
                    _ => {}
                }
            }
            match (name, port, id, uid, gid) {
                (Some(name), Some(port), Some(id), Some(uid), Some(gid)) => {
                    f(ServiceInfo {
                        name,
                        port,
                        id,
                        uid,
                        gid,
                    });
                    Ok(())
                }
                _ => Err(Error::Protocol(
                    "service entry without name, or the owner's port, id, uid or gid",
                )),
            }
        })
        .map(|_| ())
    }

    /// Register a group owned by this peer (only the owner publishes).
    /// Errors: [`Error::NameTaken`], [`Error::InvalidName`],
    /// [`Error::Denied`] (the policy does not let this peer own `name`),
    /// [`Error::LimitReached`] (groups of this uid, or with
    /// [`GroupFlags::RETAIN`], its retained bytes on a later publish).
    pub fn register_group(&mut self, name: &str, flags: GroupFlags) -> Result<(), Error> {
        self.simple(Op::Group, IPCON_CMD_GRP_REG, name, flags.bits())
    }

    /// Remove one of this peer's groups. Errors: [`Error::NoSuchGroup`],
    /// [`Error::NotOwner`].
    pub fn unregister_group(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Group, IPCON_CMD_GRP_UNREG, name, 0)
    }

    /// Join a group: its messages are then delivered to this peer.
    /// Errors: [`Error::NoSuchGroup`], [`Error::AlreadyMember`],
    /// [`Error::Denied`] (the policy does not let this peer join `name`),
    /// [`Error::LimitReached`] (memberships of this uid).
    ///
    /// Membership ends with [`leave`](Self::leave), when the peer is
    /// closed, or when the owner removes the group (subscribers of events
    /// then see [`EventKind::GroupRemoved`](crate::EventKind::GroupRemoved)).
    ///
    /// ```no_run
    /// use ipcon::{JoinFlags, Message, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// peer.join("sensor.readings", JoinFlags::LAST)?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// while let Message::Group(m) = peer.recv(&mut buf)? {
    ///     println!("{}: {:?}", m.group, m.data);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn join(&mut self, name: &str, flags: JoinFlags) -> Result<(), Error> {
        self.simple(Op::Join, IPCON_CMD_GRP_JOIN, name, flags.bits())
    }

    /// Leave a group. Errors: [`Error::NoSuchGroup`], [`Error::NotMember`].
    pub fn leave(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Leave, IPCON_CMD_GRP_LEAVE, name, 0)
    }

    /// List all groups, calling `f` for each. `buf` receives the dump
    /// datagrams; use [`DUMP_BUFFER_SIZE`] bytes.
    ///
    /// ```no_run
    /// use ipcon::{Peer, DUMP_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// let mut buf = vec![0u8; DUMP_BUFFER_SIZE];
    /// peer.groups(&mut buf, |g| {
    ///     println!("{}: owner {} (uid {}), {} members", g.name, g.owner, g.owner_uid, g.members)
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn groups(
        &mut self,
        buf: &mut [u8],
        mut f: impl FnMut(GroupInfo<'_>),
    ) -> Result<(), Error> {
        self.dump(Op::Other, IPCON_CMD_GRP_LIST, buf, &mut |g| {
            let (mut name, mut owner, mut members, mut flags) = (None, None, None, 0);
            let (mut id, mut uid, mut gid) = (None, None, None);
            for a in g.attr_iter() {
                let a = a?;
                match a.kind() {
                    IPCON_A_NAME => name = Some(a.str()?),
                    IPCON_A_PORT => owner = Some(a.u32()?),
                    IPCON_A_ID => id = Some(a.u64()?),
                    IPCON_A_UID => uid = Some(a.u32()?),
                    IPCON_A_GID => gid = Some(a.u32()?),
                    IPCON_A_COUNT => members = Some(a.u32()?),
                    IPCON_A_FLAGS => flags = a.u32()?,
                    _ => {}
                }
            }
            match (name, owner, id, uid, gid) {
                (Some(name), Some(owner), Some(owner_id), Some(owner_uid), Some(owner_gid)) => {
                    f(GroupInfo {
                        name,
                        owner,
                        owner_id,
                        owner_uid,
                        owner_gid,
                        members: members.unwrap_or(0),
                        retain: flags & IPCON_GRP_F_RETAIN != 0,
                    });
                    Ok(())
                }
                _ => Err(Error::Protocol(
                    "group entry without name, or the owner's port, id, uid or gid",
                )),
            }
        })
        .map(|_| ())
    }

    /// Send `data` to the peer with port `port`.
    /// Errors: [`Error::PeerGone`], [`Error::QueueFull`], [`Error::PayloadTooLarge`],
    /// [`Error::Denied`] (if that peer owns a service the policy does not
    /// let this peer send to).
    ///
    /// The usual way to answer a request:
    ///
    /// ```no_run
    /// use ipcon::{Message, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// peer.register_service("demo.echo")?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// loop {
    ///     if let Message::Unicast(req) = peer.recv(&mut buf)? {
    ///         // A client that has gone away is not the service's problem.
    ///         let _ = peer.send_to_port(req.sender.port, req.data);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn send_to_port(&mut self, port: u32, data: &[u8]) -> Result<(), Error> {
        self.send(Target::Port(port), data)
    }

    /// Send `data` to the provider of service `name`.
    /// Errors: [`Error::NoSuchService`], [`Error::QueueFull`], [`Error::PayloadTooLarge`],
    /// [`Error::Denied`] (the policy does not let this peer send to `name`).
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = ipcon::Peer::open()?;
    /// peer.send_to_service("demo.echo", b"hello")?; // queued at demo.echo
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_to_service(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        self.send(Target::Service(name), data)
    }

    /// Send `data` to the peer with id `id` (see [`Peer::id`]): it reaches
    /// that peer or fails with [`Error::PeerGone`] once it is gone, never a
    /// newer peer that got the same port. Other errors: [`Error::QueueFull`],
    /// [`Error::PayloadTooLarge`], [`Error::Denied`].
    ///
    /// ```no_run
    /// use ipcon::{Message, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// peer.register_service("demo.echo")?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// loop {
    ///     if let Message::Unicast(req) = peer.recv(&mut buf)? {
    ///         // The reply goes to the requester, or nowhere.
    ///         let _ = peer.send_to_id(req.sender.id, req.data);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn send_to_id(&mut self, id: u64, data: &[u8]) -> Result<(), Error> {
        self.send(Target::Id(id), data)
    }

    /// Send `data` (at most [`IPCON_PAYLOAD_MAX`] bytes) to `target`. The
    /// payload is not copied: it is passed to the kernel as I/O slices.
    /// The call returns once the kernel has queued the message for the
    /// destination (or refused it: [`Error::Denied`] if the policy does not
    /// let this peer send to the service, or to every service of the
    /// destination peer).
    pub fn send(&mut self, target: Target<'_>, data: &[u8]) -> Result<(), Error> {
        self.send_inner(None, target, data)
    }

    /// Like [`send`](Self::send), with the sender stamped as service
    /// `src_service`, which this peer must own ([`Error::NotOwner`] otherwise).
    ///
    /// ```no_run
    /// use ipcon::{Peer, Target};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// peer.register_service("app.main")?;
    /// peer.register_service("app.audit")?;
    /// // Stamped "app.audit", not the oldest service "app.main".
    /// peer.send_as("app.audit", Target::Service("logger"), b"login")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_as(
        &mut self,
        src_service: &str,
        target: Target<'_>,
        data: &[u8],
    ) -> Result<(), Error> {
        validate(src_service)?;
        self.send_inner(Some(src_service), target, data)
    }

    fn send_inner(
        &mut self,
        src: Option<&str>,
        target: Target<'_>,
        data: &[u8],
    ) -> Result<(), Error> {
        if let Target::Service(name) = target {
            validate(name)?;
        }
        if data.len() > IPCON_PAYLOAD_MAX {
            return Err(Error::PayloadTooLarge);
        }
        self.request(
            Op::Send,
            IPCON_CMD_SEND,
            |b| {
                match target {
                    Target::Port(port) => b.attr_u32(IPCON_A_PORT, port)?,
                    Target::Service(name) => b.attr_str(IPCON_A_NAME, name)?,
                    Target::Id(id) => b.attr_u64(IPCON_A_ID, id)?,
                }
                if let Some(src) = src {
                    b.attr_str(IPCON_A_SRC_NAME, src)?;
                }
                Ok(())
            },
            data,
            |_| Ok(()),
        )
    }

    /// Publish `data` to all members of `group`, which this peer owns. If
    /// the group retains, the kernel keeps this message for late joiners.
    /// Members whose queue is full miss it and get a
    /// [`Lost`](crate::Lost) notice later.
    /// Errors: [`Error::NoSuchGroup`], [`Error::NotOwner`],
    /// [`Error::PayloadTooLarge`], [`Error::LimitReached`] (the retained
    /// bytes of this uid), [`Error::Denied`].
    ///
    /// ```no_run
    /// use ipcon::{GroupFlags, Peer};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// peer.register_group("sensor.readings", GroupFlags::RETAIN)?;
    /// peer.publish("sensor.readings", b"21.5 C")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn publish(&mut self, group: &str, data: &[u8]) -> Result<(), Error> {
        validate(group)?;
        if data.len() > IPCON_PAYLOAD_MAX {
            return Err(Error::PayloadTooLarge);
        }
        self.request(
            Op::Publish,
            IPCON_CMD_PUBLISH,
            |b| b.attr_str(IPCON_A_NAME, group),
            data,
            |_| Ok(()),
        )
    }

    /// Subscribe to kernel events (peers gone, services and groups added or
    /// removed), delivered as [`Message::Event`]. Errors:
    /// [`Error::AlreadySubscribed`], [`Error::LimitReached`] (event
    /// subscriptions of this uid).
    ///
    /// ```no_run
    /// use ipcon::{EventKind, Message, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// peer.subscribe_events()?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// loop {
    ///     match peer.recv(&mut buf)? {
    ///         Message::Event(ev) if ev.kind == EventKind::PeerGone => {
    ///             println!("port {} is gone", ev.port)
    ///         }
    ///         Message::Event(ev) => println!("{} {:?}", ev.kind, ev.name),
    ///         Message::Lost(l) => println!("missed {} events", l.count),
    ///         _ => {}
    ///     }
    /// }
    /// # }
    /// ```
    pub fn subscribe_events(&mut self) -> Result<(), Error> {
        self.request(
            Op::Subscribe,
            IPCON_CMD_EVENTS_SUB,
            |_| Ok(()),
            &[],
            |_| Ok(()),
        )
    }

    /// Stop receiving kernel events.
    pub fn unsubscribe_events(&mut self) -> Result<(), Error> {
        self.request(
            Op::Unsubscribe,
            IPCON_CMD_EVENTS_UNSUB,
            |_| Ok(()),
            &[],
            |_| Ok(()),
        )
    }

    /// Replace the policy of this network namespace (needs
    /// `CAP_NET_ADMIN`): `default` for names no rule matches, then `rules`
    /// in order (rule 1 first). The request is built in `buf`, a buffer of
    /// [`POLICY_BUFFER_SIZE`](policy::POLICY_BUFFER_SIZE) bytes always
    /// suffices ([`policy::RULES_MAX`] rules); nothing is allocated.
    ///
    /// The kernel installs the whole policy at once or nothing, and then
    /// removes the services, groups and memberships it denies (with the
    /// usual removal events). Errors: [`Error::NotPermitted`] without
    /// `CAP_NET_ADMIN`, [`Error::TooManyRules`], [`Error::InvalidPattern`]
    /// (both checked before sending), [`Error::BufferTooSmall`],
    /// `Error::Kernel(EINVAL)` for a rule the kernel refuses (a uid or gid
    /// with no mapping in its user namespace).
    ///
    /// ```no_run
    /// use ipcon::policy::{Action, Default, Rule, Who, POLICY_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = ipcon::Peer::open()?;
    /// let rules = [
    ///     Rule { action: Action::Own, pattern: "com.acme.camera", who: Who::Uid(1001) },
    ///     Rule { action: Action::Send, pattern: "com.acme.camera", who: Who::Anyone },
    /// ];
    /// let mut buf = [0u8; POLICY_BUFFER_SIZE];
    /// peer.set_policy(Default::Deny, &rules, &mut buf)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_policy(
        &mut self,
        default: policy::Default,
        rules: &[Rule<'_>],
        buf: &mut [u8],
    ) -> Result<(), Error> {
        if rules.len() > policy::RULES_MAX {
            return Err(Error::TooManyRules);
        }
        for rule in rules {
            rule.check()?;
        }
        self.request_in(
            buf,
            Op::Policy,
            IPCON_CMD_POLICY_SET,
            |b| {
                b.attr_u32(IPCON_A_POLICY_DEFAULT, default.to_raw())?;
                for rule in rules {
                    crate::wire::policy::put_rule(b, rule)?;
                }
                Ok(())
            },
            &[],
            |_| Ok(()),
        )
    }

    /// Install `policy` (needs `CAP_NET_ADMIN` and feature `alloc`): the
    /// convenience form of [`set_policy`](Self::set_policy), for a policy
    /// read with [`Policy::parse`](policy::Policy::parse).
    ///
    /// ```no_run
    /// use ipcon::policy::Policy;
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let text = std::fs::read_to_string("/etc/ipcon/policy")?;
    /// let policy = match Policy::parse(&text) {
    ///     Ok(p) => p,
    ///     Err(errors) => {
    ///         for e in errors {
    ///             eprintln!("/etc/ipcon/policy:{}: {}", e.line, e.what);
    ///         }
    ///         std::process::exit(1);
    ///     }
    /// };
    /// ipcon::Peer::open()?.load_policy(&policy)?;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "alloc")]
    pub fn load_policy(&mut self, policy: &policy::Policy) -> Result<(), Error> {
        let rules: alloc::vec::Vec<Rule<'_>> = policy.rules().collect();
        let len = crate::wire::policy::set_len(&rules);
        let mut buf = alloc::vec![0u8; len];
        self.set_policy(policy.default, &rules, &mut buf)
    }

    /// Read the policy of this network namespace (needs `CAP_NET_ADMIN`
    /// and feature `alloc`). `buf` receives the dump datagrams: use
    /// [`POLICY_BUFFER_SIZE`](policy::POLICY_BUFFER_SIZE) bytes (smaller
    /// buffers may fail with [`Error::Truncated`]). If the policy is
    /// replaced while it is read, the dump is read again.
    /// Errors: [`Error::NotPermitted`].
    ///
    /// ```no_run
    /// use ipcon::policy::POLICY_BUFFER_SIZE;
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = ipcon::Peer::open()?;
    /// let mut buf = vec![0u8; POLICY_BUFFER_SIZE];
    /// print!("{}", peer.policy(&mut buf)?); // the policy file format
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "alloc")]
    pub fn policy(&mut self, buf: &mut [u8]) -> Result<policy::Policy, Error> {
        use crate::wire::policy::{DumpProblem, DumpReader};
        let mut why = "";
        for _ in 0..POLICY_READ_TRIES {
            let mut reader = DumpReader::default();
            let interrupted = self.dump(Op::Policy, IPCON_CMD_POLICY_GET, buf, &mut |g| {
                reader.push(g);
                Ok(())
            })?;
            if interrupted {
                reader.interrupted();
            }
            match reader.finish() {
                Ok(policy) => return Ok(policy),
                Err(DumpProblem::Again(w)) => why = w,
                Err(DumpProblem::Fail(e)) => return Err(e),
            }
        }
        Err(Error::Protocol(why))
    }

    /// Go back to the policy of a freshly loaded module: `default allow`,
    /// no rules (needs `CAP_NET_ADMIN`). Errors: [`Error::NotPermitted`].
    pub fn clear_policy(&mut self) -> Result<(), Error> {
        let mut buf = [0u8; REQUEST_BUF];
        self.set_policy(policy::Default::Allow, &[], &mut buf)
    }

    /// Wait for the next delivery and parse it into `buf` (use
    /// [`RECV_BUFFER_SIZE`] bytes). The returned message borrows `buf`.
    ///
    /// A message larger than `buf` is consumed and reported as
    /// [`Error::Truncated`]; a malformed one as [`Error::Protocol`]. Both
    /// leave the peer usable: call `recv` again for the next message.
    ///
    /// Datagrams not sent by the kernel are dropped (see
    /// [`dropped_foreign`](Self::dropped_foreign)). If the socket reports an
    /// overrun (`ENOBUFS`: the kernel had to drop a message because the
    /// receive queue was full), receiving simply continues: the kernel
    /// module reports exactly what was lost with a [`Message::Lost`] notice
    /// before the next message that gets through, so the overrun flag
    /// carries no extra information.
    ///
    /// ```no_run
    /// use ipcon::{Message, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// peer.register_service("demo.log")?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// loop {
    ///     match peer.recv(&mut buf)? {
    ///         Message::Unicast(m) => println!("pid {}: {:?}", m.sender.pid, m.data),
    ///         other => println!("{other:?}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, Error> {
        self.recv_inner(buf, Mode::Blocking)
    }

    /// Like [`recv`](Self::recv), giving up with [`Error::TimedOut`] after
    /// `timeout`.
    ///
    /// ```no_run
    /// use core::time::Duration;
    /// use ipcon::{Error, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let peer = Peer::open()?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// match peer.recv_timeout(&mut buf, Duration::from_millis(500)) {
    ///     Ok(msg) => println!("{msg:?}"),
    ///     Err(Error::TimedOut) => println!("nothing within 500 ms"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_timeout<'b>(
        &self,
        buf: &'b mut [u8],
        timeout: Duration,
    ) -> Result<Message<'b>, Error> {
        self.recv_inner(buf, Mode::Timeout(timeout))
    }

    /// Like [`recv`](Self::recv) without waiting: [`Error::WouldBlock`] if
    /// no message is queued. With `poll`/`epoll` on the peer (it is
    /// `AsFd`), drain it with `try_recv` until `WouldBlock`; the
    /// `poll_loop` example does that.
    ///
    /// ```no_run
    /// use ipcon::{Error, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let peer = Peer::open()?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// loop {
    ///     match peer.try_recv(&mut buf) {
    ///         Ok(msg) => println!("{msg:?}"),
    ///         Err(Error::WouldBlock) => break, // queue empty
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, Error> {
        self.recv_inner(buf, Mode::NonBlocking)
    }

    fn recv_inner<'b>(&self, buf: &'b mut [u8], mode: Mode) -> Result<Message<'b>, Error> {
        let deadline = match mode {
            Mode::Timeout(t) => sys::now().checked_add(t),
            _ => None,
        };
        let len = loop {
            if let Mode::Timeout(t) = mode {
                let left = match deadline {
                    Some(d) => d.saturating_sub(sys::now()),
                    None => t,
                };
                if !sys::wait_readable(self.r.as_fd(), left)? {
                    return Err(Error::TimedOut);
                }
            }
            match sys::recv(self.r.as_fd(), buf, mode != Mode::Blocking) {
                Ok(got) if got.src != 0 => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Ok(got) if got.full > got.len => return Err(Error::Truncated { len: got.full }),
                Ok(got) => break got.len,
                // Overrun flag: see `recv`'s documentation.
                Err(Errno::NOBUFS) => {}
                Err(Errno::AGAIN) => match mode {
                    Mode::NonBlocking => return Err(Error::WouldBlock),
                    // Woken without data (or by a signal): wait again.
                    Mode::Timeout(_) => {}
                    Mode::Blocking => return Err(Error::Io(Errno::AGAIN)),
                },
                Err(e) => return Err(Error::Io(e)),
            }
        };
        Message::parse(&mut buf[..len], self.family)
    }

    /// Listing of all services, owned (needs feature `alloc`): name and
    /// port of each.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = ipcon::Peer::open()?;
    /// for (name, port) in peer.service_list()? {
    ///     println!("{name}: {port}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "alloc")]
    pub fn service_list(&mut self) -> Result<alloc::vec::Vec<(alloc::string::String, u32)>, Error> {
        let mut buf = alloc::vec![0u8; DUMP_BUFFER_SIZE];
        let mut out = alloc::vec::Vec::new();
        self.services(&mut buf, |s| out.push((s.name.into(), s.port)))?;
        Ok(out)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Blocking,
    NonBlocking,
    Timeout(Duration),
}

impl AsFd for Peer {
    /// The receive socket, for `poll`/`epoll`: readable when
    /// [`Peer::try_recv`] has something to return.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.r.as_fd()
    }
}

/// Read `fd` until the reply sequence for `seq` ends (`until`), passing
/// messages of type `kind` with that sequence number to `on_reply`.
/// Returns whether a message of the sequence (the final `NLMSG_DONE`
/// included) carried `NLM_F_DUMP_INTR`: the dumped data changed meanwhile.
/// Messages with other sequence numbers are stale (answers to an earlier,
/// interrupted request) and skipped; datagrams not from the kernel are
/// counted in `dropped` and skipped. An error ack gives `Error::Kernel`.
fn transact(
    fd: BorrowedFd<'_>,
    dropped: &AtomicU32,
    buf: &mut [u8],
    seq: u32,
    kind: u16,
    until: Until,
    on_reply: &mut dyn FnMut(GenlMsg<'_>) -> Result<(), Error>,
) -> Result<bool, Error> {
    let mut interrupted = false;
    loop {
        let got = sys::recv(fd, buf, false).map_err(Error::Io)?;
        if got.src != 0 {
            dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let data = &buf[..got.len];
        if got.full > got.len {
            // Only an error ack may be truncated (it echoes the request,
            // payload included): its first 20 bytes are all we need.
            match (
                get_u16(data, 4),
                get_u32(data, 8),
                get_u32(data, NLMSG_HDRLEN),
            ) {
                (Some(NLMSG_ERROR), Some(s), Some(code)) if s == seq => {
                    return ack_result(code as i32).map(|()| interrupted)
                }
                (_, Some(s), _) if s != seq => continue,
                _ if until == Until::Done => return Err(Error::Truncated { len: got.full }),
                _ => return Err(Error::Protocol("reply larger than the reply buffer")),
            }
        }
        for msg in NlMsgIter::new(data) {
            let msg: NlMsg<'_> = msg?;
            if msg.seq() != seq {
                continue;
            }
            interrupted |= msg.flags() & NLM_F_DUMP_INTR != 0;
            match msg.kind() {
                NLMSG_ERROR => return ack_result(msg.error_code()?).map(|()| interrupted),
                NLMSG_DONE if until == Until::Done => {
                    // The payload, if any, is the dump's final status.
                    let code = msg.error_code().unwrap_or(0);
                    return if code < 0 {
                        ack_result(code).map(|()| interrupted)
                    } else {
                        Ok(interrupted)
                    };
                }
                NLMSG_NOOP => {}
                k if k == kind => on_reply(GenlMsg::new_checked(msg)?)?,
                _ => return Err(Error::Protocol("unexpected message type in reply")),
            }
        }
    }
}

/// Resolve a generic netlink family name to its id through nlctrl;
/// [`Error::NotLoaded`] if there is no such family.
fn lookup_family(
    fd: BorrowedFd<'_>,
    dropped: &AtomicU32,
    seq: u32,
    name: &str,
) -> Result<u16, Error> {
    let mut hdr = [0u8; REQUEST_BUF];
    let mut b = Builder::genl(
        &mut hdr,
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
    )?;
    b.attr_str(CTRL_ATTR_FAMILY_NAME, name)?;
    sys::send(fd, &[b.finish()?])?;
    let mut family = None;
    let mut reply = [0u8; REPLY_BUF];
    let res = transact(
        fd,
        dropped,
        &mut reply,
        seq,
        GENL_ID_CTRL,
        Until::Ack,
        &mut |g| {
            family = Some(parse_family_id(g)?);
            Ok(())
        },
    );
    match res {
        Err(Error::Kernel(Errno::NOENT)) => Err(Error::NotLoaded),
        Err(e) => Err(e),
        Ok(_) => family.ok_or(Error::Protocol("nlctrl sent no family")),
    }
}

fn ack_result(code: i32) -> Result<(), Error> {
    if code == 0 {
        Ok(())
    } else {
        let errno = i32::try_from(code.unsigned_abs()).unwrap_or(i32::MAX);
        Err(Error::Kernel(Errno::from_raw_os_error(errno)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_sizes() {
        assert_eq!(RECV_BUFFER_SIZE, 66004);
        assert_eq!(MAX_CHUNKS, 2);
    }

    /// Exercises the real syscall path (socket, bind, getsockname, sendmsg,
    /// recvfrom, ack parsing) against nlctrl, which every Linux kernel with
    /// generic netlink has. Skipped where netlink sockets are unavailable.
    #[test]
    fn nlctrl_lookup_on_the_running_kernel() {
        let (fd, port) = match sys::open_socket() {
            Ok(s) => s,
            Err(e) => {
                std::println!("skipped: no netlink socket here ({e})");
                return;
            }
        };
        assert_ne!(port, 0);
        let dropped = AtomicU32::new(0);
        assert_eq!(
            lookup_family(fd.as_fd(), &dropped, 1, "nlctrl"),
            Ok(GENL_ID_CTRL)
        );
        assert_eq!(
            lookup_family(fd.as_fd(), &dropped, 2, "nosuchfamily"),
            Err(Error::NotLoaded)
        );
        // A stale reply is skipped: send a request whose answer we ignore,
        // then a second one; the first ack has the wrong sequence number.
        let mut hdr = [0u8; REQUEST_BUF];
        let mut b = Builder::genl(
            &mut hdr,
            GENL_ID_CTRL,
            NLM_F_REQUEST | NLM_F_ACK,
            3,
            CTRL_CMD_GETFAMILY,
            CTRL_VERSION,
        )
        .unwrap();
        b.attr_str(CTRL_ATTR_FAMILY_NAME, "nlctrl").unwrap();
        sys::send(fd.as_fd(), &[b.finish().unwrap()]).unwrap();
        assert_eq!(
            lookup_family(fd.as_fd(), &dropped, 4, "nlctrl"),
            Ok(GENL_ID_CTRL)
        );
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn errno_mapping_depends_on_the_operation() {
        let k = |e| Error::Kernel(e);
        assert_eq!(
            map_error(Op::Service, k(Errno::NOENT)),
            Error::NoSuchService
        );
        assert_eq!(map_error(Op::Send, k(Errno::NOENT)), Error::NoSuchService);
        assert_eq!(map_error(Op::Join, k(Errno::NOENT)), Error::NoSuchGroup);
        assert_eq!(map_error(Op::Publish, k(Errno::NOENT)), Error::NoSuchGroup);
        assert_eq!(
            map_error(Op::Subscribe, k(Errno::ALREADY)),
            Error::AlreadySubscribed
        );
        assert_eq!(map_error(Op::Join, k(Errno::ALREADY)), Error::AlreadyMember);
        assert_eq!(
            map_error(Op::Unsubscribe, k(Errno::NOTCONN)),
            Error::NotSubscribed
        );
        assert_eq!(map_error(Op::Leave, k(Errno::NOTCONN)), Error::NotMember);
        assert_eq!(map_error(Op::Send, k(Errno::NOTCONN)), k(Errno::NOTCONN));
        assert_eq!(map_error(Op::Send, k(Errno::CONNREFUSED)), Error::PeerGone);
        assert_eq!(map_error(Op::Send, k(Errno::NOBUFS)), Error::QueueFull);
        assert_eq!(map_error(Op::Service, k(Errno::EXIST)), Error::NameTaken);
        assert_eq!(map_error(Op::Group, k(Errno::PERM)), Error::NotOwner);
        assert_eq!(map_error(Op::Other, k(Errno::BUSY)), k(Errno::BUSY));
        assert_eq!(
            map_error(Op::Other, Error::Io(Errno::NOENT)),
            Error::Io(Errno::NOENT)
        );
        // The policy and the limits.
        for op in [Op::Service, Op::Group, Op::Join, Op::Send, Op::Publish] {
            assert_eq!(map_error(op, k(Errno::ACCESS)), Error::Denied, "{op:?}");
        }
        // Pairing: a token mismatch stays an errno.
        assert_eq!(map_error(Op::Other, k(Errno::ACCESS)), k(Errno::ACCESS));
        assert_eq!(map_error(Op::Policy, k(Errno::PERM)), Error::NotPermitted);
        assert_eq!(map_error(Op::Policy, k(Errno::TOOBIG)), Error::TooManyRules);
        assert_eq!(map_error(Op::Policy, k(Errno::INVAL)), k(Errno::INVAL));
        assert_eq!(map_error(Op::Service, k(Errno::PERM)), Error::NotOwner);
        for op in [Op::Service, Op::Group, Op::Join, Op::Subscribe, Op::Publish] {
            assert_eq!(map_error(op, k(Errno::DQUOT)), Error::LimitReached);
        }
        assert_eq!(ack_result(-2), Err(Error::Kernel(Errno::NOENT)));
        assert_eq!(ack_result(0), Ok(()));
    }
}
