// SPDX-License-Identifier: MIT OR Apache-2.0
//! The crate's error types: [`Error`] for requests, [`RecvError`] for
//! receiving, [`ProtocolError`] for what the kernel should never send.

use core::fmt;
pub use rustix::io::Errno;

/// Everything that can go wrong with a request to the ipcon kernel
/// module (registering, sending, publishing, joining, listing, the
/// policy) or opening a peer.
///
/// Receiving has its own, smaller error type, [`RecvError`]; it converts
/// into this one ([`Error::Recv`]) so that a function doing both can use
/// `?` on each.
///
/// Its `Display` text says what to do about it:
///
/// ```
/// use ipcon::Error;
///
/// assert_eq!(
///     Error::NotLoaded.to_string(),
///     "the ipcon kernel module is not loaded (run: modprobe ipcon)"
/// );
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The generic netlink family "IPCON" does not exist: the kernel module
    /// is not loaded.
    NotLoaded,
    /// A service or group name is empty, longer than 63 bytes, or has a
    /// character outside `[A-Za-z0-9._:-]` (checked before sending).
    InvalidName,
    /// The payload is larger than
    /// [`IPCON_PAYLOAD_MAX`](crate::uapi::IPCON_PAYLOAD_MAX) bytes.
    PayloadTooLarge,
    /// The name is already registered (`EEXIST`).
    NameTaken,
    /// No such service (`ENOENT` on a service operation).
    NoSuchService,
    /// No such group (`ENOENT` on a group operation).
    NoSuchGroup,
    /// The name belongs to another peer (`EPERM`).
    NotOwner,
    /// The ipcon policy denies this peer the operation (`EACCES` on
    /// registering a service or group, sending or joining):
    /// no rule allows its uid or gids for that name, or the default is
    /// `deny`. The administrator decides (`ipcon policy show`).
    Denied,
    /// A per-user limit of the kernel module is reached (`EDQUOT`):
    /// services, groups, memberships, event subscriptions or retained
    /// bytes of this uid. Free some, or raise the limit (module parameters
    /// in `/sys/module/ipcon/parameters/`).
    LimitReached,
    /// Setting or reading the policy needs `CAP_NET_ADMIN` in the user
    /// namespace that owns the network namespace (`EPERM` on a policy
    /// request).
    NotPermitted,
    /// A policy has more than
    /// [`IPCON_POLICY_RULES_MAX`](crate::uapi::IPCON_POLICY_RULES_MAX)
    /// rules (`E2BIG`, or checked before sending).
    TooManyRules,
    /// A policy rule's pattern is not a name, a name prefix followed by
    /// `*`, or `*` alone (checked before sending; see
    /// [`policy::check_pattern`](crate::policy::check_pattern)).
    InvalidPattern,
    /// Already a member of the group (`EALREADY` on join).
    AlreadyMember,
    /// Already subscribed to events (`EALREADY`).
    AlreadySubscribed,
    /// Not a member of the group (`ENOTCONN` on leave).
    NotMember,
    /// Not subscribed to events (`ENOTCONN`).
    NotSubscribed,
    /// The destination port is not a live ipcon peer (`ECONNREFUSED`).
    PeerGone,
    /// The destination's receive queue is full; nothing was delivered
    /// (`ENOBUFS`).
    QueueFull,
    /// A datagram of a listing (services, groups, the policy) of `len`
    /// bytes did not fit the caller's buffer; use
    /// [`DUMP_BUFFER_SIZE`](crate::DUMP_BUFFER_SIZE) bytes.
    Truncated {
        /// The full length of the datagram, in bytes.
        len: usize,
    },
    /// A buffer given to the crate is too small for what it must hold.
    BufferTooSmall,
    /// The kernel sent something malformed or unexpected.
    Protocol(ProtocolError),
    /// The kernel rejected a request with an errno that has no variant of
    /// its own.
    Kernel(Errno),
    /// A system call failed.
    Io(Errno),
    /// A receive failed: never returned by the crate's request methods,
    /// only made by `?` (`From<RecvError>`) in code that both receives
    /// and sends.
    Recv(RecvError),
}

