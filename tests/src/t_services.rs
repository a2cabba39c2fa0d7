// SPDX-License-Identifier: MIT OR Apache-2.0
//! Services: register, unregister, resolve, list; names validated the same
//! way in kernel and crate.

use crate::suite::{peer, uniq, TestResult};
use crate::{ensure, fails_with, ok, tests};
use ipcon::Error;

tests!(
    peer_open_has_port,
    peers_have_distinct_ports,
    service_register_and_resolve,
    service_duplicate_name_rejected,
    service_invalid_names_rejected,
    service_name_of_63_bytes_accepted,
    service_unregister_then_resolve_fails,
    service_unregister_not_owner,
    service_unregister_unknown,
    service_resolve_unknown,
    service_list_shows_all,
    service_list_large_multipart_dump,
    service_freed_when_peer_closes,
);

fn peer_open_has_port() -> TestResult {
    let p = peer()?;
    ensure!(p.port() != 0, "port 0 is the kernel's");
    Ok(())
}

fn peers_have_distinct_ports() -> TestResult {
    let a = peer()?;
    let b = peer()?;
    ensure!(a.port() != b.port(), "both peers have port {}", a.port());
    Ok(())
}

fn service_register_and_resolve() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let name = uniq("svc");
    ok!(a.register_service(&name));
    let port = ok!(b.resolve(&name));
    ensure!(port == a.port(), "resolved {port}, owner is {}", a.port());
    Ok(())
}

fn service_duplicate_name_rejected() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let name = uniq("dup");
    ok!(a.register_service(&name));
    fails_with!(b.register_service(&name), Error::NameTaken);
    fails_with!(a.register_service(&name), Error::NameTaken);
    // The original owner keeps it.
    ensure!(ok!(b.resolve(&name)) == a.port(), "owner changed");
    Ok(())
}

fn service_invalid_names_rejected() -> TestResult {
    let mut a = peer()?;
    let long = "x".repeat(64);
    for bad in [
        "",
        "has space",
        "slash/name",
        "tab\tname",
        "ünïcode",
        &long,
        "nul\0byte",
    ] {
        fails_with!(a.register_service(bad), Error::InvalidName);
        fails_with!(a.resolve(bad), Error::InvalidName);
    }
    Ok(())
}

fn service_name_of_63_bytes_accepted() -> TestResult {
    let mut a = peer()?;
    let mut name = uniq("max");
    while name.len() < 63 {
        name.push('z');
    }
    ok!(a.register_service(&name));
    ensure!(ok!(a.resolve(&name)) == a.port(), "wrong port");
    let allowed = format!("{}.A-z_0:9", uniq("cs"));
    ok!(a.register_service(&allowed));
    Ok(())
}

fn service_unregister_then_resolve_fails() -> TestResult {
    let mut a = peer()?;
    let name = uniq("unreg");
    ok!(a.register_service(&name));
    ok!(a.unregister_service(&name));
    fails_with!(a.resolve(&name), Error::NoSuchService);
    // The name is free again.
    let mut b = peer()?;
    ok!(b.register_service(&name));
    Ok(())
}

fn service_unregister_not_owner() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let name = uniq("own");
    ok!(a.register_service(&name));
    fails_with!(b.unregister_service(&name), Error::NotOwner);
    ensure!(ok!(b.resolve(&name)) == a.port(), "service lost its owner");
    Ok(())
}

fn service_unregister_unknown() -> TestResult {
    let mut a = peer()?;
    fails_with!(a.unregister_service(&uniq("none")), Error::NoSuchService);
    Ok(())
}

fn service_resolve_unknown() -> TestResult {
    let mut a = peer()?;
    fails_with!(a.resolve(&uniq("none")), Error::NoSuchService);
    Ok(())
}

fn list_services(p: &mut ipcon::Peer) -> Result<Vec<(String, u32)>, String> {
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let mut v = Vec::new();
    ok!(p.services(&mut buf, |s| v.push((s.name.to_string(), s.port))));
    Ok(v)
}

fn service_list_shows_all() -> TestResult {
    let mut a = peer()?;
    let mut b = peer()?;
    let names = [uniq("l1"), uniq("l2"), uniq("l3")];
    ok!(a.register_service(&names[0]));
    ok!(a.register_service(&names[1]));
    ok!(b.register_service(&names[2]));
    let all = list_services(&mut b)?;
    for (n, owner) in [
        (&names[0], a.port()),
        (&names[1], a.port()),
        (&names[2], b.port()),
    ] {
        ensure!(
            all.iter().any(|(name, port)| name == n && *port == owner),
            "{n} (port {owner}) missing from {all:?}"
        );
    }
    Ok(())
}

fn service_list_large_multipart_dump() -> TestResult {
    // 500 services of one user: more than max_services allows by default;
    // the subject here is the multipart dump, not the limit (t_security).
    let _limit = crate::param::Param::unlimited("max_services")?;
    let mut a = peer()?;
    let prefix = uniq("bulk");
    let n = 500;
    for i in 0..n {
        ok!(a.register_service(&format!("{prefix}.{i}")));
    }
    let all = list_services(&mut a)?;
    let mine = all
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .count();
    ensure!(mine == n, "listed {mine} of {n} services");
    let mut names: Vec<_> = all.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    ensure!(names.len() == all.len(), "dump listed duplicates");
    Ok(())
}

fn service_freed_when_peer_closes() -> TestResult {
    let mut b = peer()?;
    let name = uniq("gone");
    {
        let mut a = peer()?;
        ok!(a.register_service(&name));
        ensure!(ok!(b.resolve(&name)) == a.port(), "wrong port");
    }
    // Closing the sockets releases the name at once (netlink notifier).
    fails_with!(b.resolve(&name), Error::NoSuchService);
    ok!(b.register_service(&name));
    Ok(())
}
