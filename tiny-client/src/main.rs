// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ipcon-tiny`: the smallest useful ipcon program, the footprint floor of
//! a client on a device (at most 64 KiB stripped, static).
//!
//! An echo service: it registers `tiny.echo`, sends every unicast message
//! back to its sender's id (kernel-stamped, never reused), and exits with
//! status 0 when a message reads `quit`. Without a way to print (no std),
//! the exit status names the step that failed: 2 opening the peer (is the
//! module loaded?), 3 registering the name, 4 sending a reply, 5
//! receiving, 6 a message it could not parse. No std, no
//! heap: the crate with its default features off, one 2 KiB receive buffer
//! on the stack (a larger message is skipped). Nothing of a C library but program start and the memory
//! functions (`memcpy` and friends): the harness links musl's `crt1.o` and
//! `libc.a` statically (`qemu/lib/tiny.sh`); glibc's static memory
//! functions are IFUNCs that only glibc's own start-up resolves, and its
//! start-up alone is larger than this whole program.
#![no_std]
#![no_main]
#![deny(unsafe_code)]
#![deny(missing_docs)]

use ipcon::{Message, Peer, RecvError};

/// The service this program answers as.
const SERVICE: &str = "tiny.echo";
/// The receive buffer: a message with its headers (about 150 bytes, the
/// sender's service name included) must fit, or it is skipped.
const BUF: usize = 2048;

/// The C entry point, called by the C library's start-up code (`crt1.o`).
///
/// An exported, unmangled symbol is the one thing a program without std
/// cannot do without, and the `unsafe_code` lint counts `no_mangle` as
/// unsafe (two functions of one name would be undefined behaviour); the
/// name is `main` and nothing else in the program defines it.
#[allow(unsafe_code)]
#[no_mangle]
extern "C" fn main() -> i32 {
    match serve() {
        Ok(()) => 0,
        Err(step) => step as i32,
    }
}

/// The step that failed, as the exit status.
#[derive(Clone, Copy)]
enum Failed {
    Open = 2,
    Register = 3,
    Reply = 4,
    Receive = 5,
    Garbled = 6,
}

/// Echo until `quit`.
fn serve() -> Result<(), Failed> {
    let mut peer = Peer::open().map_err(|_| Failed::Open)?;
    peer.register_service(SERVICE)
        .map_err(|_| Failed::Register)?;
    let mut buf = [0u8; BUF];
    loop {
        let m = match peer.recv(&mut buf) {
            Ok(Message::Unicast(m)) => m,
            // group messages, events: not for an echo service
            Ok(_) => continue,
            // larger than the buffer: consumed, the sender's problem
            Err(RecvError::Truncated { .. }) => continue,
            Err(RecvError::Protocol(_)) => return Err(Failed::Garbled),
            Err(_) => return Err(Failed::Receive),
        };
        if m.data == b"quit" {
            return Ok(());
        }
        peer.send_to_id(m.sender.id, m.data)
            .map_err(|_| Failed::Reply)?;
    }
}

/// Without std a panic needs a handler: end the process at once, as
/// `panic = "abort"` would (SIGABRT, a core dump where enabled).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    let _ =
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::ABORT);
    loop {}
}
