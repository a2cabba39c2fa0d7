// SPDX-License-Identifier: MIT OR Apache-2.0
//! `defmt::Format` for the types that cannot derive it.

use crate::{Error, Name, RecvError};

impl defmt::Format for Error {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Error::Truncated { len } => defmt::write!(f, "Truncated {{ len: {} }}", len),
            Error::Protocol(why) => defmt::write!(f, "Protocol({})", why),
            Error::Recv(e) => defmt::write!(f, "Recv({})", e),
            Error::Kernel(e) => defmt::write!(f, "Kernel(errno {})", e.raw_os_error()),
            Error::Io(e) => defmt::write!(f, "Io(errno {})", e.raw_os_error()),
            Error::NotLoaded => defmt::write!(f, "NotLoaded"),
            Error::InvalidName => defmt::write!(f, "InvalidName"),
            Error::PayloadTooLarge => defmt::write!(f, "PayloadTooLarge"),
            Error::NameTaken => defmt::write!(f, "NameTaken"),
            Error::NoSuchService => defmt::write!(f, "NoSuchService"),
            Error::NoSuchGroup => defmt::write!(f, "NoSuchGroup"),
            Error::NotOwner => defmt::write!(f, "NotOwner"),
            Error::Denied => defmt::write!(f, "Denied"),
            Error::LimitReached => defmt::write!(f, "LimitReached"),
            Error::NotPermitted => defmt::write!(f, "NotPermitted"),
            Error::TooManyRules => defmt::write!(f, "TooManyRules"),
            Error::InvalidPattern => defmt::write!(f, "InvalidPattern"),
            Error::AlreadyMember => defmt::write!(f, "AlreadyMember"),
            Error::AlreadySubscribed => defmt::write!(f, "AlreadySubscribed"),
            Error::NotMember => defmt::write!(f, "NotMember"),
            Error::NotSubscribed => defmt::write!(f, "NotSubscribed"),
            Error::PeerGone => defmt::write!(f, "PeerGone"),
            Error::QueueFull => defmt::write!(f, "QueueFull"),
            Error::BufferTooSmall => defmt::write!(f, "BufferTooSmall"),
        }
    }
}

impl defmt::Format for RecvError {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            RecvError::WouldBlock => defmt::write!(f, "WouldBlock"),
            RecvError::TimedOut => defmt::write!(f, "TimedOut"),
            RecvError::Truncated { len } => defmt::write!(f, "Truncated {{ len: {} }}", len),
            RecvError::Protocol(why) => defmt::write!(f, "Protocol({})", why),
            RecvError::Io(e) => defmt::write!(f, "Io(errno {})", e.raw_os_error()),
        }
    }
}

impl defmt::Format for Name {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str())
    }
}
