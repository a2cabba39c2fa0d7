// SPDX-License-Identifier: MIT OR Apache-2.0
//! Building netlink / genetlink requests into a caller-provided buffer.
//!
//! Every write is bounds-checked and returns
//! [`Error::BufferTooSmall`] on overflow.
//! Payload data can either be copied in with [`Builder::data`], or (as
//! [`Peer`](crate::Peer) does, for zero-copy sends) left out of the buffer
//! and passed as separate I/O slices: [`Builder::finish_with_trailer`]
//! accounts for it in `nlmsg_len`, [`data_attr_header`] gives each chunk's
//! attribute header, and [`data_padding`] the padding after the last chunk.

use super::align;
use super::attr::{NLA_F_NESTED, NLA_HDRLEN};
use super::genl::GENL_HDRLEN;
use super::netlink::{write_header, NLMSG_HDRLEN};
use crate::uapi::{IPCON_A_DATA, IPCON_A_PAD, IPCON_CHUNK_MAX};
use crate::Error;

/// An open nested attribute (from [`Builder::nest_start`]), to be closed
/// with [`Builder::nest_end`].
#[derive(Debug)]
#[must_use = "a nested attribute must be closed with Builder::nest_end"]
pub struct Nest {
    start: usize,
}

/// A netlink message under construction in a byte buffer.
#[derive(Debug)]
pub struct Builder<'a> {
    buf: &'a mut [u8],
    len: usize,
    kind: u16,
    flags: u16,
    seq: u32,
}

impl<'a> Builder<'a> {
    /// Start a message of type `kind` with a netlink header (its length is
    /// filled in by [`finish`](Self::finish)).
    pub fn new(buf: &'a mut [u8], kind: u16, flags: u16, seq: u32) -> Result<Self, Error> {
        write_header(buf, 0, kind, flags, seq, 0)?;
        Ok(Builder {
            buf,
            len: NLMSG_HDRLEN,
            kind,
            flags,
            seq,
        })
    }

    /// Start a generic netlink message: netlink header then genetlink header.
    pub fn genl(
        buf: &'a mut [u8],
        family: u16,
        flags: u16,
        seq: u32,
        cmd: u8,
        version: u8,
    ) -> Result<Self, Error> {
        let mut b = Builder::new(buf, family, flags, seq)?;
        b.put(&[cmd, version, 0, 0])?;
        debug_assert_eq!(b.len, NLMSG_HDRLEN + GENL_HDRLEN);
        Ok(b)
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written (never true: the header is always there).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(Error::BufferTooSmall)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn pad(&mut self) -> Result<(), Error> {
        let n = align(self.len) - self.len;
        self.put(&[0u8; 3][..n])
    }

    fn attr_parts(&mut self, kind: u16, parts: &[&[u8]]) -> Result<(), Error> {
        let payload: usize = parts.iter().map(|p| p.len()).sum();
        let len = u16::try_from(NLA_HDRLEN + payload).map_err(|_| Error::BufferTooSmall)?;
        self.put(&len.to_ne_bytes())?;
        self.put(&kind.to_ne_bytes())?;
        for part in parts {
            self.put(part)?;
        }
        self.pad()
    }

    /// Append an attribute with a raw payload (at most 65531 bytes).
    pub fn attr(&mut self, kind: u16, payload: &[u8]) -> Result<(), Error> {
        self.attr_parts(kind, &[payload])
    }

    /// Append a `u16` attribute.
    pub fn attr_u16(&mut self, kind: u16, value: u16) -> Result<(), Error> {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// Append a `u32` attribute.
    pub fn attr_u32(&mut self, kind: u16, value: u32) -> Result<(), Error> {
        self.attr(kind, &value.to_ne_bytes())
    }

    /// Append a `u64` attribute, preceded by an empty [`IPCON_A_PAD`]
    /// attribute when needed so that the value is 8-byte aligned relative
    /// to the start of the message (as the kernel's `nla_put_u64_64bit`).
    pub fn attr_u64(&mut self, kind: u16, value: u64) -> Result<(), Error> {
        if (self.len + NLA_HDRLEN) % 8 != 0 {
            self.attr(IPCON_A_PAD, &[])?;
        }
        self.attr(kind, &value.to_ne_bytes())
    }

    /// Append a NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, value: &str) -> Result<(), Error> {
        self.attr_parts(kind, &[value.as_bytes(), &[0]])
    }

    /// Open a nested attribute of type `kind` (sent with [`NLA_F_NESTED`]):
    /// the attributes appended until [`nest_end`](Self::nest_end) are its
    /// payload (see the `nest_*` unit tests).
    pub fn nest_start(&mut self, kind: u16) -> Result<Nest, Error> {
        let start = self.len;
        // The length is written by nest_end.
        self.put(&[0, 0])?;
        self.put(&(kind | NLA_F_NESTED).to_ne_bytes())?;
        Ok(Nest { start })
    }

    /// Close a nested attribute opened with [`nest_start`](Self::nest_start):
    /// write its length. Fails with [`Error::BufferTooSmall`] if the nest
    /// grew beyond the 65535 bytes an attribute can hold.
    pub fn nest_end(&mut self, nest: Nest) -> Result<(), Error> {
        let len = self
            .len
            .checked_sub(nest.start)
            .ok_or(Error::BufferTooSmall)?;
        let len = u16::try_from(len).map_err(|_| Error::BufferTooSmall)?;
        self.buf
            .get_mut(nest.start..nest.start + 2)
            .ok_or(Error::BufferTooSmall)?
            .copy_from_slice(&len.to_ne_bytes());
        Ok(())
    }

    /// Append `payload` as [`IPCON_A_DATA`] chunks of at most
    /// [`IPCON_CHUNK_MAX`] bytes (copying; no attribute for an empty payload).
    pub fn data(&mut self, payload: &[u8]) -> Result<(), Error> {
        for chunk in payload.chunks(IPCON_CHUNK_MAX) {
            self.attr(IPCON_A_DATA, chunk)?;
        }
        Ok(())
    }

    /// Write `nlmsg_len` and return the message.
    pub fn finish(self) -> Result<&'a [u8], Error> {
        self.finish_with_trailer(0)
    }

