// SPDX-License-Identifier: MIT OR Apache-2.0
//! Child roles for the concurrency tests (t_concurrency.rs): processes
//! that keep the module busy while something else happens to them.

use std::io::BufRead;
use std::time::Duration;

use ipcon::uapi::*;
use ipcon::{Error, GroupFlags, Peer};

use crate::raw::{attr, Raw};

fn parse<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("not a number: {s:?}"))
}

/// The value of a u32 or u64 attribute `ty` in a generic netlink message.
fn find_attr(msg: &[u8], ty: u16) -> Option<&[u8]> {
    let mut pos = 20;
    while pos + 4 <= msg.len() {
        let len = u16::from_ne_bytes([msg[pos], msg[pos + 1]]) as usize;
        let t = u16::from_ne_bytes([msg[pos + 2], msg[pos + 3]]) & 0x3fff;
        if len < 4 || pos + len > msg.len() {
            return None;
        }
        if t == ty {
            return Some(&msg[pos + 4..pos + len]);
        }
        pos += (len + 3) & !3;
    }
    None
}

/// `pair-race PORT`: a peer made of two raw sockets, a receive socket R and
/// a control socket C, paired by hand. Prints "ready PORT ID", then a
/// thread sends to PORT on C as fast as acks come back, while the main
/// thread, told "close" on stdin, closes R under it: the peer ends while
/// a send may be in flight on C. Prints "stopped N" (messages sent).
pub fn pair_race(port: &str) -> Result<(), String> {
    let dest: u32 = parse(port)?;
    let mut r = Raw::open()?;
    let mut c = Raw::open()?;

    let start = r.ipcon(IPCON_CMD_PAIR_START, &[]);
    r.send(&start)?;
    let (mut token, mut id) = (None, None);
    while token.is_none() || id.is_none() {
        let m = r.recv_msg()?;
        if m.len() >= 20 && m[16] == IPCON_CMD_PAIR_START {
            token = find_attr(&m, IPCON_A_TOKEN).map(|v| v.try_into().map(u64::from_ne_bytes));
            id = find_attr(&m, IPCON_A_ID).map(|v| v.try_into().map(u64::from_ne_bytes));
        }
    }
    let token = token
        .and_then(Result::ok)
        .ok_or("PAIR_START without a token")?;
    let id = id.and_then(Result::ok).ok_or("PAIR_START without an id")?;
    // The ack of PAIR_START is still queued on R; nobody reads R again.

    let mut a = Vec::new();
    attr(&mut a, IPCON_A_PORT, &r.port().to_ne_bytes());
    attr(&mut a, IPCON_A_TOKEN, &token.to_ne_bytes());
    let pair = c.ipcon(IPCON_CMD_PAIR, &a);
    match c.request(&pair)? {
        0 => {}
        e => return Err(format!("PAIR: errno {e}")),
    }
    println!("ready {} {id}", r.port());

    let flood = std::thread::spawn(move || -> Result<u32, String> {
        let mut sent = 0u32;
        loop {
            let mut a = Vec::new();
            attr(&mut a, IPCON_A_PORT, &dest.to_ne_bytes());
            attr(&mut a, IPCON_A_DATA, &sent.to_ne_bytes());
            let m = c.ipcon(IPCON_CMD_SEND, &a);
            match c.request(&m)? {
                0 => sent += 1,
                // the receiver is behind: give it time
                e if e == crate::raw::errno::ENOBUFS => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                // the pair is broken: R was closed
                e if e == crate::raw::errno::ENOTCONN => return Ok(sent),
                e => return Err(format!("SEND: errno {e}")),
            }
            std::thread::sleep(Duration::from_micros(500));
        }
    });
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    drop(r);
    let sent = flood.join().map_err(|_| "flood thread panicked")??;
    println!("stopped {sent}");
    Ok(())
}

/// `churn PREFIX N`: register and unregister N services PREFIX.0 ..
/// PREFIX.N-1, each once, leave the last three registered, print
/// "done ID" and exit (the kernel then removes those three and reports the
/// peer gone).
pub fn churn(prefix: &str, n: &str) -> Result<(), String> {
    let n: u32 = parse(n)?;
    let mut p = Peer::open().map_err(|e| format!("open: {e:?}"))?;
    for i in 0..n {
        let name = format!("{prefix}.{i}");
        p.register_service(&name)
            .map_err(|e| format!("register {name}: {e:?}"))?;
        if i + 3 < n {
            p.unregister_service(&name)
                .map_err(|e| format!("unregister {name}: {e:?}"))?;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("done {}", p.id());
    Ok(())
}

/// `publish-seq GROUP`: own the retaining GROUP, publish 1 (so a joiner
/// always finds a retained message), print "ready PORT ID", then publish
/// 2, 3, ... (u32) every millisecond until stdin closes; print
/// "published N".
pub fn publish_seq(group: &str) -> Result<(), String> {
    let mut p = Peer::open().map_err(|e| format!("open: {e:?}"))?;
    p.register_group(group, GroupFlags::RETAIN)
        .map_err(|e| format!("register: {e:?}"))?;
    // Nobody is a member yet: the message is only retained.
    let mut seq = 1u32;
    p.publish(group, &seq.to_ne_bytes())
        .map_err(|e| format!("publish {seq}: {e:?}"))?;
    println!("ready {} {}", p.port(), p.id());
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::stdin().lock().read_line(&mut s);
        let _ = tx.send(());
    });
    while rx.try_recv().is_err() {
        seq += 1;
        match p.publish(group, &seq.to_ne_bytes()) {
            Ok(()) => {}
            Err(Error::QueueFull) => {}
            Err(e) => return Err(format!("publish {seq}: {e:?}")),
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    println!("published {seq}");
    Ok(())
}
