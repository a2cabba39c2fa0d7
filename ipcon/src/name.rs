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

/// A validated, owned service or group name (no allocation: a
/// `heapless::String` of [`IPCON_NAME_MAX`] bytes).
///
/// ```
/// use ipcon::Name;
///
/// let name = Name::new("sensor.temp")?;
/// assert_eq!(name.as_str(), "sensor.temp");
/// assert!(Name::new("bad/name").is_err());
/// # Ok::<(), ipcon::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(heapless::String<IPCON_NAME_MAX>);

impl Name {
    /// Validate `name` and copy it.
    pub fn new(name: &str) -> Result<Self, Error> {
        validate(name)?;
        let mut s = heapless::String::new();
        s.push_str(name).map_err(|_| Error::InvalidName)?;
        Ok(Name(s))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
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
