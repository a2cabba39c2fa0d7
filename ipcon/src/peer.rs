// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`Peer`]: one ipcon endpoint, made of a receive socket and a control socket.

use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
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
use crate::{Error, Message, ProtocolError, RecvError};

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
/// Dropping the peer closes both sockets, which makes the kernel remove
/// its services, groups and memberships and announce
/// [`EventKind::PeerGone`](crate::EventKind::PeerGone).
///
/// # Threads, and what may run at the same time
///
/// The two sockets are independent, and so are the two sides of the API:
///
/// * **Requests** (register, send, publish, join, list, the policy) take
///   `&mut self`: they write on C and read their own acknowledgement
///   from it, with a sequence number, so one runs at a time (sends and
///   publishes ask for no acknowledgement: only a failure is read back,
///   and a read that finds nothing queued is success). The kernel
///   handles a request inside the `sendmsg` call, so a request never
///   waits for another peer (a full destination queue is
///   [`Error::QueueFull`], at once).
/// * **Receives** take `&self`: they read R only. Several threads may
///   receive at once; each delivery goes to exactly one of them.
/// * A request and a receive may run at the same time: split the peer
///   into a [`Requester`] and a [`Receiver`] with [`split`](Self::split)
///   (borrowed, no allocation; works with [`std::thread::scope`](https://doc.rust-lang.org/std/thread/fn.scope.html)) or
///   [`into_split`](Self::into_split) (owned halves, to move into threads
///   or tasks; [`OwnedRequester::reunite`] puts them back together). Both
///   halves are `Send`; the receiving halves are `Sync` and `Copy` or
///   shareable by reference.
/// * The peer, and each receiving half, is the receive socket for
///   `poll`/`epoll` (`AsFd`, `AsRawFd`): readable when
///   [`try_recv`](Self::try_recv) has something to return.
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
///
/// # Example: one thread receives while another sends
///
/// ```no_run
/// use ipcon::{Message, Peer, RECV_BUFFER_SIZE};
///
/// # fn main() -> Result<(), ipcon::Error> {
/// let mut peer = Peer::open()?;
/// peer.register_service("demo.echo")?;
/// let (mut tx, rx) = peer.split();
/// let (queue, requests) = std::sync::mpsc::sync_channel::<(u64, Vec<u8>)>(16);
/// std::thread::scope(|s| {
///     s.spawn(move || {
///         let mut buf = vec![0u8; RECV_BUFFER_SIZE];
///         while let Ok(msg) = rx.recv(&mut buf) {
///             if let Message::Unicast(m) = msg {
///                 let _ = queue.send((m.sender.id, m.data.to_vec()));
///             }
///         }
///     });
///     for (id, data) in requests {
///         let _ = tx.send_to_id(id, &data); // while the other thread waits in recv
///     }
/// });
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Peer {
    rx: Rx,
    ctl: Ctl,
}

/// The receive socket R and what receiving needs.
#[derive(Debug)]
pub(crate) struct Rx {
    fd: OwnedFd,
    family: u16,
    port: u32,
    id: u64,
    dropped: AtomicU32,
}

/// The control socket C and what requests need.
#[derive(Debug)]
pub(crate) struct Ctl {
    fd: OwnedFd,
    family: u16,
    port: u32,
    id: u64,
    seq: u32,
    dropped: AtomicU32,
}

/// The requesting half of a [`Peer`], borrowed from it by
/// [`Peer::split`]: every request method of the peer, on its control
/// socket. `Send`; one request at a time (`&mut self`).
#[derive(Debug)]
pub struct Requester<'a> {
    ctl: &'a mut Ctl,
}

/// The receiving half of a [`Peer`], borrowed from it by
/// [`Peer::split`]: the receive methods, on its receive socket. `Copy`,
/// `Send` and `Sync`: several threads may receive at once, each delivery
/// goes to one of them. `AsFd`/`AsRawFd` give the receive socket.
#[derive(Debug, Clone, Copy)]
pub struct Receiver<'a> {
    rx: &'a Rx,
}

/// The requesting half of a [`Peer`], owned, from [`Peer::into_split`].
///
/// Like [`Requester`], but it can move into a thread or task of its own.
/// Dropping it closes the control socket, which ends the peer (the kernel
/// removes its names; its receiving half then only drains what was
/// already queued). [`reunite`](Self::reunite) gives the [`Peer`] back.
#[derive(Debug)]
pub struct OwnedRequester {
    ctl: Ctl,
}

/// The receiving half of a [`Peer`], owned, from [`Peer::into_split`].
///
/// Like [`Receiver`], but it can move into a thread or task of its own,
/// or be shared with `Arc`. Dropping it closes the receive socket, which
/// ends the peer.
#[derive(Debug)]
pub struct OwnedReceiver {
    rx: Rx,
}

/// [`OwnedRequester::reunite`] was given halves of two different peers;
/// both are handed back.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedRequester, pub OwnedReceiver);

impl core::fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("tried to reunite halves of two different ipcon peers")
    }
}

