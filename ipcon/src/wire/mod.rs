// SPDX-License-Identifier: MIT OR Apache-2.0
//! Pure codec for the ipcon wire format: no system calls, no allocation.
//!
//! Every parser here works on untrusted bytes and returns
//! [`Error::Protocol`](crate::Error::Protocol) on malformed input; none of
//! them panics, whatever the input (a fuzz test feeds them random bytes).
//!
//! * [`netlink`]: the `nlmsghdr` view and netlink constants,
//! * [`attr`]: the attribute iterator and typed getters,
//! * [`genl`]: the genetlink header and the nlctrl family lookup,
//! * [`builder`]: building requests into a caller buffer,
//! * [`message`]: parsing deliveries into [`Message`](crate::Message) views,
//! * [`policy`]: the policy request and the policy dump.

pub mod attr;
pub mod builder;
pub mod genl;
pub mod message;
pub mod netlink;
pub mod policy;

/// Round `len` up to the 4-byte netlink alignment.
#[inline]
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// Read a host-endian `u16` at `at`, if the bytes are there.
#[inline]
pub(crate) fn get_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([b[0], b[1]]))
}

/// Read a host-endian `u32` at `at`, if the bytes are there.
#[inline]
pub(crate) fn get_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod abi_tests;
#[cfg(test)]
mod prop_tests;
#[cfg(test)]
mod tests;
