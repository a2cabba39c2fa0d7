// SPDX-License-Identifier: MIT OR Apache-2.0
//! A raw genetlink socket for tests that must bypass the crate: malformed
//! requests straight to the family, spoofed messages, single-socket peers.
//! Independent of the crate's codec on purpose, so a codec bug cannot hide a
//! kernel bug.

use rustix::fd::OwnedFd;
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{
    bind, getsockname, recv, sendto, socket_with, AddressFamily, RecvFlags, SendFlags, SocketFlags,
    SocketType,
};

pub const NLM_F_REQUEST: u16 = 1;
pub const NLM_F_ACK: u16 = 4;
pub const NLM_F_DUMP: u16 = 0x300;
/// Set on nested attributes (strict netlink validation requires it).
pub const NLA_F_NESTED: u16 = 1 << 15;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// Linux errno values (identical on x86_64, arm and arm64).
pub mod errno {
    pub const EPERM: i32 = 1;
    pub const ENOENT: i32 = 2;
    pub const E2BIG: i32 = 7;
    pub const EACCES: i32 = 13;
    pub const EBUSY: i32 = 16;
    pub const EINVAL: i32 = 22;
    pub const ERANGE: i32 = 34;
    pub const EBADR: i32 = 53;
    pub const EMSGSIZE: i32 = 90;
    pub const EOPNOTSUPP: i32 = 95;
    pub const ENOBUFS: i32 = 105;
    pub const ENOTCONN: i32 = 107;
}

/// A raw NETLINK_GENERIC socket.
pub struct Raw {
    fd: OwnedFd,
    port: u32,
    seq: u32,
    /// The IPCON family id.
    pub family: u16,
}

/// Append one attribute (header, value, padding).
pub fn attr(buf: &mut Vec<u8>, ty: u16, val: &[u8]) {
    attr_len(buf, ty, val, (4 + val.len()) as u16);
}

