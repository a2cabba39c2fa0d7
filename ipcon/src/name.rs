// SPDX-License-Identifier: MIT OR Apache-2.0
//! Service and group names: validated exactly as the kernel does.

use crate::uapi::IPCON_NAME_MAX;
use crate::Error;

/// Whether `b` may appear in a name: `[A-Za-z0-9._:-]`.
#[inline]
pub const fn is_name_byte(b: u8) -> bool {
    matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b':' | b'-')
}

/// Check a service or group name: 1 to [`IPCON_NAME_MAX`] (63) bytes from
/// `[A-Za-z0-9._:-]`. Returns [`Error::InvalidName`] otherwise.
///
/// ```
/// use ipcon::{name::validate, Error};
///
/// assert_eq!(validate("sensor.temp:0"), Ok(()));
/// assert_eq!(validate("no spaces"), Err(Error::InvalidName));
/// assert_eq!(validate(&"x".repeat(64)), Err(Error::InvalidName));
/// ```
pub fn validate(name: &str) -> Result<(), Error> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() > IPCON_NAME_MAX || !b.iter().all(|&c| is_name_byte(c)) {
        return Err(Error::InvalidName);
    }
    Ok(())
}

/// A validated, owned service or group name (no allocation: the bytes
/// are kept inline, [`IPCON_NAME_MAX`] at most).
///
/// ```
/// use ipcon::Name;
///
/// let name = Name::new("sensor.temp")?;
/// assert_eq!(name.as_str(), "sensor.temp");
/// assert!(Name::new("bad/name").is_err());
/// # Ok::<(), ipcon::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Name {
    len: u8,
    bytes: [u8; IPCON_NAME_MAX],
}

impl Name {
    /// Validate `name` and copy it.
    pub fn new(name: &str) -> Result<Self, Error> {
        validate(name)?;
        let mut bytes = [0u8; IPCON_NAME_MAX];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Ok(Name {
            len: name.len() as u8,
            bytes,
        })
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        // Validated ASCII at construction: this cannot fail.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl core::hash::Hash for Name {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl core::fmt::Debug for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl core::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<&str> for Name {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        Name::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate("demo.echo").is_ok());
        assert!(validate("A-z_0:9.").is_ok());
        assert!(validate(&"a".repeat(63)).is_ok());
        assert_eq!(validate(&"a".repeat(64)), Err(Error::InvalidName));
        assert_eq!(validate(""), Err(Error::InvalidName));
        assert_eq!(validate("a b"), Err(Error::InvalidName));
        assert_eq!(validate("a/b"), Err(Error::InvalidName));
        assert_eq!(validate("é"), Err(Error::InvalidName));
        assert_eq!(validate("a\0"), Err(Error::InvalidName));
        assert_eq!(Name::new("x.y").unwrap().as_str(), "x.y");
        assert!(Name::new(&"b".repeat(63)).is_ok());
    }
}
