// SPDX-License-Identifier: MIT OR Apache-2.0
//! Raw NETLINK_GENERIC sockets and a strict reader of what the kernel
//! sends back. Independent of the ipcon crate on purpose: the fuzzer must
//! be able to send anything, and must judge the kernel's bytes itself.

use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{
    bind, getsockname, recvfrom, sendto, socket_with, sockopt, AddressFamily, RecvFlags, SendFlags,
    SocketFlags, SocketType,
};

pub const NLMSG_HDRLEN: usize = 16;
pub const GENL_HDRLEN: usize = 4;
pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;
pub const NLM_F_REQUEST: u16 = 1;
pub const NLM_F_MULTI: u16 = 2;
pub const NLM_F_ACK: u16 = 4;
pub const NLM_F_ECHO: u16 = 8;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLA_F_NESTED: u16 = 1 << 15;
pub const GENL_ID_CTRL: u16 = 0x10;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_CMD_GETPOLICY: u8 = 10;
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
pub const CTRL_ATTR_OP: u16 = 10;

/// The largest datagram the fuzzer reads whole: an error ack echoes the
/// request, and the fuzzer sends requests of up to about 100 KiB.
pub const RECV_MAX: usize = 256 * 1024;

/// A raw generic netlink socket bound to a port the kernel picked.
pub struct Sock {
    fd: OwnedFd,
    pub port: u32,
}

/// What one receive got.
pub enum Recv {
    /// A datagram: `len` bytes in the buffer, `full` its real size, `src`
    /// the sender's port (0: the kernel).
    Datagram { len: usize, full: usize, src: u32 },
    /// Nothing within the wait.
    Empty,
    /// The socket overran (a delivery or an ack was dropped: ENOBUFS).
    Overrun,
}

impl Sock {
    /// A new socket, bound (port chosen by the kernel).
    pub fn open() -> Result<Sock, Errno> {
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(netlink::GENERIC),
        )?;
        bind(&fd, &SocketAddrNetlink::new(0, 0))?;
        let addr = getsockname(&fd)?;
        let port = SocketAddrNetlink::try_from(addr)
            .map_err(|_| Errno::AFNOSUPPORT)?
            .pid();
        Ok(Sock { fd, port })
    }

    /// Size the receive queue (bytes; the kernel doubles and caps it).
    pub fn set_rcvbuf(&self, bytes: usize) {
        // Best effort: a smaller queue only means more overruns.
        let _ = sockopt::set_socket_recv_buffer_size(&self.fd, bytes);
    }

    /// Send one datagram to the kernel (port 0): never to another port,
    /// so every datagram a fuzzer socket receives from a non-zero port
    /// is a finding.
    pub fn send(&self, bytes: &[u8]) -> Result<(), Errno> {
        sendto(
            &self.fd,
            bytes,
            SendFlags::empty(),
            &SocketAddrNetlink::new(0, 0),
        )
        .map(|_| ())
    }

    /// Receive one datagram into `buf`, waiting at most `wait`.
    pub fn recv(&self, buf: &mut [u8], wait: Duration) -> Result<Recv, Errno> {
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let t = Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: wait.subsec_nanos() as _,
        };
        match poll(&mut fds, Some(&t)) {
            Ok(0) => return Ok(Recv::Empty),
            Ok(_) => {}
            Err(Errno::INTR) => return Ok(Recv::Empty),
            Err(e) => return Err(e),
        }
        match recvfrom(&self.fd, &mut *buf, RecvFlags::TRUNC | RecvFlags::DONTWAIT) {
            Ok((len, full, addr)) => {
                let src = addr
                    .and_then(|a| SocketAddrNetlink::try_from(a).ok())
                    .map_or(0, |a| a.pid());
                Ok(Recv::Datagram { len, full, src })
            }
            Err(Errno::NOBUFS) => Ok(Recv::Overrun),
            Err(Errno::AGAIN) | Err(Errno::INTR) => Ok(Recv::Empty),
            Err(e) => Err(e),
        }
    }
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Append one attribute (header, value, padding to 4 bytes).
pub fn attr(buf: &mut Vec<u8>, ty: u16, val: &[u8]) {
    let len = (4 + val.len()).min(usize::from(u16::MAX)) as u16;
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(val);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

/// A whole netlink message: header, genetlink header, attributes.
pub fn message(
    ty: u16,
    flags: u16,
    seq: u32,
    port: u32,
    cmd: u8,
    version: u8,
    attrs: &[u8],
) -> Vec<u8> {
    let len = NLMSG_HDRLEN + GENL_HDRLEN + attrs.len();
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&ty.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&port.to_ne_bytes());
    m.extend_from_slice(&[cmd, version, 0, 0]);
    m.extend_from_slice(attrs);
    m
}

