// SPDX-License-Identifier: MIT OR Apache-2.0
//! The crate's error type.

use core::fmt;
pub use rustix::io::Errno;

/// Everything that can go wrong talking to the ipcon kernel module.
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
    /// A buffer given to the crate is too small for what it must hold.
    BufferTooSmall,
    /// The kernel sent something malformed or unexpected.
    Protocol(&'static str),
    /// The kernel rejected a request with an errno that has no variant of
    /// its own.
    Kernel(Errno),
    /// A system call failed.
    Io(Errno),
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
            Error::WouldBlock => f.write_str("no message is waiting"),
            Error::TimedOut => f.write_str("timed out waiting for a message"),
            Error::Truncated { len } => write!(
                f,
                "a message of {len} bytes did not fit the receive buffer and was discarded \
                 (use a buffer of RECV_BUFFER_SIZE bytes)"
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
        }
    }
}

impl core::error::Error for Error {}

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
            Error::WouldBlock => K::Other,
            Error::TimedOut => K::TimedOut,
            Error::Truncated { .. } | Error::Protocol(_) => K::InvalidData,
            Error::Kernel(e) | Error::Io(e) => errno_kind(e),
        }
    }
}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(errno) => std::io::Error::from_raw_os_error(errno.raw_os_error()),
            Error::WouldBlock => std::io::Error::new(std::io::ErrorKind::WouldBlock, e),
            other => {
                let kind = embedded_io::Error::kind(&other);
                std::io::Error::new(kind.into(), other)
            }
        }
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
        assert!(Error::Truncated { len: 70000 }
            .to_string()
            .contains("70000"));
        assert!(Error::Kernel(Errno::OPNOTSUPP)
            .to_string()
            .contains("EOPNOTSUPP"));
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
        #[cfg(feature = "std")]
        {
            let io: std::io::Error = Error::Denied.into();
            assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        }
    }
}