/// Append an attribute whose header claims `len` (may lie).
pub fn attr_len(buf: &mut Vec<u8>, ty: u16, val: &[u8], len: u16) {
    buf.extend_from_slice(&len.to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(val);
    while buf.len() % 4 != 0 {
        buf.push(0);
    }
}

/// Append a nested attribute holding `inner` (already encoded attributes).
pub fn nest(buf: &mut Vec<u8>, ty: u16, inner: &[u8]) {
    attr(buf, ty | NLA_F_NESTED, inner);
}

/// One policy rule as an `IPCON_A_RULE` nest. Every part is optional so a
/// test can leave one out; `pattern` is sent as given (add the NUL).
pub fn policy_rule(
    action: Option<u32>,
    pattern: Option<&[u8]>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> Vec<u8> {
    use ipcon::uapi::*;
    let mut inner = Vec::new();
    if let Some(a) = action {
        attr(&mut inner, IPCON_RULE_A_ACTION, &a.to_ne_bytes());
    }
    if let Some(p) = pattern {
        attr(&mut inner, IPCON_RULE_A_PATTERN, p);
    }
    if let Some(u) = uid {
        attr(&mut inner, IPCON_RULE_A_UID, &u.to_ne_bytes());
    }
    if let Some(g) = gid {
        attr(&mut inner, IPCON_RULE_A_GID, &g.to_ne_bytes());
    }
    let mut out = Vec::new();
    nest(&mut out, IPCON_A_RULE, &inner);
    out
}

/// A NUL-terminated string value.
pub fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

impl Raw {
    /// Open, bind and resolve the IPCON family.
    pub fn open() -> Result<Raw, String> {
        Raw::open_at(0)
    }

    /// Like [`Raw::open`], bound to netlink port `port` (0: any free port).
    /// Any process may bind any free port id: that is what makes a freed
    /// port a takeover target.
    pub fn open_at(port: u32) -> Result<Raw, String> {
        let fd = socket_with(
            AddressFamily::NETLINK,
            SocketType::RAW,
            SocketFlags::CLOEXEC,
            Some(netlink::GENERIC),
        )
        .map_err(|e| format!("socket: {e}"))?;
        bind(&fd, &SocketAddrNetlink::new(port, 0)).map_err(|e| format!("bind {port}: {e}"))?;
        let addr = getsockname(&fd).map_err(|e| format!("getsockname: {e}"))?;
        let port = SocketAddrNetlink::try_from(addr)
            .map_err(|e| format!("getsockname: {e}"))?
            .pid();
        let mut raw = Raw {
            fd,
            port,
            seq: 1,
            family: 0,
        };
        let mut a = Vec::new();
        attr(&mut a, CTRL_ATTR_FAMILY_NAME, &cstr("IPCON"));
        let msg = raw.message(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, 2, &a);
        raw.send(&msg)?;
        let mut buf = vec![0u8; 8192];
        let n = raw.recv(&mut buf)?;
        let m = &buf[..n];
        let ty = u16::from_ne_bytes([m[4], m[5]]);
        if ty == NLMSG_ERROR {
            return Err(format!(
                "resolving IPCON: errno {}",
                -i32::from_ne_bytes(m[16..20].try_into().unwrap())
            ));
        }
        let mut off = 20;
        while off + 4 <= m.len() {
            let len = u16::from_ne_bytes([m[off], m[off + 1]]) as usize;
            let t = u16::from_ne_bytes([m[off + 2], m[off + 3]]);
            if len < 4 {
                break;
            }
            if t == CTRL_ATTR_FAMILY_ID {
                raw.family = u16::from_ne_bytes([m[off + 4], m[off + 5]]);
            }
            off += (len + 3) & !3;
        }
        if raw.family == 0 {
            return Err("no family id in the nlctrl reply".into());
        }
        Ok(raw)
    }

    /// This socket's port.
    pub fn port(&self) -> u32 {
        self.port
    }

    /// A whole netlink message: nlmsghdr, genlmsghdr, then `attrs`.
    pub fn message(
        &mut self,
        ty: u16,
        cmd: u8,
        flags_extra: u16,
        version: u8,
        attrs: &[u8],
    ) -> Vec<u8> {
        self.seq += 1;
        let len = 16 + 4 + attrs.len();
        let mut m = Vec::with_capacity(len);
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags_extra).to_ne_bytes());
        m.extend_from_slice(&self.seq.to_ne_bytes());
        m.extend_from_slice(&self.port.to_ne_bytes());
        m.extend_from_slice(&[cmd, version, 0, 0]);
        m.extend_from_slice(attrs);
        m
    }

    /// A request to the IPCON family.
    pub fn ipcon(&mut self, cmd: u8, attrs: &[u8]) -> Vec<u8> {
        let family = self.family;
        self.message(family, cmd, 0, 1, attrs)
    }

    /// A POLICY_SET request: `default` (raw attribute value, None to leave
    /// it out), then the `rules` (each from [`policy_rule`] or hand-made).
    pub fn policy_set(&mut self, default: Option<&[u8]>, rules: &[Vec<u8>]) -> Vec<u8> {
        use ipcon::uapi::*;
        let mut a = Vec::new();
        if let Some(d) = default {
            attr(&mut a, IPCON_A_POLICY_DEFAULT, d);
        }
        for r in rules {
            a.extend_from_slice(r);
        }
        self.ipcon(IPCON_CMD_POLICY_SET, &a)
    }

    /// A dump request (`NLM_F_DUMP`) for `cmd` of the IPCON family.
    pub fn dump(&mut self, cmd: u8) -> Vec<u8> {
        let family = self.family;
        self.message(family, cmd, NLM_F_DUMP, 1, &[])
    }

    /// Send bytes to the kernel.
    pub fn send(&self, msg: &[u8]) -> Result<(), String> {
        self.send_to(0, msg)
    }

    /// Send bytes to a port (0 = kernel).
    pub fn send_to(&self, port: u32, msg: &[u8]) -> Result<(), String> {
        sendto(
            &self.fd,
            msg,
            SendFlags::empty(),
            &SocketAddrNetlink::new(port, 0),
        )
        .map(|_| ())
        .map_err(|e| format!("sendto: {e}"))
    }

    /// Receive one datagram, waiting at most 5 s.
    pub fn recv(&self, buf: &mut [u8]) -> Result<usize, String> {
        self.recv_within(buf, std::time::Duration::from_secs(5))?
            .ok_or_else(|| "no reply from the kernel within 5 s".into())
    }

    /// Receive one datagram if one arrives within `wait`.
    pub fn recv_within(
        &self,
        buf: &mut [u8],
        wait: std::time::Duration,
    ) -> Result<Option<usize>, String> {
        use rustix::event::{poll, PollFd, PollFlags, Timespec};
        let mut fds = [PollFd::new(&self.fd, PollFlags::IN)];
        let t = Timespec {
            tv_sec: wait.as_secs() as i64,
            tv_nsec: wait.subsec_nanos() as _,
        };
        if poll(&mut fds, Some(&t)).map_err(|e| format!("poll: {e}"))? == 0 {
            return Ok(None);
        }
        let cap = buf.len();
        let (n, _) = recv(&self.fd, buf, RecvFlags::TRUNC).map_err(|e| format!("recv: {e}"))?;
        Ok(Some(n.min(cap)))
    }

    /// Send a request and return the errno of its ack (0 = success),
    /// skipping replies that come before the ack. For a dump, the errno
    /// that ends it (in `NLMSG_DONE`) counts as the ack.
    pub fn request(&self, msg: &[u8]) -> Result<i32, String> {
        self.send(msg)?;
        let seq = u32::from_ne_bytes(msg[8..12].try_into().unwrap());
        let mut buf = vec![0u8; 70000];
        loop {
            let n = self.recv(&mut buf)?;
            if n < 20 {
                return Err(format!("short reply of {n} bytes"));
            }
            let ty = u16::from_ne_bytes([buf[4], buf[5]]);
            let rseq = u32::from_ne_bytes(buf[8..12].try_into().unwrap());
            if (ty == NLMSG_ERROR || ty == NLMSG_DONE) && rseq == seq {
                return Ok(-i32::from_ne_bytes(buf[16..20].try_into().unwrap()));
            }
        }
    }

    /// Receive the next message and return it whole.
    pub fn recv_msg(&self) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; 70000];
        let n = self.recv(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }
}