impl core::error::Error for ReuniteError {}

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
    /// An `NLMSG_ERROR` failure, if one is queued: the request went without
    /// `NLM_F_ACK` ([`Ctl::post`]), so success leaves nothing to read.
    Failure,
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
        let mut ctl = Ctl {
            fd: c,
            family: 0,
            port,
            id: 0,
            seq: 0,
            dropped: AtomicU32::new(0),
        };
        let seq = ctl.next_seq();
        ctl.family = lookup_family(ctl.fd.as_fd(), &ctl.dropped, seq, IPCON_GENL_NAME)?;
        let mut rx = Rx {
            fd: r,
            family: ctl.family,
            port,
            id: 0,
            dropped: AtomicU32::new(0),
        };

        // PAIR_START on R, then PAIR on C. Each may find its socket's port
        // still held by a closed socket whose teardown in the kernel is
        // pending (netlink frees the port before it tells the module), and
        // get EBUSY: wait for that teardown and try again.
        let (token, id) = retry_stale_port(|| pair_start(&mut ctl, &rx))?;
        rx.id = id;
        ctl.id = id;
        retry_stale_port(|| {
            ctl.request(
                Op::Other,
                IPCON_CMD_PAIR,
                |b| {
                    b.attr_u32(IPCON_A_PORT, port)?;
                    b.attr_u64(IPCON_A_TOKEN, token)
                },
                &[],
                |_| Ok(()),
            )
        })?;
        Ok(Peer { rx, ctl })
    }

    /// The peer's port (that of its receive socket): the address other
    /// peers send to, and the sender port stamped on its messages.
    pub fn port(&self) -> u32 {
        self.rx.port
    }

    /// The peer's id: unique for the life of the network namespace and
    /// never reused (unlike the port, which the kernel gives to a new
    /// socket as soon as this one is closed). It is stamped on this peer's
    /// messages ([`Sender::id`](crate::Sender::id)); others reach exactly
    /// this peer with [`Target::Id`].
    pub fn id(&self) -> u64 {
        self.rx.id
    }

    /// The generic netlink family id of ipcon, as resolved at open time.
    pub fn family_id(&self) -> u16 {
        self.rx.family
    }

    /// Number of datagrams dropped because they did not come from the
    /// kernel (netlink source port not 0). Only the kernel speaks ipcon; a
    /// local process can address a netlink socket directly, and such
    /// messages are discarded, never parsed.
    pub fn dropped_foreign(&self) -> u32 {
        self.rx
            .dropped_foreign()
            .wrapping_add(self.ctl.dropped.load(Ordering::Relaxed))
    }

    /// Split the peer into its requesting and its receiving half,
    /// borrowed: one thread can then block in
    /// [`Receiver::recv`] while another sends requests. No allocation;
    /// the halves borrow the peer (use [`std::thread::scope`](https://doc.rust-lang.org/std/thread/fn.scope.html) to hand them
    /// to threads). See [`into_split`](Self::into_split) for owned halves.
    ///
    /// ```no_run
    /// use core::time::Duration;
    /// use ipcon::{Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let mut peer = Peer::open()?;
    /// let (mut tx, rx) = peer.split();
    /// std::thread::scope(|s| {
    ///     s.spawn(move || {
    ///         let mut buf = [0u8; RECV_BUFFER_SIZE];
    ///         let _ = rx.recv_timeout(&mut buf, Duration::from_secs(1));
    ///     });
    ///     tx.register_service("demo.split") // meanwhile, a request
    /// })?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn split(&mut self) -> (Requester<'_>, Receiver<'_>) {
        (Requester { ctl: &mut self.ctl }, Receiver { rx: &self.rx })
    }

    /// Split the peer into owned halves, to move into threads or tasks of
    /// their own. No allocation: a peer is two sockets, one for each half.
    /// [`OwnedRequester::reunite`] gives the peer back.
    ///
    /// ```no_run
    /// use ipcon::{Message, Peer, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut peer = Peer::open()?;
    /// peer.register_service("demo.owned")?;
    /// let (mut tx, rx) = peer.into_split();
    /// let receiver = std::thread::spawn(move || {
    ///     let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    ///     let n = rx.recv(&mut buf).map(|m| matches!(m, Message::Unicast(_)));
    ///     (rx, n)
    /// });
    /// tx.send_to_service("demo.owned", b"to myself")?;
    /// let (rx, got) = receiver.join().unwrap();
    /// assert!(got?);
    /// let peer = tx.reunite(rx)?;
    /// # drop(peer);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedRequester, OwnedReceiver) {
        (
            OwnedRequester { ctl: self.ctl },
            OwnedReceiver { rx: self.rx },
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
        self.ctl.register_service(name)
    }

    /// Remove one of this peer's services. Errors: [`Error::NoSuchService`],
    /// [`Error::NotOwner`].
    pub fn unregister_service(&mut self, name: &str) -> Result<(), Error> {
        self.ctl.unregister_service(name)
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
        self.ctl.resolve(name)
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
        self.ctl.resolve_owner(name)
    }

    /// List all services, calling `f` for each. `buf` receives the dump
    /// datagrams; use [`DUMP_BUFFER_SIZE`] bytes.
    ///
    /// The list is read in parts while other peers go on registering: a
    /// service that exists for the whole listing is passed to `f` exactly
    /// once; one registered or removed meanwhile may or may not be.
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
        f: impl FnMut(ServiceInfo<'_>),
    ) -> Result<(), Error> {
        self.ctl.services(buf, f)
    }

    /// Register a group owned by this peer (only the owner publishes).
    /// Errors: [`Error::NameTaken`], [`Error::InvalidName`],
    /// [`Error::Denied`] (the policy does not let this peer own `name`),
    /// [`Error::LimitReached`] (groups of this uid, or with
    /// [`GroupFlags::RETAIN`], its retained bytes on a later publish).
    pub fn register_group(&mut self, name: &str, flags: GroupFlags) -> Result<(), Error> {
        self.ctl.register_group(name, flags)
    }

    /// Remove one of this peer's groups. Errors: [`Error::NoSuchGroup`],
    /// [`Error::NotOwner`].
    pub fn unregister_group(&mut self, name: &str) -> Result<(), Error> {
        self.ctl.unregister_group(name)
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
        self.ctl.join(name, flags)
    }

    /// Leave a group. Errors: [`Error::NoSuchGroup`], [`Error::NotMember`].
    pub fn leave(&mut self, name: &str) -> Result<(), Error> {
        self.ctl.leave(name)
    }

    /// List all groups, calling `f` for each. `buf` receives the dump
    /// datagrams; use [`DUMP_BUFFER_SIZE`] bytes.
    ///
    /// The list is read in parts while other peers go on registering: a
    /// group that exists for the whole listing is passed to `f` exactly
    /// once; one registered or removed meanwhile may or may not be.
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
    pub fn groups(&mut self, buf: &mut [u8], f: impl FnMut(GroupInfo<'_>)) -> Result<(), Error> {
        self.ctl.groups(buf, f)
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
        self.ctl.send_to_port(port, data)
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
        self.ctl.send_to_service(name, data)
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
        self.ctl.send_to_id(id, data)
    }

    /// Send `data` (at most [`IPCON_PAYLOAD_MAX`] bytes) to `target`. The
    /// payload is not copied: it is passed to the kernel as I/O slices.
    /// The call returns once the kernel has queued the message for the
    /// destination (or refused it: [`Error::Denied`] if the policy does not
    /// let this peer send to the service, or to every service of the
    /// destination peer).
    pub fn send(&mut self, target: Target<'_>, data: &[u8]) -> Result<(), Error> {
        self.ctl.send(target, data)
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
        self.ctl.send_as(src_service, target, data)
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
        self.ctl.publish(group, data)
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
        self.ctl.subscribe_events()
    }

    /// Stop receiving kernel events.
    pub fn unsubscribe_events(&mut self) -> Result<(), Error> {
        self.ctl.unsubscribe_events()
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
        self.ctl.set_policy(default, rules, buf)
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
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    pub fn load_policy(&mut self, policy: &policy::Policy) -> Result<(), Error> {
        self.ctl.load_policy(policy)
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
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    pub fn policy(&mut self, buf: &mut [u8]) -> Result<policy::Policy, Error> {
        self.ctl.policy(buf)
    }

    /// Go back to the policy of a freshly loaded module: `default allow`,
    /// no rules (needs `CAP_NET_ADMIN`). Errors: [`Error::NotPermitted`].
    pub fn clear_policy(&mut self) -> Result<(), Error> {
        self.ctl.clear_policy()
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
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    pub fn service_list(&mut self) -> Result<alloc::vec::Vec<(alloc::string::String, u32)>, Error> {
        self.ctl.service_list()
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
        self.rx.set_recv_buffer_size(bytes)
    }

    /// Wait for the next delivery and parse it into `buf` (use
    /// [`RECV_BUFFER_SIZE`] bytes). The returned message borrows `buf`.
    ///
    /// A message larger than `buf` is consumed and reported as
    /// [`RecvError::Truncated`]; a malformed one as [`RecvError::Protocol`]. Both
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
    pub fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, RecvError> {
        self.rx.recv(buf, Mode::Blocking)
    }

    /// Like [`recv`](Self::recv), giving up with [`RecvError::TimedOut`] after
    /// `timeout`.
    ///
    /// ```no_run
    /// use core::time::Duration;
    /// use ipcon::{Peer, RecvError, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let peer = Peer::open()?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// match peer.recv_timeout(&mut buf, Duration::from_millis(500)) {
    ///     Ok(msg) => println!("{msg:?}"),
    ///     Err(RecvError::TimedOut) => println!("nothing within 500 ms"),
    ///     Err(e) => return Err(e.into()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_timeout<'b>(
        &self,
        buf: &'b mut [u8],
        timeout: Duration,
    ) -> Result<Message<'b>, RecvError> {
        self.rx.recv(buf, Mode::Timeout(timeout))
    }

    /// Like [`recv`](Self::recv) without waiting: [`RecvError::WouldBlock`] if
    /// no message is queued. With `poll`/`epoll` on the peer (it is
    /// `AsFd`), drain it with `try_recv` until `WouldBlock`; the
    /// `poll_loop` example does that.
    ///
    /// ```no_run
    /// use ipcon::{Peer, RecvError, RECV_BUFFER_SIZE};
    ///
    /// # fn main() -> Result<(), ipcon::Error> {
    /// let peer = Peer::open()?;
    /// let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    /// loop {
    ///     match peer.try_recv(&mut buf) {
    ///         Ok(msg) => println!("{msg:?}"),
    ///         Err(RecvError::WouldBlock) => break, // queue empty
    ///         Err(e) => return Err(e.into()),
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, RecvError> {
        self.rx.recv(buf, Mode::NonBlocking)
    }
}

impl Ctl {
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
        self.request_in(&mut hdr, op, cmd, build, data, Until::Ack, on_reply)
    }

    /// Send a request on C without `NLM_F_ACK` (header built by `build`,
    /// then `data` as zero-copy chunks) and report its failure, if any.
    ///
    /// Generic netlink runs a request inside the `sendmsg` that carries it
    /// (the kernel socket's input is called synchronously), and the module
    /// queues the message at its destination there too: once `sendmsg` has
    /// returned, a failure's `NLMSG_ERROR` is already on C, and a
    /// non-blocking read that finds nothing means success. The result is
    /// the one the acknowledgement would give, without the kernel building,
    /// queueing and C receiving an acknowledgement for every message: the
    /// send path's most frequent request costs one skb less.
    fn post(
        &mut self,
        op: Op,
        cmd: u8,
        build: impl FnOnce(&mut Builder<'_>) -> Result<(), Error>,
        data: &[u8],
    ) -> Result<(), Error> {
        if data.len() > IPCON_PAYLOAD_MAX {
            return Err(Error::PayloadTooLarge);
        }
        let mut hdr = [0u8; REQUEST_BUF];
        self.request_in(&mut hdr, op, cmd, build, data, Until::Failure, |_| Ok(()))
    }

    /// [`request`](Self::request) with the request header built in `hdr`
    /// (the caller's buffer, for requests larger than a stack buffer), and
    /// with `until` [`Until::Failure`], [`post`](Self::post).
    #[allow(clippy::too_many_arguments)] // private; each is one part of a request
    fn request_in(
        &mut self,
        hdr: &mut [u8],
        op: Op,
        cmd: u8,
        build: impl FnOnce(&mut Builder<'_>) -> Result<(), Error>,
        data: &[u8],
        until: Until,
        mut on_reply: impl FnMut(GenlMsg<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let seq = self.next_seq();
        let flags = match until {
            Until::Failure => NLM_F_REQUEST,
            Until::Ack | Until::Done => NLM_F_REQUEST | NLM_F_ACK,
        };
        let mut b = Builder::genl(hdr, self.family, flags, seq, cmd, IPCON_GENL_VERSION)?;
        build(&mut b)?;
        let head = b.finish_with_trailer(data_len(data.len()))?;

        // Zero copy: the caller's payload goes out as I/O slices.
        let hdrs = data_headers(data);
        let (parts, n) = gather(head, &hdrs, data);
        sys::send(self.fd.as_fd(), &parts[..n])?;

        let mut reply = [0u8; REPLY_BUF];
        transact(
            self.fd.as_fd(),
            &self.dropped,
            &mut reply,
            seq,
            self.family,
            until,
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
        sys::send(self.fd.as_fd(), &[b.finish()?])?;
        transact(
            self.fd.as_fd(),
            &self.dropped,
            buf,
            seq,
            self.family,
            Until::Done,
            &mut |g| {
                if g.cmd() != cmd {
                    return Err(Error::Protocol(ProtocolError::UnexpectedMessage));
                }
                on_entry(g)
            },
        )
        .map_err(|e| map_error(op, e))
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
        self.post(
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
        )
    }

    pub(crate) fn register_service(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Service, IPCON_CMD_SRV_REG, name, 0)
    }

    pub(crate) fn unregister_service(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Service, IPCON_CMD_SRV_UNREG, name, 0)
    }

    pub(crate) fn resolve(&mut self, name: &str) -> Result<u32, Error> {
        self.resolve_inner(name)?
            .port
            .ok_or(Error::Protocol(ProtocolError::MissingAttribute))
    }

    pub(crate) fn resolve_owner(&mut self, name: &str) -> Result<Owner, Error> {
        match self.resolve_inner(name)? {
            Resolved {
                port: Some(port),
                id: Some(id),
                uid: Some(uid),
                gid: Some(gid),
            } => Ok(Owner { port, id, uid, gid }),
            _ => Err(Error::Protocol(ProtocolError::MissingAttribute)),
        }
    }

    pub(crate) fn services(
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
                _ => Err(Error::Protocol(ProtocolError::MissingAttribute)),
            }
        })
        .map(|_| ())
    }

    pub(crate) fn register_group(&mut self, name: &str, flags: GroupFlags) -> Result<(), Error> {
        self.simple(Op::Group, IPCON_CMD_GRP_REG, name, flags.bits())
    }

    pub(crate) fn unregister_group(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Group, IPCON_CMD_GRP_UNREG, name, 0)
    }

    pub(crate) fn join(&mut self, name: &str, flags: JoinFlags) -> Result<(), Error> {
        self.simple(Op::Join, IPCON_CMD_GRP_JOIN, name, flags.bits())
    }

    pub(crate) fn leave(&mut self, name: &str) -> Result<(), Error> {
        self.simple(Op::Leave, IPCON_CMD_GRP_LEAVE, name, 0)
    }

    pub(crate) fn groups(
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
                _ => Err(Error::Protocol(ProtocolError::MissingAttribute)),
            }
        })
        .map(|_| ())
    }

    pub(crate) fn send_to_port(&mut self, port: u32, data: &[u8]) -> Result<(), Error> {
        self.send(Target::Port(port), data)
    }

    pub(crate) fn send_to_service(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
        self.send(Target::Service(name), data)
    }

    pub(crate) fn send_to_id(&mut self, id: u64, data: &[u8]) -> Result<(), Error> {
        self.send(Target::Id(id), data)
    }

    pub(crate) fn send(&mut self, target: Target<'_>, data: &[u8]) -> Result<(), Error> {
        self.send_inner(None, target, data)
    }

    pub(crate) fn send_as(
        &mut self,
        src_service: &str,
        target: Target<'_>,
        data: &[u8],
    ) -> Result<(), Error> {
        validate(src_service)?;
        self.send_inner(Some(src_service), target, data)
    }

    pub(crate) fn publish(&mut self, group: &str, data: &[u8]) -> Result<(), Error> {
        validate(group)?;
        if data.len() > IPCON_PAYLOAD_MAX {
            return Err(Error::PayloadTooLarge);
        }
        self.post(
            Op::Publish,
            IPCON_CMD_PUBLISH,
            |b| b.attr_str(IPCON_A_NAME, group),
            data,
        )
    }

    pub(crate) fn subscribe_events(&mut self) -> Result<(), Error> {
        self.request(
            Op::Subscribe,
            IPCON_CMD_EVENTS_SUB,
            |_| Ok(()),
            &[],
            |_| Ok(()),
        )
    }

    pub(crate) fn unsubscribe_events(&mut self) -> Result<(), Error> {
        self.request(
            Op::Unsubscribe,
            IPCON_CMD_EVENTS_UNSUB,
            |_| Ok(()),
            &[],
            |_| Ok(()),
        )
    }

    pub(crate) fn set_policy(
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
            Until::Ack,
            |_| Ok(()),
        )
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn load_policy(&mut self, policy: &policy::Policy) -> Result<(), Error> {
        let rules: alloc::vec::Vec<Rule<'_>> = policy.rules().collect();
        let len = crate::wire::policy::set_len(&rules);
        let mut buf = alloc::vec![0u8; len];
        self.set_policy(policy.default, &rules, &mut buf)
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn policy(&mut self, buf: &mut [u8]) -> Result<policy::Policy, Error> {
        use crate::wire::policy::{DumpProblem, DumpReader};
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
                Err(DumpProblem::Again(_)) => {}
                Err(DumpProblem::Fail(e)) => return Err(e.into()),
            }
        }
        Err(Error::Protocol(ProtocolError::PolicyChanging))
    }

    pub(crate) fn clear_policy(&mut self) -> Result<(), Error> {
        let mut buf = [0u8; REQUEST_BUF];
        self.set_policy(policy::Default::Allow, &[], &mut buf)
    }

    #[cfg(feature = "alloc")]
    pub(crate) fn service_list(
        &mut self,
    ) -> Result<alloc::vec::Vec<(alloc::string::String, u32)>, Error> {
        let mut buf = alloc::vec![0u8; DUMP_BUFFER_SIZE];
        let mut out = alloc::vec::Vec::new();
        self.services(&mut buf, |s| out.push((s.name.into(), s.port)))?;
        Ok(out)
    }
}

