// SPDX-License-Identifier: MIT OR Apache-2.0
//! Deliveries from the kernel, parsed into typed views that borrow the
//! receive buffer.

use super::attr::{str_of, Attr, NLA_HDRLEN, NLA_TYPE_MASK};
use super::genl::{GenlMsg, ATTRS_OFFSET};
use super::netlink::NlMsg;
use super::{align, get_u16};
use crate::uapi::*;
use crate::ProtocolError;

/// A message delivered by the kernel to a peer's receive socket.
///
/// Non-exhaustive: a newer kernel module may deliver new kinds of
/// messages; this version of the crate reports them as
/// [`Message::Unknown`], and a later one may give them a variant of their
/// own. A receive loop should ignore what it does not handle (`_ => {}`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Message<'a> {
    /// A unicast message sent to this peer (by port or by service name).
    Unicast(Unicast<'a>),
    /// A message published to a group this peer is a member of.
    Group(GroupMessage<'a>),
    /// A kernel event (after [`Peer::subscribe_events`](crate::Peer::subscribe_events)).
    Event(Event<'a>),
    /// Messages were dropped because this peer's receive queue was full.
    Lost(Lost<'a>),
    /// A delivery of a kind this version of the crate does not know (from
    /// a newer kernel module): its generic netlink command. It was
    /// consumed; nothing else of it is parsed.
    Unknown {
        /// The generic netlink command of the delivery (`IPCON_CMD_*`).
        cmd: u8,
    },
}

/// Who sent a message: stamped by the kernel, not by the sender.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sender<'a> {
    /// The sending peer's port (reply with [`Target::Port`](crate::Target::Port)).
    /// A port is reused as soon as its socket is closed; [`id`](Self::id)
    /// is not.
    pub port: u32,
    /// The sending peer's id, unique for the life of the network namespace
    /// and never reused: reply with [`Target::Id`](crate::Target::Id) to be
    /// sure to reach this peer and no newcomer on the same port.
    pub id: u64,
    /// The sender's service: the one it named when sending, or else its
    /// oldest service; `None` if it has none.
    pub service: Option<&'a str>,
    /// Effective user id of the sender: of the credentials its receive
    /// socket was opened with (not of whichever task writes to its
    /// sockets), in the user namespace owning the network namespace.
    pub uid: u32,
    /// Effective group id of the sender, like [`uid`](Self::uid).
    pub gid: u32,
    /// Process (thread group) id of the process that created the sending
    /// peer, as seen from the pid namespace of the process that created
    /// the receiving peer; 0 if it has no number there.
    pub pid: u32,
}

/// A unicast message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Unicast<'a> {
    /// The kernel-stamped sender.
    pub sender: Sender<'a>,
    /// The service name the message was addressed to, if it was sent to a
    /// service rather than to a port.
    pub service: Option<&'a str>,
    /// The payload (contiguous even if it arrived in several chunks).
    pub data: &'a [u8],
}

/// A group message.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GroupMessage<'a> {
    /// The group it was published to.
    pub group: &'a str,
    /// The kernel-stamped sender (the group owner).
    pub sender: Sender<'a>,
    /// True if this is the replay of the group's retained message, delivered
    /// on a join with [`JoinFlags::LAST`](crate::JoinFlags::LAST).
    pub retained: bool,
    /// The payload.
    pub data: &'a [u8],
}

/// Kind of a kernel event.
///
/// Non-exhaustive: a kind this version of the crate does not know is
/// [`EventKind::Unknown`] with its wire value; a later version may give it
/// a variant of its own.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EventKind {
    /// A peer closed its sockets or exited ([`Event::port`] is the peer).
    PeerGone,
    /// A service was registered.
    ServiceAdded,
    /// A service was removed (unregistered, or its owner is gone).
    ServiceRemoved,
    /// A group was registered.
    GroupAdded,
    /// A group was removed.
    GroupRemoved,
    /// An event kind this version of the crate does not know.
    Unknown(u32),
}

impl EventKind {
    /// The kind for a wire value `IPCON_EV_*`.
    pub fn from_raw(raw: u32) -> Self {
        match raw {
            IPCON_EV_PEER_GONE => EventKind::PeerGone,
            IPCON_EV_SRV_ADDED => EventKind::ServiceAdded,
            IPCON_EV_SRV_REMOVED => EventKind::ServiceRemoved,
            IPCON_EV_GRP_ADDED => EventKind::GroupAdded,
            IPCON_EV_GRP_REMOVED => EventKind::GroupRemoved,
            other => EventKind::Unknown(other),
        }
    }

