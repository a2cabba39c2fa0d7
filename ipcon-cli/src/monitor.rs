// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ipcon monitor`: kernel events as they happen.

use std::ffi::OsString;

use ipcon::{Message, RECV_BUFFER_SIZE};

use crate::args::{flag, parse};
use crate::error::{note, CliError, Context, Subject};
use crate::json::Object;
use crate::output::{now, time_of_day, Out};
use crate::unicast::{receive, WAIT_OPTS};
use crate::{help, open};

/// `ipcon monitor [--json] [--count N] [--timeout SECS]`.
pub fn monitor(args: &[OsString]) -> Result<(), CliError> {
    let spec = [flag("json", Some(b'j')), WAIT_OPTS[0], WAIT_OPTS[1]];
    let p = parse("monitor", &spec, args)?;
    if p.flag("help") {
        return help("monitor");
    }
    p.operands(0, 0, "")?;
    let count = p.count("count")?;
    let timeout = p.duration("timeout")?;
    let json = p.flag("json");

    let mut peer = open()?;
    peer.subscribe_events().about(Subject::Peer)?;
    note(format_args!(
        "watching kernel events on port {}",
        peer.port()
    ));

    let mut out = Out::new();
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut seen = 0u64;
    while count.is_none_or(|c| seen < c) {
        let msg = receive(&peer, &mut buf, timeout)?;
        let at = now();
        let line = match (msg, json) {
            (Message::Event(ev), false) => {
                let mut l = format!("{} {}", time_of_day(at), ev.kind);
                if let Some(name) = ev.name {
                    l.push(' ');
                    l.push_str(name);
                }
                l.push_str(&format!(
                    " port {} id {} uid {} gid {}",
                    ev.port, ev.id, ev.uid, ev.gid
                ));
                l
            }
            (Message::Event(ev), true) => {
                let mut s = String::new();
                let mut o = Object::new(&mut s);
                o.raw("time", &format!("{}.{:03}", at.0, at.1))
                    .str("event", &ev.kind.to_string())
                    .num("port", ev.port.into())
                    .num("id", ev.id)
                    .num("uid", ev.uid.into())
                    .num("gid", ev.gid.into())
                    .opt_str("name", ev.name);
                o.end();
                s
            }
            // Only event notices come without a group.
            (Message::Lost(l), false) if l.group.is_none() => format!(
                "{} lost {} events: the receive queue was full",
                time_of_day(at),
                l.count
            ),
            (Message::Lost(l), true) if l.group.is_none() => {
                let mut s = String::new();
                let mut o = Object::new(&mut s);
                o.raw("time", &format!("{}.{:03}", at.0, at.1))
                    .str("event", "lost")
                    .num("count", l.count.into());
                o.end();
                s
            }
            _ => continue,
        };
        seen += 1;
        out.line(&line)?;
    }
    Ok(())
}
