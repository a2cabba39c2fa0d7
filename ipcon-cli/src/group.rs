// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ipcon publish` and `ipcon listen`.

use std::ffi::OsString;
use std::io::BufRead;
use std::time::{Duration, Instant};

use ipcon::{
    Error, EventKind, GroupFlags, JoinFlags, Message, Peer, DUMP_BUFFER_SIZE, PAYLOAD_MAX,
    RECV_BUFFER_SIZE,
};

use crate::args::{flag, parse, valued};
use crate::error::{note, CliError, Context, Subject};
use crate::input::{message, INPUT_OPTS};
use crate::output::{self, Format, Out, FORMAT_OPTS};
use crate::unicast::{describe_port, receive, WAIT_OPTS};
use crate::{help, name_arg, open};

/// How often `publish --wait` looks at the member count.
const POLL: Duration = Duration::from_millis(50);

/// `ipcon publish [OPTIONS] GROUP [MESSAGE]`.
pub fn publish(args: &[OsString]) -> Result<(), CliError> {
    let spec = [
        INPUT_OPTS[0],
        flag("retain", None),
        valued("wait", Some(b'w')),
        valued("timeout", Some(b't')),
        valued("linger", None),
        flag("lines", None),
    ];
    let p = parse("publish", &spec, args)?;
    if p.flag("help") {
        return help("publish");
    }
    let ops = p.operands(1, 2, "GROUP")?;
    let group = name_arg(&p, &ops[0], "group")?;
    let lines = p.flag("lines");
    let data = if lines {
        if ops.len() > 1 || p.value("file").is_some() {
            return Err(p.usage("--lines reads stdin: give no MESSAGE and no --file".into()));
        }
        None
    } else {
        Some(message(&p, ops.get(1).map(|m| m.as_os_str()))?)
    };
    let wait = p.count("wait")?;
    let timeout = p.duration("timeout")?;
    if timeout.is_some() && wait.is_none() {
        return Err(p.usage("--timeout limits --wait: give both".into()));
    }
    let linger = p.duration("linger")?;
    let flags = if p.flag("retain") {
        GroupFlags::RETAIN
    } else {
        GroupFlags::NONE
    };

    let mut peer = open()?;
    let subject = Subject::Group(&group);
    if let Err(e) = peer.register_group(&group, flags) {
        let mut err = CliError::ipc(e, &subject);
        if let (Error::NameTaken, Some(msg)) = (e, err.msg.as_mut()) {
            if let Some((owner, _)) = group_state(&mut peer, &group)? {
                msg.push_str(&format!(" by {}", describe_port(owner)));
            }
            msg.push_str(": only its owner can publish to it");
        }
        return Err(err);
    }
    if let Some(n) = wait {
        note(format_args!(
            "group {group} registered on port {}, waiting for {n} member{}",
            peer.port(),
            if n == 1 { "" } else { "s" }
        ));
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let members = group_state(&mut peer, &group)?.map_or(0, |(_, m)| m);
            if u64::from(members) >= n {
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(CliError::timed_out(format!(
                    "group {group} has {members} of {n} members after {:?}",
                    timeout.unwrap_or_default()
                )));
            }
            std::thread::sleep(POLL);
        }
    }
    match data {
        Some(data) => peer.publish(&group, &data).about(subject)?,
        None => publish_lines(&mut peer, &group, &p)?,
    }
    if let Some(t) = linger {
        // Said after the publish, so a script (or a test) knows when a
        // late joiner can expect the retained message.
        note(format_args!(
            "published to {group}; staying {:.1} s (--linger)",
            t.as_secs_f64()
        ));
        std::thread::sleep(t);
    }
    Ok(())
}

/// Publish each line of stdin (without its newline) until end of input.
fn publish_lines(peer: &mut Peer, group: &str, p: &crate::args::Parsed) -> Result<(), CliError> {
    let mut stdin = std::io::stdin().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = stdin
            .read_until(b'\n', &mut line)
            .map_err(|e| p.usage(format!("cannot read stdin: {e}")))?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if line.len() > PAYLOAD_MAX {
            return Err(p.usage(format!(
                "message too large: a line of stdin has more than {PAYLOAD_MAX} bytes"
            )));
        }
        peer.publish(group, &line).about(Subject::Group(group))?;
    }
}

/// The owner and member count of `group`, if it exists.
fn group_state(peer: &mut Peer, group: &str) -> Result<Option<(u32, u32)>, CliError> {
    let mut buf = vec![0u8; DUMP_BUFFER_SIZE];
    let mut found = None;
    peer.groups(&mut buf, |g| {
        if g.name == group {
            found = Some((g.owner, g.members));
        }
    })
    .about(Subject::Peer)?;
    Ok(found)
}

/// `ipcon listen [OPTIONS] GROUP...`.
pub fn listen(args: &[OsString]) -> Result<(), CliError> {
    let spec = [
        flag("last", Some(b'l')),
        WAIT_OPTS[0],
        WAIT_OPTS[1],
        FORMAT_OPTS[0],
        FORMAT_OPTS[1],
    ];
    let p = parse("listen", &spec, args)?;
    if p.flag("help") {
        return help("listen");
    }
    let mut groups: Vec<String> = Vec::new();
    for arg in p.operands(1, usize::MAX, "GROUP")? {
        let g = name_arg(&p, arg, "group")?;
        if groups.contains(&g) {
            return Err(p.usage(format!("group {g} is given twice")));
        }
        groups.push(g);
    }
    let count = p.count("count")?;
    let timeout = p.duration("timeout")?;
    let format = Format::from_args(&p)?;
    let flags = if p.flag("last") {
        JoinFlags::LAST
    } else {
        JoinFlags::NONE
    };

    let mut peer = open()?;
    // Events first, so that a group removed right after joining is seen.
    peer.subscribe_events().about(Subject::Peer)?;
    for g in &groups {
        peer.join(g, flags).about(Subject::Group(g))?;
    }
    note(format_args!(
        "listening to {} on port {}",
        groups.join(", "),
        peer.port()
    ));

    let mut out = Out::new();
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut seen = 0u64;
    while count.is_none_or(|c| seen < c) {
        match receive(&peer, &mut buf, timeout)? {
            Message::Group(m) => {
                seen += 1;
                output::group(&mut out, &m, format)?;
            }
            Message::Lost(l) => {
                if let Some(g) = l.group {
                    note(format_args!(
                        "lost {} message{} of group {g}: the receive queue was full",
                        l.count,
                        if l.count == 1 { "" } else { "s" }
                    ));
                }
            }
            Message::Event(ev) if ev.kind == EventKind::GroupRemoved => {
                let Some(name) = ev.name else { continue };
                let Some(i) = groups.iter().position(|g| g == name) else {
                    continue;
                };
                let g = groups.remove(i);
                if groups.is_empty() {
                    return Err(CliError::failed(format!(
                        "group {g} was removed: its owner unregistered it or exited"
                    )));
                }
                note(format_args!(
                    "group {g} was removed: its owner unregistered it or exited"
                ));
            }
            _ => {}
        }
    }
    Ok(())
}
