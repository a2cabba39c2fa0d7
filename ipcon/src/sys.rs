// SPDX-License-Identifier: MIT OR Apache-2.0
//! The only module that makes system calls (through rustix, no `unsafe`).

use core::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::{Errno, IoSlice};
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{
    bind, getsockname, recvfrom, sendmsg_addr, socket_with, AddressFamily, RecvFlags,
    SendAncillaryBuffer, SendFlags, SocketFlags, SocketType,
};
use rustix::time::{clock_gettime, ClockId};

use crate::wire::builder::MAX_PARTS;
use crate::{Error, ProtocolError};

/// The kernel's netlink address (port 0).
const KERNEL: SocketAddrNetlink = SocketAddrNetlink::new(0, 0);

/// Open a `NETLINK_GENERIC` socket bound to a kernel-assigned port; returns
/// the socket and its port.
pub(crate) fn open_socket() -> Result<(OwnedFd, u32), Error> {
    let fd = socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(netlink::GENERIC),
    )
    .map_err(Error::Io)?;
    bind(&fd, &SocketAddrNetlink::new(0, 0)).map_err(Error::Io)?;
    let addr = getsockname(&fd).map_err(Error::Io)?;
    let addr = SocketAddrNetlink::try_from(addr).map_err(Error::Io)?;
    Ok((fd, addr.pid()))
}

/// Send one netlink message, gathered from `parts` (at most
/// [`MAX_PARTS`] slices, sent without copying), to the kernel.
pub(crate) fn send(fd: BorrowedFd<'_>, parts: &[&[u8]]) -> Result<(), Error> {
    let empty: &[u8] = &[];
    let mut slices = [IoSlice::new(empty); MAX_PARTS];
    if parts.len() > MAX_PARTS {
        return Err(Error::BufferTooSmall);
    }
    for (io, part) in slices.iter_mut().zip(parts) {
        *io = IoSlice::new(part);
    }
    let iov = &slices[..parts.len()];
    let total: usize = parts.iter().map(|p| p.len()).sum();
    loop {
        let mut control = SendAncillaryBuffer::default();
        match sendmsg_addr(fd, &KERNEL, iov, &mut control, SendFlags::empty()) {
            Ok(n) if n == total => return Ok(()),
            Ok(_) => return Err(Error::Protocol(ProtocolError::ShortSend)),
            Err(Errno::INTR) => continue,
            Err(e) => return Err(Error::Io(e)),
        }
    }
}

/// Result of one receive.
pub(crate) struct Received {
    /// Bytes stored in the buffer.
    pub len: usize,
    /// Length of the datagram (larger than `len` if it was truncated).
    pub full: usize,
    /// Netlink port of the sender (0 = the kernel); `u32::MAX` if unknown.
    pub src: u32,
}

/// Receive one datagram (with `MSG_TRUNC`, so the full length is reported).
/// Retries on `EINTR`; other errors, including `EAGAIN` and `ENOBUFS`, are
/// returned for the caller to decide.
pub(crate) fn recv(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    nonblocking: bool,
) -> Result<Received, Errno> {
    let mut flags = RecvFlags::TRUNC;
    if nonblocking {
        flags |= RecvFlags::DONTWAIT;
    }
    loop {
        match recvfrom(fd, &mut *buf, flags) {
            Ok((got, full, addr)) => {
                let src = addr
                    .and_then(|a| SocketAddrNetlink::try_from(a).ok())
                    .map_or(u32::MAX, |a| a.pid());
                return Ok(Received {
                    len: got,
                    full,
                    src,
                });
            }
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Wait until `fd` is readable or `timeout` passes. Returns `Ok(false)` on
/// timeout. An interrupted wait (`EINTR`) returns `Ok(true)`: the caller
/// then finds nothing to read and waits again with the remaining time.
pub(crate) fn wait_readable(fd: BorrowedFd<'_>, timeout: Duration) -> Result<bool, Errno> {
    let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
    match poll(&mut fds, Some(&timespec(timeout))) {
        Ok(0) => Ok(false),
        Ok(_) | Err(Errno::INTR) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Sleep for `d` (a poll with no descriptor; a signal may end it early).
pub(crate) fn pause(d: Duration) {
    let _ = poll(&mut [], Some(&timespec(d)));
}

/// `d` as a poll timeout.
fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: d.subsec_nanos().into(),
    }
}

/// Monotonic clock.
pub(crate) fn now() -> Duration {
    let ts = clock_gettime(ClockId::Monotonic);
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Set `SO_RCVBUF` (the kernel doubles it and caps it at `rmem_max`);
/// returns the size the kernel actually uses.
pub(crate) fn set_recv_buffer_size(fd: BorrowedFd<'_>, bytes: usize) -> Result<usize, Error> {
    rustix::net::sockopt::set_socket_recv_buffer_size(fd, bytes).map_err(Error::Io)?;
    rustix::net::sockopt::socket_recv_buffer_size(fd).map_err(Error::Io)
}