/// Why a receive ([`Peer::recv`](crate::Peer::recv) and the other
/// receiving methods) returned no message.
///
/// Deliberately exhaustive, so a receive loop can match every case; each
/// leaves the peer usable (call the receive again), except `Io`, which
/// reports a failed system call on the receive socket.
///
/// ```no_run
/// use ipcon::{Peer, RecvError, RECV_BUFFER_SIZE};
///
/// # fn main() -> Result<(), ipcon::Error> {
/// let peer = Peer::open()?;
/// let mut buf = [0u8; RECV_BUFFER_SIZE];
/// loop {
///     match peer.try_recv(&mut buf) {
///         Ok(msg) => println!("{msg:?}"),
///         Err(RecvError::WouldBlock) => break,
///         Err(RecvError::TimedOut) => unreachable!("try_recv does not wait"),
///         Err(RecvError::Truncated { len }) => eprintln!("skipped {len} bytes"),
///         Err(RecvError::Protocol(e)) => eprintln!("skipped: {e}"),
///         Err(RecvError::Io(e)) => return Err(RecvError::Io(e).into()),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvError {
    /// Non-blocking receive: no message is waiting.
    WouldBlock,
    /// No message arrived before the timeout.
    TimedOut,
    /// A message of `len` bytes did not fit the receive buffer. It was
    /// consumed (it cannot be read again); use
    /// [`RECV_BUFFER_SIZE`](crate::RECV_BUFFER_SIZE) bytes.
    Truncated {
        /// The full length of the message, in bytes.
        len: usize,
    },
    /// The kernel sent a malformed delivery; it was consumed.
    Protocol(ProtocolError),
    /// A system call on the receive socket failed.
    Io(Errno),
}

/// What was wrong with data from the kernel: a malformed or unexpected
/// message. Seen only when the kernel module and the crate disagree on
/// the protocol (a bug, or versions too far apart); a delivery of a kind
/// this crate does not know is not an error but
/// [`Message::Unknown`](crate::Message::Unknown).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ProtocolError {
    /// A netlink, genetlink or netlink error header is cut short.
    TruncatedHeader,
    /// A netlink length is smaller than its header or runs past the
    /// received data.
    BadLength,
    /// An attribute header is cut short, has a length smaller than the
    /// header, or runs past the end of the message.
    BadAttribute,
    /// A fixed-size attribute (`u16`, `u32`, `u64`) has another length.
    AttributeLength,
    /// A string attribute has no NUL terminator or is not UTF-8.
    BadString,
    /// An attribute the message must carry is missing.
    MissingAttribute,
    /// A message of a type, family or command that does not belong where
    /// it arrived.
    UnexpectedMessage,
    /// The kernel acknowledged a request without the reply it must send.
    NoReply,
    /// A reply did not fit the crate's reply buffer.
    ReplyTooLarge,
    /// The kernel took fewer bytes of a request than were sent.
    ShortSend,
    /// An enumerated value (policy default, rule action) this crate does
    /// not know.
    UnknownValue,
    /// The messages of a policy dump do not form a policy (order, count,
    /// a rule naming both a uid and a gid).
    BadPolicyDump,
    /// The policy kept changing while it was read, several times in a row.
    PolicyChanging,
}

