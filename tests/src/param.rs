// SPDX-License-Identifier: MIT OR Apache-2.0
//! Module parameters changed for the length of a test: the per-user limits
//! (`/sys/module/ipcon/parameters/max_*`) are set, and put back when the
//! guard is dropped, also when the test fails or panics.

use std::fs;

/// A module parameter set by a test; the old value comes back on drop.
pub struct Param {
    path: String,
    old: String,
}

impl Param {
    /// Set `/sys/module/ipcon/parameters/NAME` to `value` (as root).
    pub fn set(name: &str, value: &str) -> Result<Param, String> {
        let path = format!("/sys/module/ipcon/parameters/{name}");
        let old = fs::read_to_string(&path).map_err(|e| format!("read {path}: {e}"))?;
        fs::write(&path, value).map_err(|e| format!("write {value} to {path}: {e}"))?;
        Ok(Param {
            path,
            old: old.trim().to_string(),
        })
    }

    /// Lift a per-user limit (0 = no limit) for a test whose subject is
    /// something else and that needs more objects than the default allows.
    pub fn unlimited(name: &str) -> Result<Param, String> {
        Param::set(name, "0")
    }
}

impl Drop for Param {
    fn drop(&mut self) {
        if let Err(e) = fs::write(&self.path, &self.old) {
            eprintln!("cannot restore {} to {}: {e}", self.path, self.old);
        }
    }
}
