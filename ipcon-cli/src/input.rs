// SPDX-License-Identifier: MIT OR Apache-2.0
//! Where a message comes from: the MESSAGE argument, `-` for stdin, or
//! `--file FILE`. Any bytes are fine; more than [`ipcon::PAYLOAD_MAX`] is a
//! usage error.

use std::ffi::OsStr;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;

use ipcon::PAYLOAD_MAX;

use crate::args::{show, valued, Opt, Parsed};
use crate::error::CliError;

/// The input option of the commands that send a message.
pub const INPUT_OPTS: [Opt; 1] = [valued("file", Some(b'f'))];

/// The message: `operand` (`-` reads stdin) or `--file FILE` (`-` is
/// stdin too), exactly one of them.
pub fn message(p: &Parsed, operand: Option<&OsStr>) -> Result<Vec<u8>, CliError> {
    let (source, from_file) = match (operand, p.value("file")) {
        (Some(_), Some(_)) => {
            return Err(p.usage("give the message as an argument or with --file, not both".into()))
        }
        (None, None) => {
            return Err(p.usage(
                "missing MESSAGE: give it as an argument, '-' for stdin, or --file FILE".into(),
            ))
        }
        (Some(m), None) => (m, false),
        (None, Some(f)) => (f, true),
    };
    if source.as_bytes() == b"-" {
        return read_all(std::io::stdin().lock(), "stdin", p);
    }
    if from_file {
        let what = format!("file {}", show(source));
        let file =
            std::fs::File::open(source).map_err(|e| p.usage(format!("cannot read {what}: {e}")))?;
        return read_all(file, &what, p);
    }
    let data = source.as_bytes();
    if data.len() > PAYLOAD_MAX {
        return Err(too_large(p, "the MESSAGE argument"));
    }
    Ok(data.to_vec())
}

/// Read at most `PAYLOAD_MAX` bytes; more is a usage error.
fn read_all(r: impl Read, what: &str, p: &Parsed) -> Result<Vec<u8>, CliError> {
    let mut data = Vec::new();
    r.take(PAYLOAD_MAX as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| p.usage(format!("cannot read {what}: {e}")))?;
    if data.len() > PAYLOAD_MAX {
        return Err(too_large(p, what));
    }
    Ok(data)
}

fn too_large(p: &Parsed, what: &str) -> CliError {
    p.usage(format!(
        "message too large: {what} has more than {PAYLOAD_MAX} bytes, the most one message carries"
    ))
}
