// SPDX-License-Identifier: MIT OR Apache-2.0
//! The policy calls of the `ipcon policy` tool, for C: check a policy
//! file's text, load it, show the one in force, clear it. These allocate
//! (the policy is parsed into rules); they are not on the message path.

use core::ffi::{c_char, c_int, c_uint, CStr};

use ipcon::policy::Policy;

use crate::convert::status;
use crate::errors::{self, EINVAL, ENOSPC};
use crate::{ipcon_peer, tx, with_tx};

/// Parse a NUL-terminated policy text; on errors, the first one's line.
///
/// # Safety
/// text is NULL or a NUL-terminated string; bad_line is NULL or writable.
unsafe fn parse(text: *const c_char, bad_line: *mut c_uint) -> Result<Policy, c_int> {
    if text.is_null() {
        return Err(-EINVAL);
    }
    // SAFETY: a NUL-terminated string by contract.
    let text = unsafe { CStr::from_ptr(text) };
    let fail = |line: usize| {
        if !bad_line.is_null() {
            // SAFETY: checked non-NULL; writable by contract.
            unsafe { bad_line.write(c_uint::try_from(line).unwrap_or(c_uint::MAX)) };
        }
        -EINVAL
    };
    let text = text.to_str().map_err(|_| fail(0))?;
    Policy::parse(text).map_err(|errs| fail(errs.first().map_or(0, |e| e.line)))
}

/// Check a policy in the format of /etc/ipcon/policy (see ipcon(1),
/// "ipcon policy"), without loading it. Returns 0, or -EINVAL with the
/// number of the first bad line in *bad_line (if not NULL; 0 for a
/// missing "default" line or text that is not UTF-8). Any user may check.
///
/// Threads: any thread, any time.
///
/// # Safety
/// text is NULL or a NUL-terminated string; bad_line is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_policy_check(text: *const c_char, bad_line: *mut c_uint) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { parse(text, bad_line) }.map_or_else(|e| e, |_| 0)
}

/// Check and install a policy (needs CAP_NET_ADMIN in the user namespace
/// of the network namespace). Returns 0 or a negative errno: -EINVAL (see
/// ipcon_policy_check()), -EPERM, -E2BIG (too many rules).
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; text is NULL or a NUL-terminated string;
/// bad_line is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ipcon_policy_load(
    peer: *mut ipcon_peer,
    text: *const c_char,
    bad_line: *mut c_uint,
) -> c_int {
    // SAFETY: the caller's contract.
    let tx = match unsafe { tx(peer) } {
        Ok(tx) => tx,
        Err(e) => return e,
    };
    // SAFETY: the caller's contract.
    match unsafe { parse(text, bad_line) } {
        Ok(policy) => status(tx.load_policy(&policy)),
        Err(e) => e,
    }
}

/// Write the policy in force as policy text (what ipcon_policy_load()
/// reads) into out, NUL-terminated. Returns its length (without the NUL),
/// or a negative errno: -ENOSPC (len too small; nothing written), -EPERM
/// (needs CAP_NET_ADMIN), -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer; out is NULL or len writable bytes.
#[no_mangle]
pub unsafe extern "C" fn ipcon_policy_show(
    peer: *mut ipcon_peer,
    out: *mut c_char,
    len: usize,
) -> c_int {
    // SAFETY: the caller's contract.
    let tx = match unsafe { tx(peer) } {
        Ok(tx) => tx,
        Err(e) => return e,
    };
    if out.is_null() {
        return -EINVAL;
    }
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let text = match tx.policy(&mut buf) {
        Ok(p) => p.to_string(),
        Err(e) => return errors::of(e),
    };
    let Ok(n) = c_int::try_from(text.len()) else {
        return -ENOSPC;
    };
    if text.len() >= len {
        return -ENOSPC;
    }
    // SAFETY: out has len > text.len() writable bytes by contract.
    unsafe {
        core::ptr::copy_nonoverlapping(text.as_ptr().cast::<c_char>(), out, text.len());
        out.add(text.len()).write(0);
    }
    n
}

/// Install the policy of a freshly loaded module: "default allow", no
/// rules (needs CAP_NET_ADMIN). Returns 0 or a negative errno: -EPERM,
/// -EINVAL.
///
/// Threads: a request: one at a time on a peer.
///
/// # Safety
/// peer is NULL or a live peer.
#[no_mangle]
pub unsafe extern "C" fn ipcon_policy_clear(peer: *mut ipcon_peer) -> c_int {
    // SAFETY: the caller's contract.
    unsafe { with_tx(peer, |tx| tx.clear_policy()) }
}
