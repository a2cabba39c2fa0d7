// SPDX-License-Identifier: MIT OR Apache-2.0
//! The test registry and the helpers every test file uses.

use std::time::Duration;

use ipcon::{Message, Peer};

/// A test outcome: `Err` carries why it failed.
pub type TestResult = Result<(), String>;

/// How a test says "this cannot run here" rather than "this failed":
/// `Err(format!("{SKIP}why"))`, see [`skip`]. The runner reports it as
/// skipped (ptest `SKIP:`); the VM run of `qemu/run test`, where everything
/// must run, counts a skip as a failure.
pub const SKIP: &str = "skip: ";

/// Skip the current test, saying why.
pub fn skip(why: &str) -> TestResult {
    Err(format!("{SKIP}{why}"))
}

/// One integration test.
pub struct Test {
    /// Stable name, printed in the results.
    pub name: &'static str,
    /// The test body.
    pub run: fn() -> TestResult,
}

/// Every test, in the order they run. The boot policy test comes first: it
/// checks the policy loaded at boot, before any test replaces it. The
/// module-unload tests come last because they reload the module. The
/// security tests change the policy and the limits, and restore them before
/// the next test.
pub fn all() -> Vec<Test> {
    let mut v = Vec::new();
    v.extend(crate::t_system::boot_tests());
    v.extend(crate::t_services::tests());
    v.extend(crate::t_unicast::tests());
    v.extend(crate::t_groups::tests());
    v.extend(crate::t_events::tests());
    v.extend(crate::t_badinput::tests());
    v.extend(crate::t_security::tests());
    v.extend(crate::t_concurrency::tests());
    v.extend(crate::t_cli::tests());
    v.extend(crate::t_async::tests());
    v.extend(crate::t_examples::tests());
    v.extend(crate::t_clib::tests());
    v.extend(crate::t_tiny::tests());
    v.extend(crate::t_system::tests());
    v
}

/// Build a `Test` list from function names.
#[macro_export]
macro_rules! tests {
    ($($f:ident),* $(,)?) => {
        pub fn tests() -> Vec<$crate::suite::Test> {
            vec![$($crate::suite::Test { name: stringify!($f), run: $f }),*]
        }
    };
}

/// Fail the test with a formatted reason unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!("{} (line {})", format!($($fmt)+), line!()));
        }
    };
}

/// Unwrap a `Result`, turning an error into a test failure with context.
#[macro_export]
macro_rules! ok {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                return Err(format!(
                    "{} failed: {e:?} (line {})",
                    stringify!($e),
                    line!()
                ))
            }
        }
    };
}

/// Assert that `$e` fails with an error matching `$pat`.
#[macro_export]
macro_rules! fails_with {
    ($e:expr, $pat:pat) => {
        match $e {
            Err($pat) => {}
            other => {
                return Err(format!(
                    "{} returned {other:?}, expected {} (line {})",
                    stringify!($e),
                    stringify!($pat),
                    line!()
                ))
            }
        }
    };
}

/// How long a receive that should succeed may take.
pub const WAIT: Duration = Duration::from_secs(5);
/// How long to wait to be sure nothing arrives.
pub const QUIET: Duration = Duration::from_millis(300);

/// A receive buffer large enough for any message.
pub fn rxbuf() -> Vec<u8> {
    vec![0u8; ipcon::RECV_BUFFER_SIZE]
}

/// A fresh peer, or a test failure.
pub fn peer() -> Result<Peer, String> {
    Peer::open().map_err(|e| format!("Peer::open: {e:?}"))
}

/// Receive one message within `WAIT` and hand it to `f`.
pub fn recv_with<T>(
    p: &Peer,
    buf: &mut [u8],
    f: impl FnOnce(Message<'_>) -> Result<T, String>,
) -> Result<T, String> {
    match p.recv_timeout(buf, WAIT) {
        Ok(m) => f(m),
        Err(e) => Err(format!("recv_timeout: {e:?}")),
    }
}

/// Check that nothing arrives within `QUIET`.
pub fn expect_nothing(p: &Peer, buf: &mut [u8]) -> TestResult {
    match p.recv_timeout(buf, QUIET) {
        Err(ipcon::RecvError::TimedOut) => Ok(()),
        Ok(m) => Err(format!("unexpected message: {m:?}")),
        Err(e) => Err(format!("unexpected error: {e:?}")),
    }
}

/// A name unique to this process and call site, valid for ipcon.
pub fn uniq(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "t{}.{}.{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        tag
    )
}

/// Receive events until one matches `pred` (other events are skipped), or
/// fail after `WAIT`.
pub fn wait_event(
    p: &Peer,
    buf: &mut [u8],
    what: &str,
    mut pred: impl FnMut(&ipcon::Event<'_>) -> bool,
) -> TestResult {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match p.recv_timeout(buf, left) {
            Ok(Message::Event(ev)) if pred(&ev) => return Ok(()),
            Ok(_) => {}
            Err(ipcon::RecvError::TimedOut) => return Err(format!("no event: {what}")),
            Err(e) => return Err(format!("waiting for {what}: {e:?}")),
        }
    }
}