/// The request methods of the requesting halves (`self.ctl` is a `Ctl`
/// or a `&mut Ctl`): each forwards to the same request of the peer.
macro_rules! request_methods {
    () => {
        /// Like [`Peer::register_service`].
        pub fn register_service(&mut self, name: &str) -> Result<(), Error> {
            self.ctl.register_service(name)
        }

        /// Like [`Peer::unregister_service`].
        pub fn unregister_service(&mut self, name: &str) -> Result<(), Error> {
            self.ctl.unregister_service(name)
        }

        /// Like [`Peer::resolve`].
        pub fn resolve(&mut self, name: &str) -> Result<u32, Error> {
            self.ctl.resolve(name)
        }

        /// Like [`Peer::resolve_owner`].
        pub fn resolve_owner(&mut self, name: &str) -> Result<Owner, Error> {
            self.ctl.resolve_owner(name)
        }

        /// Like [`Peer::services`].
        pub fn services(
            &mut self,
            buf: &mut [u8],
            f: impl FnMut(ServiceInfo<'_>),
        ) -> Result<(), Error> {
            self.ctl.services(buf, f)
        }

        /// Like [`Peer::register_group`].
        pub fn register_group(&mut self, name: &str, flags: GroupFlags) -> Result<(), Error> {
            self.ctl.register_group(name, flags)
        }

        /// Like [`Peer::unregister_group`].
        pub fn unregister_group(&mut self, name: &str) -> Result<(), Error> {
            self.ctl.unregister_group(name)
        }

        /// Like [`Peer::join`].
        pub fn join(&mut self, name: &str, flags: JoinFlags) -> Result<(), Error> {
            self.ctl.join(name, flags)
        }

        /// Like [`Peer::leave`].
        pub fn leave(&mut self, name: &str) -> Result<(), Error> {
            self.ctl.leave(name)
        }

        /// Like [`Peer::groups`].
        pub fn groups(
            &mut self,
            buf: &mut [u8],
            f: impl FnMut(GroupInfo<'_>),
        ) -> Result<(), Error> {
            self.ctl.groups(buf, f)
        }

        /// Like [`Peer::send_to_port`].
        pub fn send_to_port(&mut self, port: u32, data: &[u8]) -> Result<(), Error> {
            self.ctl.send_to_port(port, data)
        }

        /// Like [`Peer::send_to_service`].
        pub fn send_to_service(&mut self, name: &str, data: &[u8]) -> Result<(), Error> {
            self.ctl.send_to_service(name, data)
        }

        /// Like [`Peer::send_to_id`].
        pub fn send_to_id(&mut self, id: u64, data: &[u8]) -> Result<(), Error> {
            self.ctl.send_to_id(id, data)
        }

        /// Like [`Peer::send`].
        pub fn send(&mut self, target: Target<'_>, data: &[u8]) -> Result<(), Error> {
            self.ctl.send(target, data)
        }

        /// Like [`Peer::send_as`].
        pub fn send_as(
            &mut self,
            src_service: &str,
            target: Target<'_>,
            data: &[u8],
        ) -> Result<(), Error> {
            self.ctl.send_as(src_service, target, data)
        }

        /// Like [`Peer::publish`].
        pub fn publish(&mut self, group: &str, data: &[u8]) -> Result<(), Error> {
            self.ctl.publish(group, data)
        }

        /// Like [`Peer::subscribe_events`].
        pub fn subscribe_events(&mut self) -> Result<(), Error> {
            self.ctl.subscribe_events()
        }

        /// Like [`Peer::unsubscribe_events`].
        pub fn unsubscribe_events(&mut self) -> Result<(), Error> {
            self.ctl.unsubscribe_events()
        }

        /// Like [`Peer::set_policy`].
        pub fn set_policy(
            &mut self,
            default: policy::Default,
            rules: &[Rule<'_>],
            buf: &mut [u8],
        ) -> Result<(), Error> {
            self.ctl.set_policy(default, rules, buf)
        }

        /// Like [`Peer::load_policy`].
        #[cfg(feature = "alloc")]
        #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
        pub fn load_policy(&mut self, policy: &policy::Policy) -> Result<(), Error> {
            self.ctl.load_policy(policy)
        }

        /// Like [`Peer::policy`].
        #[cfg(feature = "alloc")]
        #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
        pub fn policy(&mut self, buf: &mut [u8]) -> Result<policy::Policy, Error> {
            self.ctl.policy(buf)
        }

        /// Like [`Peer::clear_policy`].
        pub fn clear_policy(&mut self) -> Result<(), Error> {
            self.ctl.clear_policy()
        }

        /// Like [`Peer::service_list`].
        #[cfg(feature = "alloc")]
        #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
        pub fn service_list(
            &mut self,
        ) -> Result<alloc::vec::Vec<(alloc::string::String, u32)>, Error> {
            self.ctl.service_list()
        }
    };
}

/// How a receive waits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Blocking,
    NonBlocking,
    Timeout(Duration),
}

impl Rx {
    fn dropped_foreign(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn set_recv_buffer_size(&self, bytes: usize) -> Result<usize, Error> {
        sys::set_recv_buffer_size(self.fd.as_fd(), bytes)
    }

    /// Receive one delivery from the kernel into `buf`, unparsed: its
    /// length. Foreign datagrams are dropped and counted, the overrun flag
    /// is skipped (see [`Peer::recv`]).
    pub(crate) fn recv_len(&self, buf: &mut [u8], mode: Mode) -> Result<usize, RecvError> {
        let deadline = match mode {
            Mode::Timeout(t) => sys::now().checked_add(t),
            _ => None,
        };
        loop {
            if let Mode::Timeout(t) = mode {
                let left = match deadline {
                    Some(d) => d.saturating_sub(sys::now()),
                    None => t,
                };
                if !sys::wait_readable(self.fd.as_fd(), left).map_err(RecvError::Io)? {
                    return Err(RecvError::TimedOut);
                }
            }
            match sys::recv(self.fd.as_fd(), buf, mode != Mode::Blocking) {
                Ok(got) if got.src != 0 => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Ok(got) if got.full > got.len => {
                    return Err(RecvError::Truncated { len: got.full })
                }
                Ok(got) => return Ok(got.len),
                // Overrun flag: see `Peer::recv`'s documentation.
                Err(Errno::NOBUFS) => {}
                Err(Errno::AGAIN) => match mode {
                    Mode::NonBlocking => return Err(RecvError::WouldBlock),
                    // Woken without data (or by a signal): wait again.
                    Mode::Timeout(_) => {}
                    Mode::Blocking => return Err(RecvError::Io(Errno::AGAIN)),
                },
                Err(e) => return Err(RecvError::Io(e)),
            }
        }
    }

    /// Parse the delivery of `len` bytes that [`recv_len`](Self::recv_len)
    /// put into `buf`.
    pub(crate) fn parse<'b>(
        &self,
        buf: &'b mut [u8],
        len: usize,
    ) -> Result<Message<'b>, RecvError> {
        let buf = buf.get_mut(..len).ok_or(RecvError::Truncated { len })?;
        Ok(Message::parse(buf, self.family)?)
    }

    pub(crate) fn recv<'b>(&self, buf: &'b mut [u8], mode: Mode) -> Result<Message<'b>, RecvError> {
        let len = self.recv_len(buf, mode)?;
        self.parse(buf, len)
    }
}

