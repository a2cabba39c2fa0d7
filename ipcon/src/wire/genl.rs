// SPDX-License-Identifier: MIT OR Apache-2.0
//! The generic netlink header (`struct genlmsghdr`) and nlctrl constants.

use super::attr::AttrIter;
use super::netlink::NlMsg;
use crate::ProtocolError;

/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Family id of the generic netlink controller, nlctrl.
pub const GENL_ID_CTRL: u16 = 0x10;
/// nlctrl command: a family description (the reply to [`CTRL_CMD_GETFAMILY`]).
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
/// nlctrl command: look a family up.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// nlctrl version sent in requests.
pub const CTRL_VERSION: u8 = 2;
/// nlctrl attribute: `u16` family id.
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// nlctrl attribute: family name string.
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// A checked view of a generic netlink message: the netlink header plus a
/// complete genetlink header.
#[derive(Debug, Clone, Copy)]
pub struct GenlMsg<'a> {
    nl: NlMsg<'a>,
}

impl<'a> GenlMsg<'a> {
    /// Check that `nl` has room for the genetlink header.
    pub fn new_checked(nl: NlMsg<'a>) -> Result<Self, ProtocolError> {
        if nl.payload().len() < GENL_HDRLEN {
            return Err(ProtocolError::TruncatedHeader);
        }
        Ok(GenlMsg { nl })
    }

    /// The netlink message.
    pub fn netlink(&self) -> NlMsg<'a> {
        self.nl
    }

    /// The genetlink command.
    pub fn cmd(&self) -> u8 {
        self.nl.payload()[0]
    }

    /// The genetlink version.
    pub fn version(&self) -> u8 {
        self.nl.payload()[1]
    }

    /// The attribute bytes after the genetlink header.
    pub fn attrs(&self) -> &'a [u8] {
        &self.nl.payload()[GENL_HDRLEN..]
    }

    /// Iterate over the attributes.
    pub fn attr_iter(&self) -> AttrIter<'a> {
        AttrIter::new(self.attrs())
    }
}

/// Offset of the attributes from the start of a netlink message.
pub const ATTRS_OFFSET: usize = super::netlink::NLMSG_HDRLEN + GENL_HDRLEN;

/// Extract the family id from an nlctrl `CTRL_CMD_NEWFAMILY` reply.
pub fn parse_family_id(msg: GenlMsg<'_>) -> Result<u16, ProtocolError> {
    if msg.netlink().kind() != GENL_ID_CTRL || msg.cmd() != CTRL_CMD_NEWFAMILY {
        return Err(ProtocolError::UnexpectedMessage);
    }
    match AttrIter::find(msg.attrs(), CTRL_ATTR_FAMILY_ID)? {
        Some(attr) => attr.u16(),
        None => Err(ProtocolError::MissingAttribute),
    }
}
