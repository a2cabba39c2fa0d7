// SPDX-License-Identifier: MIT OR Apache-2.0
//! Counters, and the line protocol between workers and the coordinator.
//!
//! A worker writes to its stdout, at least every half second:
//!   `S key=n key=n ...`    counts since its previous `S` line (a worker
//!                          SIGKILLed loses at most half a second of counts)
//!   `F what: detail`       a finding (the worker exits right after)
//! Keys: `sent` (netlink messages), `calls` (sendmsg calls), `batches`
//! (calls with several messages), `mutated`, `replies` (messages from the
//! kernel), `acks`, `dump_parts`, `dumps_done`, `deliveries`, `data`
//! (other replies), `overruns`, `early_closes` (sockets closed mid-dump),
//! `pairs`, `sentinels`, `truncated`, `cmd.N` (requests per command),
//! `errno.N` (acks and dump ends per errno, 0 = success), `senderr.N`
//! (sendmsg failures).

use std::collections::BTreeMap;

/// Named counters.
#[derive(Default, Debug, Clone)]
pub struct Stats(pub BTreeMap<String, u64>);

impl Stats {
    pub fn add(&mut self, key: &str, n: u64) {
        if n > 0 {
            *self.0.entry(key.to_string()).or_insert(0) += n;
        }
    }

    pub fn get(&self, key: &str) -> u64 {
        self.0.get(key).copied().unwrap_or(0)
    }

    pub fn merge(&mut self, other: &Stats) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    /// The `S` line (empty counters are left out).
    pub fn line(&self) -> String {
        let mut s = String::from("S");
        for (k, v) in &self.0 {
            s.push_str(&format!(" {k}={v}"));
        }
        s
    }

    /// Parse an `S` line.
    pub fn parse(line: &str) -> Option<Stats> {
        let rest = line.strip_prefix('S')?;
        let mut st = Stats::default();
        for kv in rest.split_whitespace() {
            let (k, v) = kv.split_once('=')?;
            st.add(k, v.parse().ok()?);
        }
        Some(st)
    }

    /// The counters under `prefix` (`errno.`, `cmd.`...) by their number.
    pub fn by_number(&self, prefix: &str) -> Vec<(i64, u64)> {
        let mut v: Vec<(i64, u64)> = self
            .0
            .iter()
            .filter_map(|(k, n)| Some((k.strip_prefix(prefix)?.parse().ok()?, *n)))
            .collect();
        v.sort();
        v
    }
}

/// The name of an errno the family documents (Linux generic numbering,
/// the same on x86_64, arm and arm64).
pub fn errno_name(e: i64) -> String {
    let name = match e {
        0 => "ok",
        1 => "EPERM",
        2 => "ENOENT",
        7 => "E2BIG",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        16 => "EBUSY",
        17 => "EEXIST",
        22 => "EINVAL",
        34 => "ERANGE",
        53 => "EBADR",
        90 => "EMSGSIZE",
        95 => "EOPNOTSUPP",
        105 => "ENOBUFS",
        107 => "ENOTCONN",
        111 => "ECONNREFUSED",
        114 => "EALREADY",
        122 => "EDQUOT",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// The name of a command (`cmd.N` counters; 0 stands for nlctrl requests
/// and command 0, 255 for every command above the highest).
pub fn cmd_name(c: i64) -> String {
    let name = match c {
        0 => "nlctrl/unspec",
        1 => "PAIR_START",
        2 => "PAIR",
        3 => "SRV_REG",
        4 => "SRV_UNREG",
        5 => "SRV_RESOLVE",
        6 => "SRV_LIST",
        7 => "GRP_REG",
        8 => "GRP_UNREG",
        9 => "GRP_JOIN",
        10 => "GRP_LEAVE",
        11 => "GRP_LIST",
        12 => "SEND",
        13 => "PUBLISH",
        14 => "EVENTS_SUB",
        15 => "EVENTS_UNSUB",
        16 => "MSG",
        17 => "GRP_MSG",
        18 => "EVENT",
        19 => "LOST",
        20 => "POLICY_SET",
        21 => "POLICY_GET",
        255 => "unknown commands",
        _ => return format!("cmd {c}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_round_trip() {
        let mut s = Stats::default();
        s.add("sent", 10);
        s.add("errno.22", 3);
        s.add("zero", 0);
        let back = Stats::parse(&s.line()).unwrap();
        assert_eq!(back.get("sent"), 10);
        assert_eq!(back.get("errno.22"), 3);
        assert_eq!(back.get("zero"), 0);
        assert_eq!(back.by_number("errno."), vec![(22, 3)]);
        assert!(Stats::parse("F hang").is_none());
    }
}