/// The sequence number of a message we built (0 if it is too short).
pub fn seq_of(msg: &[u8]) -> u32 {
    if msg.len() >= 12 {
        u32_at(msg, 8)
    } else {
        0
    }
}

/// One netlink message of a datagram from the kernel.
pub struct Msg<'a> {
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    /// Everything after the netlink header.
    pub body: &'a [u8],
}

impl Msg<'_> {
    /// The errno of an NLMSG_ERROR or NLMSG_DONE (positive; 0 = success).
    pub fn errno(&self) -> Option<i32> {
        if (self.ty == NLMSG_ERROR || self.ty == NLMSG_DONE) && self.body.len() >= 4 {
            Some(-(u32_at(self.body, 0) as i32))
        } else {
            None
        }
    }

    /// The genetlink command, for a message of a genetlink family.
    pub fn cmd(&self) -> u8 {
        self.body.first().copied().unwrap_or(0)
    }

    /// The attributes of a genetlink message: (type without flags, value).
    pub fn attrs(&self) -> Attrs<'_> {
        Attrs {
            b: self.body.get(GENL_HDRLEN..).unwrap_or(&[]),
            off: 0,
        }
    }
}

/// Iterator over attributes already checked by [`check_datagram`].
pub struct Attrs<'a> {
    b: &'a [u8],
    off: usize,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (u16, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        if self.off + 4 > self.b.len() {
            return None;
        }
        let len = usize::from(u16_at(self.b, self.off));
        let ty = u16_at(self.b, self.off + 2) & !(NLA_F_NESTED | 0x4000);
        if len < 4 || self.off + len > self.b.len() {
            return None;
        }
        let val = &self.b[self.off + 4..self.off + len];
        self.off += (len + 3) & !3;
        Some((ty, val))
    }
}

/// Check that attributes fill `b` exactly: each at least a header, none
/// past the end, padding to 4 bytes between them.
fn check_attrs(b: &[u8]) -> Result<(), String> {
    let mut off = 0;
    while off < b.len() {
        if off + 4 > b.len() {
            return Err(format!(
                "{} stray bytes after the attributes",
                b.len() - off
            ));
        }
        let len = usize::from(u16_at(b, off));
        if len < 4 || off + len > b.len() {
            return Err(format!(
                "attribute type {} claims {len} bytes at offset {off} of {}",
                u16_at(b, off + 2),
                b.len()
            ));
        }
        off += (len + 3) & !3;
    }
    Ok(())
}

