// SPDX-License-Identifier: MIT OR Apache-2.0
//! ipcon-tiny (tiny-client/): the static client without std that the
//! footprint goal is about, at most 64 KiB stripped. The VM harness builds
//! it and installs it stripped (qemu/lib/tiny.sh); it is no package's, so
//! on a device built from the layer it is absent and these tests skip.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ipcon::Message;

use crate::cmd::{bin, Bg};
use crate::suite::{expect_nothing, peer, recv_with, skip, TestResult};
use crate::{ensure, ok, tests};

tests!(tiny_client_is_small_and_static, tiny_client_echoes);

/// The footprint goal, stripped.
const LIMIT: usize = 64 * 1024;
/// The service ipcon-tiny registers.
const SERVICE: &str = "tiny.echo";

/// Where ipcon-tiny is installed, if it is.
fn tiny() -> Option<PathBuf> {
    let p = bin("ipcon-tiny");
    p.exists().then_some(p)
}

const ABSENT: &str = "ipcon-tiny (the VM harness's static client) is not installed";

/// The program header types of an ELF file (32- or 64-bit, little-endian,
/// as every arch of the suite is).
fn program_header_types(elf: &[u8]) -> Result<Vec<u32>, String> {
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    ensure!(elf.starts_with(b"\x7fELF"), "not an ELF file");
    ensure!(elf.get(5) == Some(&1), "not little-endian");
    let (phoff, phentsize, phnum) = match elf.get(4) {
        Some(1) => (u32_at(28).map(|v| v as usize), u16_at(42), u16_at(44)),
        Some(2) => (
            elf.get(32..40)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])) as usize),
            u16_at(54),
            u16_at(56),
        ),
        _ => return Err("unknown ELF class".into()),
    };
    let (Some(phoff), Some(size), Some(n)) = (phoff, phentsize, phnum) else {
        return Err("truncated ELF header".into());
    };
    (0..usize::from(n))
        .map(|i| {
            u32_at(phoff + i * usize::from(size)).ok_or_else(|| "truncated program headers".into())
        })
        .collect()
}

fn tiny_client_is_small_and_static() -> TestResult {
    let Some(path) = tiny() else {
        return skip(ABSENT);
    };
    let elf = ok!(std::fs::read(&path));
    ensure!(
        elf.len() <= LIMIT,
        "ipcon-tiny is {} bytes stripped, over the {LIMIT}-byte goal",
        elf.len()
    );
    let types = program_header_types(&elf)?;
    ensure!(!types.is_empty(), "ipcon-tiny has no program headers");
    // PT_INTERP (3) names a dynamic loader, PT_DYNAMIC (2) means shared
    // libraries: a static program has neither.
    ensure!(
        !types.contains(&3) && !types.contains(&2),
        "ipcon-tiny is not static: program header types {types:?}"
    );
    Ok(())
}

fn tiny_client_echoes() -> TestResult {
    if tiny().is_none() {
        return skip(ABSENT);
    }
    let server = ok!(Bg::spawn("ipcon-tiny", &[], None));
    let mut p = peer()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let port = loop {
        match p.resolve(SERVICE) {
            Ok(port) => break port,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("{SERVICE} was never registered: {e:?}")),
        }
    };
    let mut buf = vec![0u8; 8192];
    let fits = [0xa5u8; 1500];
    let too_big = [0x5au8; 4000];
    for msg in [
        &b"hello, tiny"[..],
        &fits[..],
        &too_big[..],
        &b"still there"[..],
    ] {
        ok!(p.send_to_port(port, msg));
        if msg.len() == too_big.len() {
            // larger than its 2 KiB buffer: consumed and skipped, no echo
            expect_nothing(&p, &mut buf)?;
            continue;
        }
        let echo = recv_with(&p, &mut buf, |m| match m {
            Message::Unicast(u) => {
                ensure!(
                    u.data == msg,
                    "echo of {} bytes: got {} bytes",
                    msg.len(),
                    u.data.len()
                );
                ensure!(
                    u.sender.port == port,
                    "the echo came from port {}",
                    u.sender.port
                );
                Ok(())
            }
            other => Err(format!("expected the echo, got {other:?}")),
        });
        if let Err(e) = echo {
            // its exit status names the step that failed (tiny-client/src/main.rs)
            return Err(format!("{e}; ipcon-tiny: {}", server.finish()?.show()));
        }
    }
    // `quit` ends it with status 0.
    ok!(p.send_to_port(port, b"quit"));
    let o = server.finish()?;
    ensure!(o.code() == 0, "{}", o.show());
    Ok(())
}
