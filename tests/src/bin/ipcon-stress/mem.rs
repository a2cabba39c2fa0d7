// SPDX-License-Identifier: MIT OR Apache-2.0
//! Kernel slab memory, measured so that two readings can be compared:
//! unreclaimable slab (`SUnreclaim` in /proc/meminfo, where sockets, skbs
//! and every ipcon object live) after letting the kernel settle: a few RCU
//! grace periods (sockets and ipcon objects are freed after one), caches
//! dropped, and every slab cache shrunk (`/sys/kernel/slab/*/shrink`: frees
//! empty slabs and per-CPU partial slabs, and on a KASAN kernel flushes the
//! cache's objects out of the quarantine, where freed objects otherwise
//! stay counted for a while).

use std::fs;
use std::time::{Duration, Instant};

/// How far above its baseline unreclaimable slab may end a phase: the
/// kernel keeps some memory it grew into (hash tables sized for the peak,
/// per-CPU caches, the slab pages of a partly used cache), whatever ipcon
/// does. A leak of one small object per operation of a phase (thousands
/// to a million of them) is well above it.
pub const TOLERANCE_KIB: u64 = 1024;
/// ... plus this share of the baseline (per mille).
pub const TOLERANCE_PERMILLE: u64 = 20;

/// `SUnreclaim` and `Slab` of /proc/meminfo, in KiB.
#[derive(Debug, Clone, Copy)]
pub struct Slab {
    pub unreclaimable: u64,
    pub total: u64,
}

fn meminfo(key: &str) -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Shrink every slab cache (best effort: some refuse, aliases repeat).
fn shrink_all() {
    let Ok(dir) = fs::read_dir("/sys/kernel/slab") else {
        return;
    };
    for e in dir.flatten() {
        let _ = fs::write(e.path().join("shrink"), "1");
    }
}

/// Let the kernel free what it is about to free, then read.
pub fn settled() -> Slab {
    std::thread::sleep(Duration::from_millis(1500));
    let _ = fs::write("/proc/sys/vm/drop_caches", "3");
    shrink_all();
    std::thread::sleep(Duration::from_millis(500));
    shrink_all();
    Slab {
        unreclaimable: meminfo("SUnreclaim").unwrap_or(0),
        total: meminfo("Slab").unwrap_or(0),
    }
}

/// The most unreclaimable slab may grow over `baseline`.
pub fn tolerance(baseline: &Slab) -> u64 {
    TOLERANCE_KIB + baseline.unreclaimable * TOLERANCE_PERMILLE / 1000
}

/// After a phase: settle until unreclaimable slab is back within the
/// tolerance of `baseline`, for at most `patience`; the last reading and
/// whether it is within.
pub fn back_to(baseline: &Slab, patience: Duration) -> (Slab, bool) {
    let deadline = Instant::now() + patience;
    loop {
        let now = settled();
        let ok = now.unreclaimable <= baseline.unreclaimable + tolerance(baseline);
        if ok || Instant::now() >= deadline {
            return (now, ok);
        }
    }
}