/// The receive methods and accessors of the receiving halves (`self.rx`
/// is an `Rx` or a `&Rx`).
macro_rules! receive_methods {
    () => {
        /// Like [`Peer::recv`].
        pub fn recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, RecvError> {
            self.rx.recv(buf, Mode::Blocking)
        }

        /// Like [`Peer::recv_timeout`].
        pub fn recv_timeout<'b>(
            &self,
            buf: &'b mut [u8],
            timeout: Duration,
        ) -> Result<Message<'b>, RecvError> {
            self.rx.recv(buf, Mode::Timeout(timeout))
        }

        /// Like [`Peer::try_recv`].
        pub fn try_recv<'b>(&self, buf: &'b mut [u8]) -> Result<Message<'b>, RecvError> {
            self.rx.recv(buf, Mode::NonBlocking)
        }

        /// Like [`Peer::set_recv_buffer_size`].
        pub fn set_recv_buffer_size(&self, bytes: usize) -> Result<usize, Error> {
            self.rx.set_recv_buffer_size(bytes)
        }

        /// The peer's port, like [`Peer::port`].
        pub fn port(&self) -> u32 {
            self.rx.port
        }

        /// The peer's id, like [`Peer::id`].
        pub fn id(&self) -> u64 {
            self.rx.id
        }

        /// Datagrams this half dropped because they did not come from the
        /// kernel (see [`Peer::dropped_foreign`]).
        pub fn dropped_foreign(&self) -> u32 {
            self.rx.dropped_foreign()
        }
    };
}