/// Split a datagram from the kernel into messages, checking the framing:
/// every message is whole, aligned and at least a header; every message of
/// `family` (the ipcon family) has a genetlink header and attributes that
/// fill it exactly. Errors and acks are only checked for their header
/// (they echo our own, possibly malformed, request).
pub fn check_datagram(d: &[u8], family: u16) -> Result<Vec<Msg<'_>>, String> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < d.len() {
        if off + NLMSG_HDRLEN > d.len() {
            return Err(format!("{} stray bytes at the end", d.len() - off));
        }
        let len = u32_at(d, off) as usize;
        if len < NLMSG_HDRLEN || off + len > d.len() {
            return Err(format!(
                "nlmsg_len {len} at offset {off} of a {}-byte datagram",
                d.len()
            ));
        }
        let m = Msg {
            ty: u16_at(d, off + 4),
            flags: u16_at(d, off + 6),
            seq: u32_at(d, off + 8),
            body: &d[off + NLMSG_HDRLEN..off + len],
        };
        match m.ty {
            NLMSG_ERROR if m.body.len() < 4 + NLMSG_HDRLEN => {
                return Err(format!("NLMSG_ERROR of {len} bytes"));
            }
            NLMSG_DONE if m.body.len() < 4 => return Err(format!("NLMSG_DONE of {len} bytes")),
            t if t == family => {
                if m.body.len() < GENL_HDRLEN {
                    return Err(format!("ipcon message of {len} bytes"));
                }
                check_attrs(&m.body[GENL_HDRLEN..])
                    .map_err(|e| format!("ipcon command {}: {e}", m.cmd()))?;
            }
            _ => {}
        }
        out.push(m);
        off += (len + 3) & !3;
    }
    Ok(out)
}

/// Resolve the IPCON family through nlctrl on `s`.
pub fn resolve_family(s: &Sock) -> Result<u16, String> {
    let mut a = Vec::new();
    attr(&mut a, CTRL_ATTR_FAMILY_NAME, b"IPCON\0");
    let req = message(GENL_ID_CTRL, NLM_F_REQUEST, 1, 0, CTRL_CMD_GETFAMILY, 2, &a);
    s.send(&req).map_err(|e| format!("nlctrl request: {e}"))?;
    let mut buf = vec![0u8; 16384];
    loop {
        match s.recv(&mut buf, Duration::from_secs(30)) {
            Ok(Recv::Datagram { len, .. }) => {
                let msgs = check_datagram(&buf[..len], GENL_ID_CTRL)?;
                for m in msgs {
                    if let Some(e) = m.errno() {
                        return Err(format!("resolving IPCON: errno {e} (module not loaded?)"));
                    }
                    if m.ty == GENL_ID_CTRL {
                        for (ty, v) in m.attrs() {
                            if ty == CTRL_ATTR_FAMILY_ID && v.len() >= 2 {
                                return Ok(u16_at(v, 0));
                            }
                        }
                    }
                }
            }
            Ok(Recv::Overrun) => {}
            Ok(Recv::Empty) => return Err("nlctrl did not answer within 30 s".into()),
            Err(e) => return Err(format!("nlctrl recv: {e}")),
        }
    }
}

/// A u32 attribute value, if it has the size of one.
pub fn as_u32(v: &[u8]) -> Option<u32> {
    v.try_into().ok().map(u32::from_ne_bytes)
}

/// A u64 attribute value, if it has the size of one.
pub fn as_u64(v: &[u8]) -> Option<u64> {
    v.try_into().ok().map(u64::from_ne_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_checks() {
        let mut a = Vec::new();
        attr(&mut a, 2, b"abc\0");
        let m = message(30, 0, 0, 0, 16, 1, &a);
        let msgs = check_datagram(&m, 30).unwrap();
        assert_eq!(msgs.len(), 1);
        let got: Vec<_> = msgs[0].attrs().collect();
        assert_eq!(got, vec![(2, &b"abc\0"[..])]);
        // An attribute that claims more than the message holds.
        let mut bad = m.clone();
        bad[20] = 40;
        assert!(check_datagram(&bad, 30).is_err());
        // A message longer than the datagram.
        let mut bad = m.clone();
        bad[0] += 4;
        assert!(check_datagram(&bad, 30).is_err());
        // Two messages in one datagram.
        let mut two = m.clone();
        two.extend_from_slice(&m);
        assert_eq!(check_datagram(&two, 30).unwrap().len(), 2);
    }

    #[test]
    fn u64_values_round_trip() {
        let v = 0x1122_3344_5566_7788u64.to_ne_bytes();
        assert_eq!(as_u64(&v), Some(0x1122_3344_5566_7788));
        assert_eq!(as_u32(&7u32.to_ne_bytes()), Some(7));
        assert_eq!(as_u32(&[1, 2]), None);
    }
}
