// SPDX-License-Identifier: MIT OR Apache-2.0
//! Netlink attributes (`struct nlattr`): iterator and typed getters.

use super::{align, get_u16};
use crate::ProtocolError;

/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;
/// Attribute type flag: the payload is nested attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// Attribute type flag: the payload is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// Mask of the attribute type without the flags.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// One attribute: its type (flags masked off) and its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    kind: u16,
    offset: usize,
    payload: &'a [u8],
}

impl<'a> Attr<'a> {
    /// The attribute type, without [`NLA_F_NESTED`] / [`NLA_F_NET_BYTEORDER`].
    pub fn kind(&self) -> u16 {
        self.kind
    }

    /// The payload (without header and padding).
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Offset of the payload from the start of the buffer given to
    /// [`AttrIter::new`].
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The payload as a host-endian `u32`; it must be exactly 4 bytes.
    pub fn u32(&self) -> Result<u32, ProtocolError> {
        Self::u32_of(self.payload)
    }

    pub(crate) fn u32_of(payload: &[u8]) -> Result<u32, ProtocolError> {
        let b: [u8; 4] = payload
            .try_into()
            .map_err(|_| ProtocolError::AttributeLength)?;
        Ok(u32::from_ne_bytes(b))
    }

    /// The payload as a host-endian `u16`; it must be exactly 2 bytes.
    pub fn u16(&self) -> Result<u16, ProtocolError> {
        let b: [u8; 2] = self
            .payload
            .try_into()
            .map_err(|_| ProtocolError::AttributeLength)?;
        Ok(u16::from_ne_bytes(b))
    }

    /// The payload as a host-endian `u64`; it must be exactly 8 bytes
    /// (it need not be 8-byte aligned in the buffer).
    pub fn u64(&self) -> Result<u64, ProtocolError> {
        Self::u64_of(self.payload)
    }

    pub(crate) fn u64_of(payload: &[u8]) -> Result<u64, ProtocolError> {
        let b: [u8; 8] = payload
            .try_into()
            .map_err(|_| ProtocolError::AttributeLength)?;
        Ok(u64::from_ne_bytes(b))
    }

    /// The attributes nested in this one (for [`NLA_F_NESTED`] attributes
    /// such as [`IPCON_A_RULE`](crate::uapi::IPCON_A_RULE)).
    pub fn nested(&self) -> AttrIter<'a> {
        AttrIter::new(self.payload)
    }

    /// The payload as a NUL-terminated UTF-8 string (without the NUL).
    pub fn str(&self) -> Result<&'a str, ProtocolError> {
        str_of(self.payload)
    }
}

/// The NUL-terminated UTF-8 string at the start of `payload`.
pub(crate) fn str_of(payload: &[u8]) -> Result<&str, ProtocolError> {
    let nul = payload
        .iter()
        .position(|&b| b == 0)
        .ok_or(ProtocolError::BadString)?;
    core::str::from_utf8(&payload[..nul]).map_err(|_| ProtocolError::BadString)
}

/// Iterator over the attributes in a buffer. Yields an error (and then
/// stops) when an attribute header is truncated, its length is smaller than
/// the header, or it runs past the end of the buffer. Trailing bytes too
/// short for a header (padding) end the iteration silently.
#[derive(Debug, Clone)]
pub struct AttrIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> AttrIter<'a> {
    /// Iterate over the attributes in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        AttrIter { buf, pos: 0 }
    }

    /// Find the first attribute of type `kind`.
    pub fn find(buf: &'a [u8], kind: u16) -> Result<Option<Attr<'a>>, ProtocolError> {
        for attr in AttrIter::new(buf) {
            let attr = attr?;
            if attr.kind() == kind {
                return Ok(Some(attr));
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<Attr<'a>, ProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.len().saturating_sub(self.pos);
        if rest < NLA_HDRLEN {
            // Nothing left, or alignment padding only.
            self.pos = self.buf.len();
            return None;
        }
        let (len, kind) = match (get_u16(self.buf, self.pos), get_u16(self.buf, self.pos + 2)) {
            (Some(l), Some(k)) => (l as usize, k),
            _ => {
                self.pos = self.buf.len();
                return Some(Err(ProtocolError::BadAttribute));
            }
        };
        if len < NLA_HDRLEN {
            self.pos = self.buf.len();
            return Some(Err(ProtocolError::BadAttribute));
        }
        if len > rest {
            self.pos = self.buf.len();
            return Some(Err(ProtocolError::BadAttribute));
        }
        let start = self.pos + NLA_HDRLEN;
        let end = self.pos + len;
        let attr = Attr {
            kind: kind & NLA_TYPE_MASK,
            offset: start,
            payload: &self.buf[start..end],
        };
        self.pos = (self.pos + align(len)).min(self.buf.len());
        Some(Ok(attr))
    }
}