/// The accessors of the requesting halves (`self.ctl` is a `Ctl` or a
/// `&mut Ctl`).
macro_rules! requester_accessors {
    () => {
        /// The peer's port, like [`Peer::port`].
        pub fn port(&self) -> u32 {
            self.ctl.port
        }

        /// The peer's id, like [`Peer::id`].
        pub fn id(&self) -> u64 {
            self.ctl.id
        }

        /// Datagrams this half dropped because they did not come from the
        /// kernel (see [`Peer::dropped_foreign`]).
        pub fn dropped_foreign(&self) -> u32 {
            self.ctl.dropped.load(Ordering::Relaxed)
        }
    };
}

impl Receiver<'_> {
    receive_methods!();
}

impl OwnedReceiver {
    receive_methods!();

    /// Put the peer back together with its requesting half; fails (giving
    /// both back) if `tx` belongs to another peer.
    pub fn reunite(self, tx: OwnedRequester) -> Result<Peer, ReuniteError> {
        tx.reunite(self)
    }

    #[cfg(any(feature = "tokio", feature = "async-io"))]
    pub(crate) fn rx(&self) -> &Rx {
        &self.rx
    }
}

impl Requester<'_> {
    requester_accessors!();
    request_methods!();
}

impl OwnedRequester {
    requester_accessors!();
    request_methods!();