    /// The wire value `IPCON_EV_*`.
    pub fn to_raw(self) -> u32 {
        match self {
            EventKind::PeerGone => IPCON_EV_PEER_GONE,
            EventKind::ServiceAdded => IPCON_EV_SRV_ADDED,
            EventKind::ServiceRemoved => IPCON_EV_SRV_REMOVED,
            EventKind::GroupAdded => IPCON_EV_GRP_ADDED,
            EventKind::GroupRemoved => IPCON_EV_GRP_REMOVED,
            EventKind::Unknown(raw) => raw,
        }
    }

    /// A short lowercase name for logs and tools: `"peer-gone"`,
    /// `"service-added"`, `"service-removed"`, `"group-added"`,
    /// `"group-removed"`, or `"unknown"` for [`EventKind::Unknown`] (whose
    /// [`Display`](core::fmt::Display) adds the raw value, `"unknown(7)"`).
    ///
    /// ```
    /// use ipcon::EventKind;
    ///
    /// assert_eq!(EventKind::ServiceAdded.name(), "service-added");
    /// assert_eq!(EventKind::from_raw(7).to_string(), "unknown(7)");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::PeerGone => "peer-gone",
            EventKind::ServiceAdded => "service-added",
            EventKind::ServiceRemoved => "service-removed",
            EventKind::GroupAdded => "group-added",
            EventKind::GroupRemoved => "group-removed",
            EventKind::Unknown(_) => "unknown",
        }
    }
}

impl core::fmt::Display for EventKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EventKind::Unknown(raw) => write!(f, "unknown({raw})"),
            known => f.write_str(known.name()),
        }
    }
}

/// A kernel event.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event<'a> {
    /// What happened.
    pub kind: EventKind,
    /// The peer concerned: the peer that is gone, or the owner of the
    /// service or group.
    pub port: u32,
    /// The id of the peer concerned (never reused, unlike the port).
    pub id: u64,
    /// Effective user id of the peer concerned (the owner of the name).
    pub uid: u32,
    /// Effective group id of the peer concerned (the owner of the name).
    pub gid: u32,
    /// The service or group name (`None` for [`EventKind::PeerGone`]).
    pub name: Option<&'a str>,
}

/// Notice that messages to this peer were dropped because its receive
/// queue was full. The kernel sends it before the next message that does
/// get through.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Lost<'a> {
    /// The group whose messages were lost, or `None` for lost events.
    pub group: Option<&'a str>,
    /// How many messages were lost.
    pub count: u32,
}

/// Where a string attribute ended up.
#[derive(Clone, Copy)]
enum Loc {
    /// In place (before the first data chunk): start, length.
    At(usize, usize),
    /// Moved into the string block after the compacted data: offset in the
    /// block, length.
    Moved(usize, usize),
}

#[derive(Default)]
struct Fields {
    name: Option<Loc>,
    src_name: Option<Loc>,
    src_port: Option<u32>,
    uid: Option<u32>,
    gid: Option<u32>,
    pid: Option<u32>,
    flags: Option<u32>,
    event: Option<u32>,
    port: Option<u32>,
    count: Option<u32>,
    id: Option<u64>,
    src_id: Option<u64>,
}