impl ProtocolError {
    /// What went wrong, in a few words.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolError::TruncatedHeader => "truncated message header",
            ProtocolError::BadLength => "message length outside the received data",
            ProtocolError::BadAttribute => "malformed attribute header",
            ProtocolError::AttributeLength => "fixed-size attribute of the wrong length",
            ProtocolError::BadString => "string attribute without NUL or not UTF-8",
            ProtocolError::MissingAttribute => "a mandatory attribute is missing",
            ProtocolError::UnexpectedMessage => "unexpected message type or command",
            ProtocolError::NoReply => "request acknowledged without its reply",
            ProtocolError::ReplyTooLarge => "reply larger than the reply buffer",
            ProtocolError::ShortSend => "short send to a netlink socket",
            ProtocolError::UnknownValue => "unknown enumerated value",
            ProtocolError::BadPolicyDump => "malformed policy dump",
            ProtocolError::PolicyChanging => "the policy kept changing while it was read",
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for ProtocolError {}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<ProtocolError> for RecvError {
    fn from(e: ProtocolError) -> Self {
        RecvError::Protocol(e)
    }
}

impl From<RecvError> for Error {
    fn from(e: RecvError) -> Self {
        Error::Recv(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotLoaded => f.write_str("the ipcon kernel module is not loaded (run: modprobe ipcon)"),
            Error::InvalidName => f.write_str(
                "invalid name: use 1 to 63 characters from A-Z a-z 0-9 . _ : -",
            ),
            Error::PayloadTooLarge => f.write_str("payload too large: at most 65536 bytes per message"),
            Error::NameTaken => f.write_str("the name is already registered (EEXIST)"),
            Error::NoSuchService => {
                f.write_str("no such service (ENOENT): is its provider running and registered?")
            }
            Error::NoSuchGroup => {
                f.write_str("no such group (ENOENT): is its owner running and registered?")
            }
            Error::NotOwner => f.write_str("the name belongs to another peer (EPERM)"),
            Error::Denied => f.write_str(
                "denied by the ipcon policy (EACCES): a rule for this name must allow this \
                 uid or group (as root: ipcon policy show)",
            ),
            Error::LimitReached => f.write_str(
                "a per-user limit of the ipcon module is reached (EDQUOT): free services, \
                 groups, memberships or retained messages, or raise the limit in \
                 /sys/module/ipcon/parameters/",
            ),
            Error::NotPermitted => f.write_str(
                "the ipcon policy can only be set or read with CAP_NET_ADMIN (EPERM): run as root",
            ),
            Error::TooManyRules => f.write_str("too many policy rules (E2BIG): at most 512"),
            Error::InvalidPattern => f.write_str(
                "invalid policy pattern: use a name, a name prefix followed by '*', or '*' \
                 (at most 63 characters from A-Z a-z 0-9 . _ : -)",
            ),
            Error::AlreadyMember => f.write_str("already a member of the group (EALREADY)"),
            Error::AlreadySubscribed => f.write_str("already subscribed to events (EALREADY)"),
            Error::NotMember => f.write_str("not a member of the group (ENOTCONN)"),
            Error::NotSubscribed => f.write_str("not subscribed to events (ENOTCONN)"),
            Error::PeerGone => {
                f.write_str("the destination is not a live ipcon peer (ECONNREFUSED): it exited?")
            }
            Error::QueueFull => f.write_str(
                "the destination's receive queue is full, nothing was delivered (ENOBUFS): retry later",
            ),
            Error::Truncated { len } => write!(
                f,
                "a listing datagram of {len} bytes did not fit the buffer \
                 (use a buffer of DUMP_BUFFER_SIZE bytes)"
            ),
            Error::BufferTooSmall => f.write_str("buffer too small"),
            Error::Protocol(why) => write!(f, "protocol error, unexpected data from the kernel: {why}"),
            Error::Kernel(e) if *e == Errno::OPNOTSUPP => f.write_str(
                "the kernel does not support this request (EOPNOTSUPP): ipcon module and crate versions differ?",
            ),
            Error::Kernel(e) if *e == Errno::INVAL => {
                f.write_str("the kernel rejected the request as malformed (EINVAL)")
            }
            Error::Kernel(e) => write!(f, "the kernel rejected the request: {e}"),
            Error::Io(e) => write!(f, "system call failed: {e}"),
            Error::Recv(e) => e.fmt(f),
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::WouldBlock => f.write_str("no message is waiting"),
            RecvError::TimedOut => f.write_str("timed out waiting for a message"),
            RecvError::Truncated { len } => write!(
                f,
                "a message of {len} bytes did not fit the receive buffer and was discarded \
                 (use a buffer of RECV_BUFFER_SIZE bytes)"
            ),
            RecvError::Protocol(why) => {
                write!(f, "protocol error, unexpected data from the kernel: {why}")
            }
            RecvError::Io(e) => write!(f, "receiving failed: {e}"),
        }
    }
}

impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => Some(e),
            Error::Recv(e) => Some(e),
            _ => None,
        }
    }
}

impl core::error::Error for RecvError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            RecvError::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

fn errno_kind(e: Errno) -> embedded_io::ErrorKind {
    use embedded_io::ErrorKind as K;
    match e {
        Errno::INTR => K::Interrupted,
        Errno::NOMEM | Errno::NOBUFS => K::OutOfMemory,
        Errno::ACCESS | Errno::PERM => K::PermissionDenied,
        Errno::INVAL | Errno::TOOBIG => K::InvalidInput,
        Errno::DQUOT => K::OutOfMemory,
        Errno::OPNOTSUPP | Errno::AFNOSUPPORT | Errno::PROTONOSUPPORT => K::Unsupported,
        Errno::TIMEDOUT => K::TimedOut,
        Errno::NOENT => K::NotFound,
        Errno::CONNREFUSED => K::ConnectionRefused,
        Errno::EXIST => K::AlreadyExists,
        _ => K::Other,
    }
}