    /// Put the peer back together with its receiving half; fails (giving
    /// both back) if `rx` belongs to another peer (peer ids are never
    /// reused, so the check is exact).
    pub fn reunite(self, rx: OwnedReceiver) -> Result<Peer, ReuniteError> {
        if self.ctl.id == rx.rx.id && self.ctl.port == rx.rx.port {
            Ok(Peer {
                rx: rx.rx,
                ctl: self.ctl,
            })
        } else {
            Err(ReuniteError(self, rx))
        }
    }
}

/// The receive socket, for `poll`/`epoll`: readable when
/// [`Peer::try_recv`] has something to return.
impl AsFd for Peer {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rx.fd.as_fd()
    }
}

/// The receive socket (as `AsFd`), for `AsyncFd` and other reactors.
impl AsRawFd for Peer {
    fn as_raw_fd(&self) -> RawFd {
        self.rx.fd.as_raw_fd()
    }
}

/// The receive socket, for `poll`/`epoll`.
impl AsFd for Receiver<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rx.fd.as_fd()
    }
}

/// The receive socket.
impl AsRawFd for Receiver<'_> {
    fn as_raw_fd(&self) -> RawFd {
        self.rx.fd.as_raw_fd()
    }
}

/// The receive socket, for `poll`/`epoll`.
impl AsFd for OwnedReceiver {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.rx.fd.as_fd()
    }
}

