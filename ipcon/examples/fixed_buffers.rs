// SPDX-License-Identifier: MIT OR Apache-2.0
//! No heap: the core API with fixed buffers only, as on a `no_std` target.
//!
//! All the ipcon calls here work with the crate's default features off
//! (`ipcon = { default-features = false }`: no `std`, no `alloc`). Buffers
//! are arrays on the stack, names are checked into [`Name`] (a
//! fixed-capacity string), text is formatted into `heapless::String` and
//! the service list collected into a `heapless::Vec`. Only [`say`]
//! (printing) touches std; on a small target it would write to a UART or
//! go through `defmt`.
//!
//! The receive buffer is deliberately small (1 KiB): a message that does
//! not fit is consumed and reported as [`RecvError::Truncated`] with its full
//! length, and the next message is received normally.
//! [`RECV_BUFFER_SIZE`](ipcon::RECV_BUFFER_SIZE) (66 004 bytes) holds any
//! message.
//!
//! ```text
//! cargo run --example fixed_buffers
//! cargo run --example fixed_buffers --no-default-features   # ipcon without std and alloc
//! ```
//!
//! Exit status 0 when every step worked, 1 otherwise.

use core::fmt::Write as _;
use core::time::Duration;
use std::io::Write as _;
use std::process::ExitCode;

use heapless::{String, Vec};
use ipcon::{Error, GroupFlags, JoinFlags, Message, Name, Peer, ProtocolError, RecvError};

const WAIT: Duration = Duration::from_secs(5);
/// A calibration table, too large for the display's receive buffer.
static TABLE: [u8; 2000] = [0x5a; 2000];

/// Print one line from a fixed buffer (the only use of std).
fn say(args: core::fmt::Arguments<'_>) {
    let mut line: String<160> = String::new();
    // A line longer than 160 bytes is cut: the buffer is fixed.
    let _ = line.write_fmt(args);
    let _ = line.push('\n');
    let _ = std::io::stdout().write_all(line.as_bytes());
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say(format_args!("fixed_buffers: failed: {e}"));
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Error> {
    // Names are validated once and kept in 63-byte strings.
    let service = Name::new("example.sensor")?;
    let readings = Name::new("example.sensor.readings")?;

    let mut sensor = Peer::open()?;
    sensor.register_service(&service)?;
    sensor.register_group(&readings, GroupFlags::RETAIN)?;
    say(format_args!(
        "sensor: {service} and group {readings} on port {}",
        sensor.port()
    ));
    for tenths in [215u32, 217, 221] {
        let mut text: String<16> = String::new();
        let _ = write!(text, "{}.{} C", tenths / 10, tenths % 10);
        sensor.publish(&readings, text.as_bytes())?;
    }

    // A late joiner with a 1 KiB buffer on the stack.
    let mut display = Peer::open()?;
    display.join(&readings, JoinFlags::LAST)?;
    let mut buf = [0u8; 1024];
    match display.recv_timeout(&mut buf, WAIT)? {
        Message::Group(m) if m.retained => say(format_args!(
            "display: retained reading {}",
            core::str::from_utf8(m.data).unwrap_or("?")
        )),
        other => return Err(unexpected(other)),
    }

    // Too large for the buffer: reported, consumed, and the next one fits.
    sensor.publish(&readings, &TABLE)?;
    sensor.publish(&readings, b"22.0 C")?;
    match display.recv_timeout(&mut buf, WAIT) {
        Err(RecvError::Truncated { len }) => say(format_args!(
            "display: a {len}-byte message does not fit {} bytes: skipped",
            buf.len()
        )),
        Ok(other) => return Err(unexpected(other)),
        Err(e) => return Err(e.into()),
    }
    match display.recv_timeout(&mut buf, WAIT)? {
        Message::Group(m) => say(format_args!(
            "display: next reading {}",
            core::str::from_utf8(m.data).unwrap_or("?")
        )),
        other => return Err(unexpected(other)),
    }

    // The service list, into a fixed dump buffer and a fixed Vec.
    let mut dump = [0u8; 4096];
    let mut ours: Vec<(Name, u32), 8> = Vec::new();
    let mut others = 0u32;
    sensor.services(&mut dump, |s| {
        let entry = Name::new(s.name).map(|n| (n, s.port));
        match entry {
            Ok(e) if s.name.starts_with("example.") => {
                // Full: count it with the others.
                if ours.push(e).is_err() {
                    others += 1;
                }
            }
            _ => others += 1,
        }
    })?;
    for (name, port) in &ours {
        say(format_args!("list: {name} on port {port}"));
    }
    say(format_args!("list: {others} other services"));
    Ok(())
}

/// A message that should not have come.
fn unexpected(m: Message<'_>) -> Error {
    say(format_args!("fixed_buffers: unexpected {m:?}"));
    Error::Protocol(ProtocolError::UnexpectedMessage)
}