impl embedded_io::Error for Error {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as K;
        match *self {
            Error::NotLoaded => K::Unsupported,
            Error::InvalidName
            | Error::InvalidPattern
            | Error::PayloadTooLarge
            | Error::BufferTooSmall
            | Error::TooManyRules => K::InvalidInput,
            Error::NameTaken | Error::AlreadyMember | Error::AlreadySubscribed => K::AlreadyExists,
            Error::NoSuchService | Error::NoSuchGroup => K::NotFound,
            Error::NotOwner | Error::Denied | Error::NotPermitted => K::PermissionDenied,
            // Resources exhausted: the closest kind embedded-io has.
            Error::LimitReached => K::OutOfMemory,
            Error::NotMember | Error::NotSubscribed => K::NotConnected,
            Error::PeerGone => K::ConnectionRefused,
            Error::QueueFull => K::OutOfMemory,
            Error::Truncated { .. } | Error::Protocol(_) => K::InvalidData,
            Error::Kernel(e) | Error::Io(e) => errno_kind(e),
            Error::Recv(e) => embedded_io::Error::kind(&e),
        }
    }
}

impl embedded_io::Error for RecvError {
    fn kind(&self) -> embedded_io::ErrorKind {
        use embedded_io::ErrorKind as K;
        match *self {
            RecvError::WouldBlock => K::Other,
            RecvError::TimedOut => K::TimedOut,
            RecvError::Truncated { .. } | RecvError::Protocol(_) => K::InvalidData,
            RecvError::Io(e) => errno_kind(e),
        }
    }
}

/// How an error becomes a `std::io::Error` without allocating: the errno
/// the kernel gave (or the one that means the same), or a bare kind.
#[cfg(feature = "std")]
enum IoForm {
    Os(Errno),
    Kind(std::io::ErrorKind),
}

#[cfg(feature = "std")]
impl IoForm {
    fn into_io(self) -> std::io::Error {
        match self {
            IoForm::Os(e) => std::io::Error::from_raw_os_error(e.raw_os_error()),
            // A "simple" io::Error: a kind, no payload, no allocation.
            IoForm::Kind(k) => std::io::Error::from(k),
        }
    }
}

#[cfg(feature = "std")]
impl Error {
    fn io_form(self) -> IoForm {
        use std::io::ErrorKind as K;
        match self {
            Error::NotLoaded => IoForm::Kind(K::Unsupported),
            Error::InvalidName | Error::InvalidPattern | Error::BufferTooSmall => {
                IoForm::Kind(K::InvalidInput)
            }
            Error::PayloadTooLarge => IoForm::Os(Errno::MSGSIZE),
            Error::NameTaken => IoForm::Os(Errno::EXIST),
            Error::NoSuchService | Error::NoSuchGroup => IoForm::Os(Errno::NOENT),
            Error::NotOwner | Error::NotPermitted => IoForm::Os(Errno::PERM),
            Error::Denied => IoForm::Os(Errno::ACCESS),
            Error::LimitReached => IoForm::Os(Errno::DQUOT),
            Error::TooManyRules => IoForm::Os(Errno::TOOBIG),
            Error::AlreadyMember | Error::AlreadySubscribed => IoForm::Os(Errno::ALREADY),
            Error::NotMember | Error::NotSubscribed => IoForm::Os(Errno::NOTCONN),
            Error::PeerGone => IoForm::Os(Errno::CONNREFUSED),
            Error::QueueFull => IoForm::Os(Errno::NOBUFS),
            Error::Truncated { .. } | Error::Protocol(_) => IoForm::Kind(K::InvalidData),
            Error::Kernel(e) | Error::Io(e) => IoForm::Os(e),
            Error::Recv(e) => e.io_form(),
        }
    }
}

#[cfg(feature = "std")]
impl RecvError {
    fn io_form(self) -> IoForm {
        match self {
            // EAGAIN and ETIMEDOUT: kinds WouldBlock and TimedOut.
            RecvError::WouldBlock => IoForm::Os(Errno::AGAIN),
            RecvError::TimedOut => IoForm::Os(Errno::TIMEDOUT),
            RecvError::Truncated { .. } | RecvError::Protocol(_) => {
                IoForm::Kind(std::io::ErrorKind::InvalidData)
            }
            RecvError::Io(e) => IoForm::Os(e),
        }
    }
}

