// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which process holds a netlink port, from `/proc` (best effort).
//!
//! The kernel module knows peers by port only. `/proc/net/netlink` maps
//! each netlink socket of this network namespace to its port and inode,
//! and `/proc/PID/fd/*` links to `socket:[INODE]` name the processes that
//! hold it. Processes we may not inspect (another user's, without root)
//! and ports of other namespaces stay unknown.

use std::collections::HashMap;
use std::fs;

/// `NETLINK_GENERIC`, the protocol column of `/proc/net/netlink`.
const NETLINK_GENERIC: u32 = 16;

/// The process holding a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Process name (`/proc/PID/comm`, at most 15 bytes).
    pub name: String,
}

/// Owners of the given ports (those that could be found).
pub fn owners(ports: &[u32]) -> HashMap<u32, Owner> {
    let mut found = HashMap::new();
    if ports.is_empty() {
        return found;
    }
    let Ok(table) = fs::read_to_string("/proc/net/netlink") else {
        return found;
    };
    let inodes = socket_inodes(&table, ports);
    if inodes.is_empty() {
        return found;
    }
    let Ok(procs) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in procs.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(link) = fs::read_link(fd.path()) else {
                continue;
            };
            let Some(port) = link
                .to_str()
                .and_then(socket_inode)
                .and_then(|ino| inodes.get(&ino))
            else {
                continue;
            };
            if found.contains_key(port) {
                continue;
            }
            let name = fs::read_to_string(entry.path().join("comm"))
                .map(|s| s.trim_end().to_string())
                .unwrap_or_default();
            found.insert(*port, Owner { pid, name });
        }
        if found.len() == inodes.len() {
            break;
        }
    }
    found
}

/// From `/proc/net/netlink`: inode -> port, for the generic netlink
/// sockets whose port is one of `ports`. Columns: sk Eth Pid Groups Rmem
/// Wmem Dump Locks Drops Inode.
fn socket_inodes(table: &str, ports: &[u32]) -> HashMap<u64, u32> {
    let mut map = HashMap::new();
    for line in table.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 10 {
            continue;
        }
        let (Ok(proto), Ok(port), Ok(inode)) = (
            cols[1].parse::<u32>(),
            cols[2].parse::<u32>(),
            cols[9].parse::<u64>(),
        ) else {
            continue;
        };
        if proto == NETLINK_GENERIC && ports.contains(&port) {
            map.insert(inode, port);
        }
    }
    map
}

/// `"socket:[1234]"` -> 1234.
fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_netlink() {
        let table = "\
sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000000000000 0   1          00000000 0        0        0     2        0        100
0000000000000000 16  4242       00000000 0        0        0     2        0        200
0000000000000000 16  4243       00000000 0        0        0     2        0        201
0000000000000000 15  4242       00000000 0        0        0     2        0        300
garbage
";
        let m = socket_inodes(table, &[4242, 1]);
        assert_eq!(m.len(), 1);
        assert_eq!(m.get(&200), Some(&4242));
        assert_eq!(socket_inode("socket:[200]"), Some(200));
        assert_eq!(socket_inode("pipe:[200]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn finds_this_process() {
        // A netlink socket of our own, if this machine allows one.
        let Ok(peer) = ipcon::Peer::open() else {
            // No ipcon module here: at least nothing may go wrong.
            assert!(owners(&[1, 2, 3]).len() <= 3);
            return;
        };
        let o = owners(&[peer.port()]);
        assert_eq!(o.get(&peer.port()).map(|o| o.pid), Some(std::process::id()));
    }
}