impl<'a> Message<'a> {
    /// Parse the delivery at the start of `buf` (the bytes received from
    /// the kernel); `family` is the ipcon family id.
    ///
    /// If the payload came in several [`IPCON_A_DATA`] chunks they are
    /// compacted in place (the buffer is modified) so that the payload is one
    /// contiguous slice. Never panics; malformed input gives a
    /// [`ProtocolError`]; a delivery command this crate does not know gives
    /// [`Message::Unknown`].
    ///
    /// Attributes this version of the crate does not know (and
    /// [`IPCON_A_PAD`]) are skipped. Mandatory: for messages the sender's
    /// port, id, uid, gid and pid; for events the kind and the port, id,
    /// uid and gid of the peer concerned; for lost notices the count.
    pub fn parse(buf: &'a mut [u8], family: u16) -> Result<Self, ProtocolError> {
        let (len, cmd) = {
            let nl = NlMsg::new_checked(buf)?;
            if nl.kind() != family {
                return Err(ProtocolError::UnexpectedMessage);
            }
            let genl = GenlMsg::new_checked(nl)?;
            (nl.len(), genl.cmd())
        };
        if !matches!(
            cmd,
            IPCON_CMD_MSG | IPCON_CMD_GRP_MSG | IPCON_CMD_EVENT | IPCON_CMD_LOST
        ) {
            // A delivery of a newer module: not an error, and not parsed.
            return Ok(Message::Unknown { cmd });
        }
        let msg = &mut buf[..len];

        let mut f = Fields::default();
        // Compacted data lives in msg[d0..w]; moved strings in
        // msg[w..w + strings].
        let mut data: Option<(usize, usize)> = None;
        let mut strings = 0usize;
        let mut pos = ATTRS_OFFSET;
        while len.saturating_sub(pos) >= NLA_HDRLEN {
            let alen = get_u16(msg, pos).unwrap_or(0) as usize;
            let kind = get_u16(msg, pos + 2).unwrap_or(0) & NLA_TYPE_MASK;
            if alen < NLA_HDRLEN {
                return Err(ProtocolError::BadAttribute);
            }
            if alen > len - pos {
                return Err(ProtocolError::BadAttribute);
            }
            let start = pos + NLA_HDRLEN;
            let end = pos + alen;
            let next = (pos + align(alen)).min(len);
            let n = end - start;
            match kind {
                IPCON_A_DATA => match data {
                    None => data = Some((start, end)),
                    Some((d0, w)) => {
                        // Invariant: w + strings <= pos, so this stays within
                        // already-processed bytes and the chunk itself.
                        let s = w + strings;
                        msg.copy_within(start..end, s);
                        if strings > 0 {
                            msg[w..s + n].rotate_right(n);
                        }
                        data = Some((d0, w + n));
                    }
                },
                IPCON_A_NAME | IPCON_A_SRC_NAME => {
                    let slen = str_of(&msg[start..end])?.len();
                    let loc = match data {
                        None => Loc::At(start, slen),
                        Some((_, w)) => {
                            msg.copy_within(start..start + slen, w + strings);
                            strings += slen;
                            Loc::Moved(strings - slen, slen)
                        }
                    };
                    if kind == IPCON_A_NAME {
                        f.name = Some(loc);
                    } else {
                        f.src_name = Some(loc);
                    }
                }
                IPCON_A_SRC_PORT | IPCON_A_UID | IPCON_A_GID | IPCON_A_PID | IPCON_A_FLAGS
                | IPCON_A_EVENT | IPCON_A_PORT | IPCON_A_COUNT => {
                    let v = Attr::u32_of(&msg[start..end])?;
                    let slot = match kind {
                        IPCON_A_SRC_PORT => &mut f.src_port,
                        IPCON_A_UID => &mut f.uid,
                        IPCON_A_GID => &mut f.gid,
                        IPCON_A_PID => &mut f.pid,
                        IPCON_A_FLAGS => &mut f.flags,
                        IPCON_A_EVENT => &mut f.event,
                        IPCON_A_PORT => &mut f.port,
                        _ => &mut f.count,
                    };
                    *slot = Some(v);
                }
                IPCON_A_ID | IPCON_A_SRC_ID => {
                    let v = Attr::u64_of(&msg[start..end])?;
                    if kind == IPCON_A_ID {
                        f.id = Some(v);
                    } else {
                        f.src_id = Some(v);
                    }
                }
                // IPCON_A_PAD, and attributes unknown or unused here.
                _ => {}
            }
            pos = next;
        }

        let msg: &'a [u8] = msg;
        let (payload, w) = match data {
            Some((d0, w)) => (&msg[d0..w], w),
            None => (&msg[..0], 0),
        };
        let string = |loc: Option<Loc>| -> Result<Option<&'a str>, ProtocolError> {
            let range = match loc {
                None => return Ok(None),
                Some(Loc::At(s, l)) => s..s + l,
                Some(Loc::Moved(r, l)) => w + r..w + r + l,
            };
            let bytes = msg.get(range).ok_or(ProtocolError::BadString)?;
            core::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| ProtocolError::BadString)
        };
        let name = string(f.name)?;
        let sender = || -> Result<Sender<'a>, ProtocolError> {
            match (f.src_port, f.src_id, f.uid, f.gid, f.pid) {
                (Some(port), Some(id), Some(uid), Some(gid), Some(pid)) => Ok(Sender {
                    port,
                    id,
                    service: string(f.src_name)?,
                    uid,
                    gid,
                    pid,
                }),
                _ => Err(ProtocolError::MissingAttribute),
            }
        };
        Ok(match cmd {
            IPCON_CMD_MSG => Message::Unicast(Unicast {
                sender: sender()?,
                service: name,
                data: payload,
            }),
            IPCON_CMD_GRP_MSG => Message::Group(GroupMessage {
                group: name.ok_or(ProtocolError::MissingAttribute)?,
                sender: sender()?,
                retained: f.flags.unwrap_or(0) & IPCON_MSG_F_RETAINED != 0,
                data: payload,
            }),
            IPCON_CMD_EVENT => match (f.event, f.port, f.id, f.uid, f.gid) {
                (Some(ev), Some(port), Some(id), Some(uid), Some(gid)) => Message::Event(Event {
                    kind: EventKind::from_raw(ev),
                    port,
                    id,
                    uid,
                    gid,
                    name,
                }),
                _ => return Err(ProtocolError::MissingAttribute),
            },
            _ => Message::Lost(Lost {
                group: name,
                count: f.count.ok_or(ProtocolError::MissingAttribute)?,
            }),
        })
    }
}
