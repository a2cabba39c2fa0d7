// SPDX-License-Identifier: MIT OR Apache-2.0
//! The netlink message header (`struct nlmsghdr`) and netlink constants.

use super::{align, get_u16, get_u32};
use crate::{Error, ProtocolError};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;

/// Message type: no operation, to be ignored.
pub const NLMSG_NOOP: u16 = 1;
/// Message type: error or acknowledgement (`struct nlmsgerr`).
pub const NLMSG_ERROR: u16 = 2;
/// Message type: end of a multipart (dump) reply.
pub const NLMSG_DONE: u16 = 3;
/// Message type: data lost (unused by Linux).
pub const NLMSG_OVERRUN: u16 = 4;

/// Flag: this is a request.
pub const NLM_F_REQUEST: u16 = 0x1;
/// Flag: part of a multipart reply, terminated by [`NLMSG_DONE`].
pub const NLM_F_MULTI: u16 = 0x2;
/// Flag: request an acknowledgement.
pub const NLM_F_ACK: u16 = 0x4;
/// Flag on a dump message: the dumped data changed while the dump was
/// being built; what was received may be inconsistent (read it again).
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// Flag: dump request (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;

/// A checked view of one netlink message: the header is present and
/// `nlmsg_len` lies between the header size and the end of the buffer.
#[derive(Debug, Clone, Copy)]
pub struct NlMsg<'a> {
    buf: &'a [u8],
}

impl<'a> NlMsg<'a> {
    /// Check the header at the start of `buf` and return a view of exactly
    /// `nlmsg_len` bytes.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, ProtocolError> {
        let len = get_u32(buf, 0).ok_or(ProtocolError::TruncatedHeader)? as usize;
        if buf.len() < NLMSG_HDRLEN {
            return Err(ProtocolError::TruncatedHeader);
        }
        if len < NLMSG_HDRLEN {
            return Err(ProtocolError::BadLength);
        }
        if len > buf.len() {
            return Err(ProtocolError::BadLength);
        }
        Ok(NlMsg { buf: &buf[..len] })
    }

    /// `nlmsg_len`: the length of the message including the header.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Always false: a message contains at least its header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// `nlmsg_type`.
    pub fn kind(&self) -> u16 {
        get_u16(self.buf, 4).unwrap_or(0)
    }

    /// `nlmsg_flags`.
    pub fn flags(&self) -> u16 {
        get_u16(self.buf, 6).unwrap_or(0)
    }

    /// `nlmsg_seq`.
    pub fn seq(&self) -> u32 {
        get_u32(self.buf, 8).unwrap_or(0)
    }

    /// `nlmsg_pid`: the port the message was addressed to (or sent from).
    pub fn port(&self) -> u32 {
        get_u32(self.buf, 12).unwrap_or(0)
    }

    /// The bytes after the header.
    pub fn payload(&self) -> &'a [u8] {
        &self.buf[NLMSG_HDRLEN..]
    }

    /// For an [`NLMSG_ERROR`] or [`NLMSG_DONE`] message: the error code
    /// (0 for an acknowledgement, a negative errno otherwise).
    pub fn error_code(&self) -> Result<i32, ProtocolError> {
        get_u32(self.payload(), 0)
            .map(|v| v as i32)
            .ok_or(ProtocolError::TruncatedHeader)
    }
}

/// Iterator over the netlink messages of one datagram. Yields an error for
/// a malformed header and then stops.
#[derive(Debug, Clone)]
pub struct NlMsgIter<'a> {
    buf: &'a [u8],
}

impl<'a> NlMsgIter<'a> {
    /// Iterate over the messages in `buf` (the bytes of one datagram).
    pub fn new(buf: &'a [u8]) -> Self {
        NlMsgIter { buf }
    }
}

impl<'a> Iterator for NlMsgIter<'a> {
    type Item = Result<NlMsg<'a>, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty() {
            return None;
        }
        match NlMsg::new_checked(self.buf) {
            Ok(msg) => {
                let next = align(msg.len()).min(self.buf.len());
                self.buf = &self.buf[next..];
                Some(Ok(msg))
            }
            Err(e) => {
                self.buf = &[];
                Some(Err(e))
            }
        }
    }
}

/// Write a netlink header into the first [`NLMSG_HDRLEN`] bytes of `buf`.
pub fn write_header(
    buf: &mut [u8],
    len: u32,
    kind: u16,
    flags: u16,
    seq: u32,
    port: u32,
) -> Result<(), Error> {
    let hdr = buf.get_mut(..NLMSG_HDRLEN).ok_or(Error::BufferTooSmall)?;
    hdr[0..4].copy_from_slice(&len.to_ne_bytes());
    hdr[4..6].copy_from_slice(&kind.to_ne_bytes());
    hdr[6..8].copy_from_slice(&flags.to_ne_bytes());
    hdr[8..12].copy_from_slice(&seq.to_ne_bytes());
    hdr[12..16].copy_from_slice(&port.to_ne_bytes());
    Ok(())
}
