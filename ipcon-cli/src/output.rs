// SPDX-License-Identifier: MIT OR Apache-2.0
//! Output: the stdout writer (a closed pipe ends the program quietly),
//! payload formats (escaped text, hex, raw bytes) and the lines printed for
//! received messages.

use std::fmt::Write as _;
use std::io::{ErrorKind, StdoutLock, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use ipcon::{GroupMessage, Sender, Unicast};

use crate::args::{flag, Opt, Parsed};
use crate::error::CliError;

/// How payloads are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per message: who sent it, its length, and the payload with
    /// non-printable bytes escaped (`\n`, `\t`, `\\`, `\xNN`).
    Text,
    /// Like `Text`, with the payload in hex.
    Hex,
    /// The payload bytes only, nothing else (for piping binary data).
    Raw,
}

/// The output options of the commands that print messages.
pub const FORMAT_OPTS: [Opt; 2] = [flag("hex", Some(b'x')), flag("raw", Some(b'r'))];

impl Format {
    /// From `--hex` / `--raw`.
    pub fn from_args(p: &Parsed) -> Result<Self, CliError> {
        match (p.flag("hex"), p.flag("raw")) {
            (true, true) => Err(p.usage("--hex and --raw exclude each other".into())),
            (true, false) => Ok(Format::Hex),
            (false, true) => Ok(Format::Raw),
            (false, false) => Ok(Format::Text),
        }
    }
}

/// Standard output. A write to a closed pipe (`ipcon monitor | head -1`)
/// ends the program quietly with status 0; other write errors are
/// reported.
pub struct Out {
    w: StdoutLock<'static>,
}

impl Out {
    /// Lock stdout for the life of the command.
    pub fn new() -> Self {
        Out {
            w: std::io::stdout().lock(),
        }
    }

    /// Write bytes as they are.
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), CliError> {
        self.w.write_all(b).map_err(write_error)
    }

    /// Write `s` and a newline (stdout is line buffered: this flushes).
    pub fn line(&mut self, s: &str) -> Result<(), CliError> {
        self.w.write_all(s.as_bytes()).map_err(write_error)?;
        self.w.write_all(b"\n").map_err(write_error)
    }

    /// Flush what was written with [`bytes`](Self::bytes).
    pub fn flush(&mut self) -> Result<(), CliError> {
        self.w.flush().map_err(write_error)
    }
}

fn write_error(e: std::io::Error) -> CliError {
    if e.kind() == ErrorKind::BrokenPipe {
        CliError::quiet()
    } else {
        CliError::failed(format!("writing to stdout: {e}"))
    }
}

/// Append `data` as text: printable characters of valid UTF-8 as they
/// are, everything else escaped, so one message stays on one line.
pub fn escape_into(out: &mut String, data: &[u8]) {
    for chunk in data.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if c.is_control() => {
                    let mut b = [0u8; 4];
                    for byte in c.encode_utf8(&mut b).bytes() {
                        let _ = write!(out, "\\x{byte:02x}");
                    }
                }
                c => out.push(c),
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
}

/// Append `data` in lowercase hex, no separators.
pub fn hex_into(out: &mut String, data: &[u8]) {
    for b in data {
        let _ = write!(out, "{b:02x}");
    }
}

/// "port 4243 (id 17, pid 88, uid 0, service demo.client)".
pub fn sender(s: &Sender<'_>) -> String {
    stamp(s.port, s.id, s.pid, s.uid, s.service)
}

/// The words of [`sender`], from the stamp's fields.
fn stamp(port: u32, id: u64, pid: u32, uid: u32, service: Option<&str>) -> String {
    let mut out = format!("port {port} (id {id}, pid {pid}, uid {uid}");
    if let Some(svc) = service {
        let _ = write!(out, ", service {svc}");
    }
    out.push(')');
    out
}

/// ", 5 bytes: hello" (or ", 0 bytes"; with `note`, ", 5 bytes, NOTE: hello").
fn payload(out: &mut String, data: &[u8], format: Format, note: Option<&str>) {
    let _ = write!(
        out,
        ", {} byte{}",
        data.len(),
        if data.len() == 1 { "" } else { "s" }
    );
    if let Some(note) = note {
        let _ = write!(out, ", {note}");
    }
    if !data.is_empty() {
        out.push_str(": ");
        match format {
            Format::Hex => hex_into(out, data),
            _ => escape_into(out, data),
        }
    }
}

/// Print a received unicast message.
pub fn unicast(out: &mut Out, m: &Unicast<'_>, format: Format) -> Result<(), CliError> {
    if format == Format::Raw {
        out.bytes(m.data)?;
        return out.flush();
    }
    let mut line = format!("from {}", sender(&m.sender));
    payload(&mut line, m.data, format, None);
    out.line(&line)
}

/// Print a received group message.
pub fn group(out: &mut Out, m: &GroupMessage<'_>, format: Format) -> Result<(), CliError> {
    if format == Format::Raw {
        out.bytes(m.data)?;
        return out.flush();
    }
    let mut line = format!("{}: from {}", m.group, sender(&m.sender));
    payload(&mut line, m.data, format, m.retained.then_some("retained"));
    out.line(&line)
}

/// Wall-clock time since the epoch, as (seconds, milliseconds).
pub fn now() -> (u64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.subsec_millis())
}

/// "HH:MM:SS.mmm" (UTC) for a time from [`now`].
pub fn time_of_day((secs, millis): (u64, u32)) -> String {
    let s = secs % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{millis:03}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(b: &[u8]) -> String {
        let mut s = String::new();
        escape_into(&mut s, b);
        s
    }

    #[test]
    fn escaping_keeps_one_line_and_all_bytes() {
        assert_eq!(esc(b"hello world"), "hello world");
        assert_eq!(esc(b"a\nb\tc\r\\"), "a\\nb\\tc\\r\\\\");
        assert_eq!(esc(b"\x00\x1b\x7f"), "\\x00\\x1b\\x7f");
        assert_eq!(esc("21.5 °C".as_bytes()), "21.5 °C");
        assert_eq!(esc(b"\xff\xfeok"), "\\xff\\xfeok");
        assert_eq!(esc("\u{85}".as_bytes()), "\\xc2\\x85");
        let all: Vec<u8> = (0..=255).collect();
        assert!(!esc(&all).contains('\n'));
        let mut h = String::new();
        hex_into(&mut h, b"\x00\xabZ");
        assert_eq!(h, "00ab5a");
    }

    #[test]
    fn times() {
        assert_eq!(time_of_day((0, 0)), "00:00:00.000");
        assert_eq!(
            time_of_day((86_400 + 3_600 * 13 + 60 * 5 + 9, 42)),
            "13:05:09.042"
        );
    }

    #[test]
    fn lines() {
        assert_eq!(
            stamp(7, 12, 99, 0, Some("a.b")),
            "port 7 (id 12, pid 99, uid 0, service a.b)"
        );
        let mut l = String::new();
        payload(&mut l, b"x", Format::Text, None);
        assert_eq!(l, ", 1 byte: x");
        let mut l = String::new();
        payload(&mut l, b"", Format::Hex, Some("retained"));
        assert_eq!(l, ", 0 bytes, retained");
        let mut l = String::new();
        payload(&mut l, b"hi", Format::Hex, None);
        assert_eq!(l, ", 2 bytes: 6869");
    }
}