    /// Write `nlmsg_len` as the built length plus `trailer` bytes that the
    /// caller sends after the returned header bytes (see [`data_len`]).
    pub fn finish_with_trailer(self, trailer: usize) -> Result<&'a [u8], Error> {
        let total = self
            .len
            .checked_add(trailer)
            .ok_or(Error::PayloadTooLarge)?;
        let total = u32::try_from(total).map_err(|_| Error::PayloadTooLarge)?;
        write_header(self.buf, total, self.kind, self.flags, self.seq, 0)?;
        Ok(&self.buf[..self.len])
    }
}

/// Bytes taken on the wire by `payload_len` bytes of payload split into
/// [`IPCON_A_DATA`] chunks: attribute headers, data and final padding.
pub const fn data_len(payload_len: usize) -> usize {
    let chunks = payload_len.div_ceil(IPCON_CHUNK_MAX);
    chunks * NLA_HDRLEN + align(payload_len)
}

/// Attribute header for a data chunk of `chunk_len` (≤ [`IPCON_CHUNK_MAX`]) bytes.
pub fn data_attr_header(chunk_len: usize) -> [u8; NLA_HDRLEN] {
    let len = (NLA_HDRLEN + chunk_len.min(IPCON_CHUNK_MAX)) as u16;
    let mut h = [0u8; NLA_HDRLEN];
    h[..2].copy_from_slice(&len.to_ne_bytes());
    h[2..].copy_from_slice(&IPCON_A_DATA.to_ne_bytes());
    h
}

/// Zero padding to send after the last data chunk of a `payload_len`-byte payload.
pub fn data_padding(payload_len: usize) -> &'static [u8] {
    &[0u8; 3][..align(payload_len) - payload_len]
}

/// Most [`IPCON_A_DATA`] chunks in one message.
pub const MAX_CHUNKS: usize = crate::uapi::IPCON_PAYLOAD_MAX.div_ceil(IPCON_CHUNK_MAX);
/// Most parts returned by [`gather`]: header, two per chunk, padding.
pub const MAX_PARTS: usize = 2 + 2 * MAX_CHUNKS;

/// The attribute headers of the chunks of `payload` (at most
/// [`IPCON_PAYLOAD_MAX`](crate::uapi::IPCON_PAYLOAD_MAX) bytes; longer
/// payloads get headers for their first [`MAX_CHUNKS`] chunks only).
pub fn data_headers(payload: &[u8]) -> [[u8; NLA_HDRLEN]; MAX_CHUNKS] {
    let mut hdrs = [[0u8; NLA_HDRLEN]; MAX_CHUNKS];
    for (h, chunk) in hdrs.iter_mut().zip(payload.chunks(IPCON_CHUNK_MAX)) {
        *h = data_attr_header(chunk.len());
    }
    hdrs
}

/// The slices that, sent in order as one datagram, form the message whose
/// fixed part is `head` (from [`Builder::finish_with_trailer`] with
/// [`data_len`]`(payload.len())`) followed by `payload` in chunks: `head`,
/// then per chunk its attribute header and the payload bytes (not copied),
/// then the final padding. Returns the parts and how many are used.
pub fn gather<'a>(
    head: &'a [u8],
    hdrs: &'a [[u8; NLA_HDRLEN]; MAX_CHUNKS],
    payload: &'a [u8],
) -> ([&'a [u8]; MAX_PARTS], usize) {
    let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
    parts[0] = head;
    let mut n = 1;
    for (h, chunk) in hdrs.iter().zip(payload.chunks(IPCON_CHUNK_MAX)) {
        parts[n] = h;
        parts[n + 1] = chunk;
        n += 2;
    }
    parts[n] = data_padding(payload.len());
    (parts, n + 1)
}
