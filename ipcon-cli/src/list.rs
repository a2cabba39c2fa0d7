// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ipcon list` and `ipcon resolve`.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

use ipcon::DUMP_BUFFER_SIZE;

use crate::args::{flag, parse, show};
use crate::error::{CliError, Context, Subject};
use crate::json::Object;
use crate::output::Out;
use crate::procinfo::{owners, Owner};
use crate::{help, name_arg, open};

struct Service {
    name: String,
    port: u32,
    id: u64,
    uid: u32,
    gid: u32,
}

struct Group {
    name: String,
    owner: u32,
    owner_id: u64,
    owner_uid: u32,
    owner_gid: u32,
    members: u32,
    retain: bool,
}

/// `ipcon list [services|groups] [--json]`.
pub fn list(args: &[OsString]) -> Result<(), CliError> {
    let p = parse("list", &[flag("json", Some(b'j'))], args)?;
    if p.flag("help") {
        return help("list");
    }
    let (want_services, want_groups) = match p.operands(0, 1, "")?.first() {
        None => (true, true),
        Some(what) => match what.as_bytes() {
            b"services" | b"service" => (true, false),
            b"groups" | b"group" => (false, true),
            _ => return Err(p.usage(format!("list 'services' or 'groups', not '{}'", show(what)))),
        },
    };

    let mut peer = open()?;
    let mut buf = vec![0u8; DUMP_BUFFER_SIZE];
    let mut services = Vec::new();
    if want_services {
        peer.services(&mut buf, |s| {
            services.push(Service {
                name: s.name.to_string(),
                port: s.port,
                id: s.id,
                uid: s.uid,
                gid: s.gid,
            })
        })
        .about(Subject::Peer)?;
    }
    let mut groups = Vec::new();
    if want_groups {
        peer.groups(&mut buf, |g| {
            groups.push(Group {
                name: g.name.to_string(),
                owner: g.owner,
                owner_id: g.owner_id,
                owner_uid: g.owner_uid,
                owner_gid: g.owner_gid,
                members: g.members,
                retain: g.retain,
            })
        })
        .about(Subject::Peer)?;
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let ports: Vec<u32> = services
        .iter()
        .map(|s| s.port)
        .chain(groups.iter().map(|g| g.owner))
        .collect();
    let procs = owners(&ports);
    let pid = |port: u32| procs.get(&port).map(|o: &Owner| o.pid);
    let process = |port: u32| procs.get(&port).map(|o: &Owner| o.name.as_str());

    let mut out = Out::new();
    if p.flag("json") {
        let mut s = String::new();
        let mut o = Object::new(&mut s);
        if want_services {
            o.array("services", &services, |o, s| {
                o.str("name", &s.name)
                    .num("port", s.port.into())
                    .num("id", s.id)
                    .num("uid", s.uid.into())
                    .num("gid", s.gid.into())
                    .opt_num("pid", pid(s.port).map(u64::from))
                    .opt_str("process", process(s.port));
            });
        }
        if want_groups {
            o.array("groups", &groups, |o, g| {
                o.str("name", &g.name)
                    .num("owner", g.owner.into())
                    .num("owner_id", g.owner_id)
                    .num("owner_uid", g.owner_uid.into())
                    .num("owner_gid", g.owner_gid.into())
                    .num("members", g.members.into())
                    .bool("retain", g.retain)
                    .opt_num("pid", pid(g.owner).map(u64::from))
                    .opt_str("process", process(g.owner));
            });
        }
        o.end();
        return out.line(&s);
    }

    let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    if want_services {
        if services.is_empty() {
            out.line("no services")?;
        } else {
            let rows = services
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        s.port.to_string(),
                        s.id.to_string(),
                        s.uid.to_string(),
                        s.gid.to_string(),
                        dash(pid(s.port).map(|p| p.to_string())),
                        dash(process(s.port).map(str::to_string)),
                    ]
                })
                .collect();
            let header = ["SERVICE", "PORT", "ID", "UID", "GID", "PID", "PROCESS"];
            out.bytes(table(&header, rows).as_bytes())?;
        }
    }
    if want_services && want_groups {
        out.line("")?;
    }
    if want_groups {
        if groups.is_empty() {
            out.line("no groups")?;
        } else {
            let rows = groups
                .iter()
                .map(|g| {
                    vec![
                        g.name.clone(),
                        g.owner.to_string(),
                        g.owner_id.to_string(),
                        g.owner_uid.to_string(),
                        g.owner_gid.to_string(),
                        g.members.to_string(),
                        if g.retain { "yes" } else { "no" }.to_string(),
                        dash(pid(g.owner).map(|p| p.to_string())),
                        dash(process(g.owner).map(str::to_string)),
                    ]
                })
                .collect();
            let header = [
                "GROUP", "OWNER", "ID", "UID", "GID", "MEMBERS", "RETAIN", "PID", "PROCESS",
            ];
            out.bytes(table(&header, rows).as_bytes())?;
        }
    }
    out.flush()
}

/// Columns separated by two spaces, left aligned; the last one unpadded.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let last = row.len().saturating_sub(1);
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = width[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

/// `ipcon resolve [--json] NAME`.
pub fn resolve(args: &[OsString]) -> Result<(), CliError> {
    let p = parse("resolve", &[flag("json", Some(b'j'))], args)?;
    if p.flag("help") {
        return help("resolve");
    }
    let name = name_arg(&p, &p.operands(1, 1, "NAME")?[0], "service")?;
    let owner = open()?
        .resolve_owner(&name)
        .about(Subject::Service(&name))?;
    if p.flag("json") {
        let mut s = String::new();
        let mut o = Object::new(&mut s);
        o.str("name", &name)
            .num("port", owner.port.into())
            .num("id", owner.id)
            .num("uid", owner.uid.into())
            .num("gid", owner.gid.into());
        o.end();
        return Out::new().line(&s);
    }
    Out::new().line(&owner_line(&owner))
}

/// `port=4242 id=17 uid=1001 gid=1001`: readable, and shell assignments
/// (`eval "$(ipcon resolve NAME)"`).
fn owner_line(o: &ipcon::Owner) -> String {
    format!("port={} id={} uid={} gid={}", o.port, o.id, o.uid, o.gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align() {
        let t = table(
            &["SERVICE", "PORT"],
            vec![
                vec!["a".into(), "1".into()],
                vec!["a.long.name".into(), "4242".into()],
            ],
        );
        assert_eq!(t, "SERVICE      PORT\na            1\na.long.name  4242\n");
    }
}