/// Without allocating: an errno where the kernel gave one (or one that
/// means the same: `Denied` is `EACCES`, `PeerGone` `ECONNREFUSED`, ...),
/// otherwise a bare [`ErrorKind`](std::io::ErrorKind) (`InvalidInput`,
/// `InvalidData`, `Unsupported`). The ipcon error's own text is not kept:
/// keep the [`Error`] to show it.
///
/// ```
/// use std::io::ErrorKind;
///
/// let io: std::io::Error = ipcon::Error::Denied.into();
/// assert_eq!(io.kind(), ErrorKind::PermissionDenied);
/// assert_eq!(io.raw_os_error(), Some(13)); // EACCES
/// ```
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        e.io_form().into_io()
    }
}

/// Without allocating: [`RecvError::WouldBlock`] is `EAGAIN` (kind
/// `WouldBlock`), [`RecvError::TimedOut`] `ETIMEDOUT` (kind `TimedOut`),
/// `Io` its errno, the others kind `InvalidData`.
///
/// ```
/// let io: std::io::Error = ipcon::RecvError::WouldBlock.into();
/// assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock);
/// ```
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl From<RecvError> for std::io::Error {
    fn from(e: RecvError) -> Self {
        e.io_form().into_io()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn display_is_actionable() {
        assert_eq!(
            Error::NotLoaded.to_string(),
            "the ipcon kernel module is not loaded (run: modprobe ipcon)"
        );
        assert!(RecvError::Truncated { len: 70000 }
            .to_string()
            .contains("70000"));
        assert!(Error::Truncated { len: 40000 }
            .to_string()
            .contains("DUMP_BUFFER_SIZE"));
        assert!(Error::Kernel(Errno::OPNOTSUPP)
            .to_string()
            .contains("EOPNOTSUPP"));
        assert_eq!(
            Error::Protocol(ProtocolError::BadString).to_string(),
            "protocol error, unexpected data from the kernel: \
             string attribute without NUL or not UTF-8"
        );
        assert_eq!(
            Error::from(RecvError::TimedOut).to_string(),
            RecvError::TimedOut.to_string()
        );
        assert_eq!(
            embedded_io::Error::kind(&Error::PeerGone),
            embedded_io::ErrorKind::ConnectionRefused
        );
    }

    #[test]
    fn security_errors_say_what_to_do() {
        use embedded_io::{Error as _, ErrorKind as K};
        for (e, words, kind) in [
            (Error::Denied, "ipcon policy show", K::PermissionDenied),
            (
                Error::LimitReached,
                "/sys/module/ipcon/parameters",
                K::OutOfMemory,
            ),
            (Error::NotPermitted, "CAP_NET_ADMIN", K::PermissionDenied),
            (Error::TooManyRules, "at most 512", K::InvalidInput),
            (Error::InvalidPattern, "'*'", K::InvalidInput),
        ] {
            assert!(e.to_string().contains(words), "{e:?}: {e}");
            assert_eq!(e.kind(), kind, "{e:?}");
        }
        assert_eq!(errno_kind(Errno::DQUOT), K::OutOfMemory);
        assert_eq!(errno_kind(Errno::TOOBIG), K::InvalidInput);
        assert_eq!(errno_kind(Errno::ACCESS), K::PermissionDenied);
    }

    #[cfg(feature = "std")]
    #[test]
    fn io_errors_keep_their_kind_and_errno() {
        use std::io::ErrorKind as K;
        let cases: [(std::io::Error, K, Option<Errno>); 9] = [
            (
                Error::Denied.into(),
                K::PermissionDenied,
                Some(Errno::ACCESS),
            ),
            (
                Error::PeerGone.into(),
                K::ConnectionRefused,
                Some(Errno::CONNREFUSED),
            ),
            (
                Error::NameTaken.into(),
                K::AlreadyExists,
                Some(Errno::EXIST),
            ),
            (Error::NoSuchGroup.into(), K::NotFound, Some(Errno::NOENT)),
            (Error::InvalidName.into(), K::InvalidInput, None),
            (Error::NotLoaded.into(), K::Unsupported, None),
            (
                RecvError::WouldBlock.into(),
                K::WouldBlock,
                Some(Errno::AGAIN),
            ),
            (
                Error::Recv(RecvError::TimedOut).into(),
                K::TimedOut,
                Some(Errno::TIMEDOUT),
            ),
            (
                RecvError::Protocol(ProtocolError::BadLength).into(),
                K::InvalidData,
                None,
            ),
        ];
        for (io, kind, errno) in cases {
            assert_eq!(io.kind(), kind, "{io:?}");
            assert_eq!(io.raw_os_error(), errno.map(|e| e.raw_os_error()), "{io:?}");
            // Neither an errno nor a bare kind carries a boxed payload.
            assert!(io.get_ref().is_none(), "{io:?}");
        }
    }
}