/// The receive socket, for `AsyncFd` and other reactors.
impl AsRawFd for OwnedReceiver {
    fn as_raw_fd(&self) -> RawFd {
        self.rx.fd.as_raw_fd()
    }
}

/// How long [`Peer::open`] waits, in all, for the kernel to finish tearing
/// down a closed peer whose port one of its new sockets got.
const STALE_PORT_WAIT: Duration = Duration::from_secs(1);

/// Run a pairing step, again while the kernel answers EBUSY (a port still
/// held by a closing socket), for at most [`STALE_PORT_WAIT`].
fn retry_stale_port<T>(mut step: impl FnMut() -> Result<T, Error>) -> Result<T, Error> {
    let deadline = sys::now() + STALE_PORT_WAIT;
    let mut pause = Duration::from_micros(100);
    loop {
        match step() {
            Err(Error::Kernel(Errno::BUSY)) if sys::now() < deadline => {
                sys::pause(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// PAIR_START on R (the reply and then the ack arrive on R): the pairing
/// token and the peer's id.
fn pair_start(ctl: &mut Ctl, rx: &Rx) -> Result<(u64, u64), Error> {
    let seq = ctl.next_seq();
    let mut hdr = [0u8; REQUEST_BUF];
    let b = Builder::genl(
        &mut hdr,
        ctl.family,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        IPCON_CMD_PAIR_START,
        IPCON_GENL_VERSION,
    )?;
    sys::send(rx.fd.as_fd(), &[b.finish()?])?;
    let (mut token, mut id) = (None, None);
    let mut reply = [0u8; REPLY_BUF];
    transact(
        rx.fd.as_fd(),
        &rx.dropped,
        &mut reply,
        seq,
        ctl.family,
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
    let token = token.ok_or(ProtocolError::MissingAttribute)?;
    let id = id.ok_or(ProtocolError::MissingAttribute)?;
    Ok((token, id))
}

/// Read `fd` until the reply sequence for `seq` ends (`until`), passing
/// messages of type `kind` with that sequence number to `on_reply`.
/// Returns whether a message of the sequence (the final `NLMSG_DONE`
/// included) carried `NLM_F_DUMP_INTR`: the dumped data changed meanwhile.
/// Messages with other sequence numbers are stale (answers to an earlier,
/// interrupted request) and skipped; datagrams not from the kernel are
/// counted in `dropped` and skipped. An error ack gives `Error::Kernel`.
/// With [`Until::Failure`] the read does not wait: an empty queue is
/// success.
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
        let got = match sys::recv(fd, buf, until == Until::Failure) {
            Ok(got) => got,
            // nothing queued: the request succeeded
            Err(Errno::AGAIN) if until == Until::Failure => return Ok(interrupted),
            Err(e) => return Err(Error::Io(e)),
        };
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
                _ => return Err(Error::Protocol(ProtocolError::ReplyTooLarge)),
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
                _ => return Err(Error::Protocol(ProtocolError::UnexpectedMessage)),
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
        Ok(_) => family.ok_or(Error::Protocol(ProtocolError::NoReply)),
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

    /// The halves go to other threads; the receiving ones are shared; with
    /// `std`, the fd traits are std's own (what `AsyncFd` and `Async`
    /// need).
    #[test]
    fn halves_are_send_and_pollable() {
        fn send<T: Send>() {}
        fn sync<T: Sync>() {}
        #[cfg(feature = "std")]
        fn fd<T: std::os::fd::AsFd + std::os::fd::AsRawFd>() {}
        #[cfg(not(feature = "std"))]
        fn fd<T: AsFd + AsRawFd>() {}
        send::<Peer>();
        send::<Requester<'_>>();
        send::<Receiver<'_>>();
        send::<OwnedRequester>();
        send::<OwnedReceiver>();
        sync::<Receiver<'_>>();
        sync::<OwnedReceiver>();
        sync::<Peer>();
        fd::<Peer>();
        fd::<Receiver<'_>>();
        fd::<OwnedReceiver>();
        send::<ReuniteError>();
    }

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
