// SPDX-License-Identifier: MIT OR Apache-2.0
//! [`OwnedMessage`]: a delivery that owns its bytes (feature `alloc`), for
//! what cannot borrow a receive buffer: channels, tasks, streams.

use alloc::string::String;
use alloc::vec::Vec;

use crate::{Event, EventKind, GroupMessage, Lost, Message, Sender, Unicast};

/// A [`Message`] that owns its strings and payload (needs feature
/// `alloc`): it can be sent to another thread or task and kept. Making
/// one allocates; receiving into a buffer with `recv` does not.
///
/// [`message`](Self::message) gives the borrowed view back, so code that
/// handles a [`Message`] handles both:
///
/// ```
/// use ipcon::{Message, OwnedMessage};
///
/// fn show(m: Message<'_>) -> String {
///     match m {
///         Message::Unicast(u) => format!("{} bytes from port {}", u.data.len(), u.sender.port),
///         other => format!("{other:?}"),
///     }
/// }
///
/// let owned = OwnedMessage::from(Message::Unknown { cmd: 99 });
/// let moved = std::thread::spawn(move || show(owned.message())).join().unwrap();
/// assert_eq!(moved, "Unknown { cmd: 99 }");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnedMessage {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct OwnedSender {
    port: u32,
    id: u64,
    service: Option<String>,
    uid: u32,
    gid: u32,
    pid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Kind {
    Unicast {
        sender: OwnedSender,
        service: Option<String>,
        data: Vec<u8>,
    },
    Group {
        group: String,
        sender: OwnedSender,
        retained: bool,
        data: Vec<u8>,
    },
    Event {
        kind: EventKind,
        port: u32,
        id: u64,
        uid: u32,
        gid: u32,
        name: Option<String>,
    },
    Lost {
        group: Option<String>,
        count: u32,
    },
    Unknown {
        cmd: u8,
    },
}

impl OwnedSender {
    fn new(s: &Sender<'_>) -> Self {
        OwnedSender {
            port: s.port,
            id: s.id,
            service: s.service.map(String::from),
            uid: s.uid,
            gid: s.gid,
            pid: s.pid,
        }
    }

    fn view(&self) -> Sender<'_> {
        Sender {
            port: self.port,
            id: self.id,
            service: self.service.as_deref(),
            uid: self.uid,
            gid: self.gid,
            pid: self.pid,
        }
    }
}

impl OwnedMessage {
    /// The message, as the view [`Peer::recv`](crate::Peer::recv) returns.
    pub fn message(&self) -> Message<'_> {
        match &self.kind {
            Kind::Unicast {
                sender,
                service,
                data,
            } => Message::Unicast(Unicast {
                sender: sender.view(),
                service: service.as_deref(),
                data,
            }),
            Kind::Group {
                group,
                sender,
                retained,
                data,
            } => Message::Group(GroupMessage {
                group,
                sender: sender.view(),
                retained: *retained,
                data,
            }),
            Kind::Event {
                kind,
                port,
                id,
                uid,
                gid,
                name,
            } => Message::Event(Event {
                kind: *kind,
                port: *port,
                id: *id,
                uid: *uid,
                gid: *gid,
                name: name.as_deref(),
            }),
            Kind::Lost { group, count } => Message::Lost(Lost {
                group: group.as_deref(),
                count: *count,
            }),
            Kind::Unknown { cmd } => Message::Unknown { cmd: *cmd },
        }
    }
}

impl From<Message<'_>> for OwnedMessage {
    /// Copy the strings and the payload.
    fn from(m: Message<'_>) -> Self {
        let kind = match m {
            Message::Unicast(u) => Kind::Unicast {
                sender: OwnedSender::new(&u.sender),
                service: u.service.map(String::from),
                data: u.data.to_vec(),
            },
            Message::Group(g) => Kind::Group {
                group: g.group.into(),
                sender: OwnedSender::new(&g.sender),
                retained: g.retained,
                data: g.data.to_vec(),
            },
            Message::Event(e) => Kind::Event {
                kind: e.kind,
                port: e.port,
                id: e.id,
                uid: e.uid,
                gid: e.gid,
                name: e.name.map(String::from),
            },
            Message::Lost(l) => Kind::Lost {
                group: l.group.map(String::from),
                count: l.count,
            },
            Message::Unknown { cmd } => Kind::Unknown { cmd },
        };
        OwnedMessage { kind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_the_owned_form() {
        let sender = Sender {
            port: 1,
            id: 2,
            service: Some("a.b"),
            uid: 3,
            gid: 4,
            pid: 5,
        };
        let all = [
            Message::Unicast(Unicast {
                sender,
                service: Some("c.d"),
                data: b"hello",
            }),
            Message::Group(GroupMessage {
                group: "g",
                sender,
                retained: true,
                data: b"",
            }),
            Message::Event(Event {
                kind: EventKind::Unknown(77),
                port: 9,
                id: 10,
                uid: 11,
                gid: 12,
                name: None,
            }),
            Message::Lost(Lost {
                group: Some("g"),
                count: 3,
            }),
            Message::Unknown { cmd: 200 },
        ];
        for m in all {
            assert_eq!(OwnedMessage::from(m).message(), m);
        }
    }
}
