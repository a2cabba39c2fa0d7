// SPDX-License-Identifier: MIT OR Apache-2.0
//! One fuzzing process: it enters its network namespace, becomes its uid,
//! then until its time is up opens and closes sockets, pairs them, sends
//! generated and mutated requests (alone or batched in one sendmsg), reads
//! everything the kernel sends back, and closes sockets in the middle of
//! dumps. It reports counts on stdout (see `stats`) and ends with a
//! finding (`F` line, exit status 3) when the kernel does something the
//! UAPI rules out:
//! - a datagram from a port other than 0 (only the kernel speaks ipcon,
//!   and the fuzzer itself only ever sends to port 0);
//! - a message from the kernel that does not frame correctly, or a
//!   delivery with a sequence number or flags;
//! - no answer: a request whose ack must come (or the sentinel sent after
//!   requests whose answers cannot be predicted) unanswered for `hang`.
//!   An ack can be dropped like any message when the socket's queue is
//!   full (the socket then reports an overrun, ENOBUFS); the worker then
//!   reads the queue empty and sends a sentinel, whose ack must come.

use std::io::Write;
use std::time::{Duration, Instant};

use ipcon::uapi::*;

use crate::gen::{self, Ctx, Know};
use crate::nl::{
    as_u32, as_u64, check_datagram, seq_of, Recv, Sock, GENL_ID_CTRL, NLMSG_DONE, NLMSG_ERROR,
    NLM_F_MULTI, RECV_MAX,
};
use crate::rng::Rng;
use crate::stats::Stats;

/// Most sockets a worker keeps open at once.
const SOCKETS_MAX: usize = 8;
/// How often counts are reported.
const REPORT_EVERY: Duration = Duration::from_millis(500);

/// The worker's command line (see `main`).
pub struct Args {
    pub seed: u64,
    pub stream: u64,
    pub secs: f64,
    pub hang: Duration,
    pub uid: u32,
    pub gid: u32,
    pub netns: Option<String>,
}

/// A finding, or a failure of the worker itself.
enum Stop {
    Finding(String),
    Io(String),
}

struct Slot {
    sock: Sock,
    seq: u32,
    /// An overrun was seen and the queue has not been read empty since:
    /// netlink drops everything sent to the socket meanwhile (acks
    /// included) without flagging another overrun.
    congested: bool,
}

impl Slot {
    fn new(sock: Sock) -> Slot {
        Slot {
            sock,
            seq: 1,
            congested: false,
        }
    }
}

struct Worker {
    rng: Rng,
    family: u16,
    socks: Vec<Slot>,
    know: Know,
    stats: Stats,
    last_report: Instant,
    hang: Duration,
    buf: Vec<u8>,
}

/// What the awaited answer was.
#[derive(Clone, Copy)]
struct Answer {
    errno: i32,
}

/// Run a worker; the result is the process exit status.
pub fn run(a: Args) -> i32 {
    if let Err(e) = enter(&a) {
        eprintln!("ipcon-fuzz worker: {e}");
        return 2;
    }
    let mut w = match Worker::new(&a) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ipcon-fuzz worker: {e}");
            return 2;
        }
    };
    let end = Instant::now() + Duration::from_secs_f64(a.secs);
    let mut status = 0;
    while Instant::now() < end {
        match w.step() {
            Ok(()) => {}
            Err(Stop::Finding(f)) => {
                w.report();
                println!("F {f}");
                status = 3;
                break;
            }
            Err(Stop::Io(e)) => {
                w.report();
                eprintln!("ipcon-fuzz worker: {e}");
                status = 2;
                break;
            }
        }
        if w.last_report.elapsed() >= REPORT_EVERY {
            w.report();
        }
    }
    w.report();
    let _ = std::io::stdout().flush();
    status
}

/// Enter the network namespace (needs root), then take the credentials.
fn enter(a: &Args) -> Result<(), String> {
    use rustix::process::{Gid, Uid};
    use rustix::thread::{
        move_into_link_name_space, set_thread_groups, set_thread_res_gid, set_thread_res_uid,
        LinkNameSpaceType,
    };
    if let Some(ns) = &a.netns {
        let f = std::fs::File::open(ns).map_err(|e| format!("{ns}: {e}"))?;
        move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&f),
            Some(LinkNameSpaceType::Network),
        )
        .map_err(|e| format!("setns {ns}: {e}"))?;
    }
    if a.uid != 0 {
        // A single thread so far: the thread's credentials are the process's.
        let gid = Gid::from_raw(a.gid);
        set_thread_groups(&[]).map_err(|e| format!("setgroups: {e}"))?;
        set_thread_res_gid(gid, gid, gid).map_err(|e| format!("setresgid: {e}"))?;
        let uid = Uid::from_raw(a.uid);
        set_thread_res_uid(uid, uid, uid).map_err(|e| format!("setresuid: {e}"))?;
    }
    Ok(())
}

impl Worker {
    fn new(a: &Args) -> Result<Worker, String> {
        let first = Sock::open().map_err(|e| format!("socket: {e}"))?;
        let family = crate::nl::resolve_family(&first)?;
        Ok(Worker {
            rng: Rng::new(a.seed, a.stream),
            family,
            socks: vec![Slot::new(first)],
            know: Know::default(),
            stats: Stats::default(),
            last_report: Instant::now(),
            hang: a.hang,
            buf: vec![0u8; RECV_MAX],
        })
    }

    fn report(&mut self) {
        println!("{}", self.stats.line());
        let _ = std::io::stdout().flush();
        self.stats = Stats::default();
        self.last_report = Instant::now();
    }

    fn step(&mut self) -> Result<(), Stop> {
        if self.socks.is_empty() {
            self.open()?;
        }
        match self.rng.weighted(&[4, 3, 3, 3, 87]) {
            0 => self.open()?,
            1 => {
                if self.socks.len() > 1 {
                    let i = self.rng.index(self.socks.len());
                    self.socks.remove(i);
                }
            }
            2 => self.dump_and_close()?,
            3 => self.pair()?,
            _ => self.requests()?,
        }
        self.drain()
    }

    fn new_socket(&mut self) -> Result<Sock, Stop> {
        let s = Sock::open().map_err(|e| Stop::Io(format!("socket: {e}")))?;
        // Small queues overrun, and overruns are code paths too.
        if self.rng.pct(25) {
            s.set_rcvbuf(*self.rng.pick(&[1024, 4096, 16384]));
        }
        Ok(s)
    }

    fn open(&mut self) -> Result<(), Stop> {
        if self.socks.len() >= SOCKETS_MAX {
            let i = self.rng.index(self.socks.len());
            self.socks.remove(i);
        }
        let sock = self.new_socket()?;
        self.socks.push(Slot::new(sock));
        Ok(())
    }

    fn next_seq(&mut self, i: usize) -> u32 {
        let s = &mut self.socks[i];
        s.seq = s.seq.wrapping_add(1);
        s.seq
    }

    /// One sendmsg of one request, or of a batch of several; then wait
    /// for the kernel to have dealt with it.
    fn requests(&mut self) -> Result<(), Stop> {
        let i = self.rng.index(self.socks.len());
        let n = if self.rng.pct(10) {
            self.rng.range(2, 6)
        } else {
            1
        };
        let own: Vec<u32> = self.socks.iter().map(|s| s.sock.port).collect();
        let mut bytes = Vec::new();
        let mut predictable = n == 1;
        let mut last = None;
        for _ in 0..n {
            let seq = self.next_seq(i);
            let cx = Ctx {
                family: self.family,
                port: self.socks[i].sock.port,
                seq,
                own_ports: &own,
                know: &self.know,
            };
            let mut r = gen::request(&mut self.rng, &cx);
            self.stats.add(&format!("cmd.{}", r.cmd), 1);
            if self.rng.pct(25) {
                gen::mutate(&mut self.rng, &mut r.bytes, self.family);
                self.stats.add("mutated", 1);
                predictable = false;
            }
            bytes.extend_from_slice(&r.bytes);
            last = Some(r);
        }
        let last = last.expect("at least one request");
        if bytes.is_empty() {
            // (truncated to nothing: netlink refuses empty datagrams with
            // ENODATA and a warning of its own)
            self.stats.add("empty", 1);
            return Ok(());
        }
        self.stats.add("sent", n);
        self.stats.add("calls", 1);
        if n > 1 {
            self.stats.add("batches", 1);
        }
        if let Err(e) = self.socks[i].sock.send(&bytes) {
            self.stats.add(&format!("senderr.{}", e.raw_os_error()), 1);
            return Ok(());
        }
        if predictable {
            // A dump is sometimes abandoned after a part or two.
            let early = if last.dump && self.rng.pct(15) {
                Some(self.rng.below(3))
            } else {
                None
            };
            self.wait(i, last.seq, last.dump, early).map(|_| ())
        } else {
            self.sentinel(i).map(|_| ())
        }
    }

    /// Send the sentinel on socket `i` and wait for its ack.
    fn sentinel(&mut self, i: usize) -> Result<Option<Answer>, Stop> {
        let seq = self.next_seq(i);
        let m = gen::sentinel(self.family, seq, self.socks[i].sock.port);
        self.stats.add("sentinels", 1);
        if let Err(e) = self.socks[i].sock.send(&m) {
            return Err(Stop::Io(format!("sending the sentinel: {e}")));
        }
        self.wait(i, seq_of(&m), false, None)
    }

    /// Read socket `i` until the answer to `seq` (its ack, or for a dump
    /// its end) arrives; with `early`, close the socket after that many
    /// dump datagrams instead. An overrun may have dropped the answer: then
    /// a sentinel is sent, and its ack (or the original answer) ends the
    /// wait. Nothing within `hang` (and no overrun) is a hang.
    fn wait(
        &mut self,
        i: usize,
        seq: u32,
        dump: bool,
        early: Option<u64>,
    ) -> Result<Option<Answer>, Stop> {
        let mut awaited = vec![seq];
        let started = Instant::now();
        let mut deadline = started + self.hang;
        let (mut datagrams, mut overruns) = (0u64, 0u64);
        // Sent while the socket was congested, the answer may be lost.
        let mut resend = self.socks[i].congested;
        loop {
            // Waiting is not silence: the coordinator's watchdog is for
            // system calls that do not return.
            if self.last_report.elapsed() >= REPORT_EVERY {
                self.report();
            }
            if let Some(k) = early {
                if dump && datagrams >= k {
                    self.socks.remove(i);
                    self.stats.add("early_closes", 1);
                    return Ok(None);
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Stop::Finding(format!(
                    "hang: no answer to request {seq}{} (then sentinels {:?}) on port {} for {} s \
                     ({datagrams} datagrams and {overruns} overruns in {:.0} s of waiting)",
                    if dump { " (a dump)" } else { "" },
                    &awaited[1..],
                    self.socks[i].sock.port,
                    self.hang.as_secs(),
                    started.elapsed().as_secs_f64()
                )));
            }
            // After an overrun, read the queue empty first: netlink keeps
            // dropping everything sent to a congested socket (without
            // flagging another overrun) until its queue has been read
            // empty, so a sentinel sent earlier would be lost too.
            let wait = if resend {
                Duration::ZERO
            } else {
                (deadline - now).min(Duration::from_millis(250))
            };
            let got = self.socks[i]
                .sock
                .recv(&mut self.buf, wait)
                .map_err(|e| Stop::Io(format!("recv: {e}")))?;
            match got {
                Recv::Datagram { len, full, src } => {
                    datagrams += 1;
                    if let Some(a) = self.take(i, len, full, src, &awaited)? {
                        return Ok(Some(a));
                    }
                }
                Recv::Overrun => {
                    // The answer may be what was dropped: ask again, once
                    // the queue is empty.
                    self.stats.add("overruns", 1);
                    self.socks[i].congested = true;
                    overruns += 1;
                    resend = true;
                }
                Recv::Empty if resend => {
                    self.socks[i].congested = false;
                    resend = false;
                    let s = self.next_seq(i);
                    let m = gen::sentinel(self.family, s, self.socks[i].sock.port);
                    self.stats.add("sentinels", 1);
                    if self.socks[i].sock.send(&m).is_ok() {
                        awaited.push(s);
                    }
                    deadline = Instant::now() + self.hang;
                }
                Recv::Empty => self.socks[i].congested = false,
            }
        }
    }

    /// Read whatever is queued on every socket.
    fn drain(&mut self) -> Result<(), Stop> {
        for i in 0..self.socks.len() {
            for _ in 0..32 {
                let got = self.socks[i]
                    .sock
                    .recv(&mut self.buf, Duration::ZERO)
                    .map_err(|e| Stop::Io(format!("recv: {e}")))?;
                match got {
                    Recv::Datagram { len, full, src } => {
                        self.take(i, len, full, src, &[])?;
                    }
                    Recv::Overrun => {
                        self.stats.add("overruns", 1);
                        self.socks[i].congested = true;
                    }
                    Recv::Empty => {
                        self.socks[i].congested = false;
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// Judge and count one datagram received on socket `i`, learn ports,
    /// ids and tokens from it; the answer to one of `awaited` if it holds
    /// one.
    fn take(
        &mut self,
        i: usize,
        len: usize,
        full: usize,
        src: u32,
        awaited: &[u32],
    ) -> Result<Option<Answer>, Stop> {
        if src != 0 {
            return Err(Stop::Finding(format!(
                "non-kernel sender: a {full}-byte datagram from port {src} on port {}",
                self.socks[i].sock.port
            )));
        }
        if full > len {
            // Larger than any answer the fuzzer can provoke: count it, it
            // cannot be checked.
            self.stats.add("truncated", 1);
            return Ok(None);
        }
        let port = self.socks[i].sock.port;
        let family = self.family;
        let msgs = match check_datagram(&self.buf[..len], family) {
            Ok(m) => m,
            Err(e) => {
                let head: Vec<String> = self.buf[..len.min(48)]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                return Err(Stop::Finding(format!(
                    "malformed datagram from the kernel on port {port}: {e}; first bytes {}",
                    head.join("")
                )));
            }
        };
        let mut answer = None;
        let mut found = Vec::new();
        for m in &msgs {
            self.stats.add("replies", 1);
            match m.ty {
                NLMSG_ERROR | NLMSG_DONE => {
                    let e = m.errno().unwrap_or(0);
                    if m.ty == NLMSG_ERROR {
                        self.stats.add("acks", 1);
                    } else {
                        self.stats.add("dumps_done", 1);
                    }
                    self.stats.add(&format!("errno.{e}"), 1);
                    if awaited.contains(&m.seq) {
                        answer = Some(Answer { errno: e });
                    }
                }
                t if t == family => {
                    let cmd = m.cmd();
                    let delivery = matches!(
                        cmd,
                        IPCON_CMD_MSG | IPCON_CMD_GRP_MSG | IPCON_CMD_EVENT | IPCON_CMD_LOST
                    );
                    if delivery {
                        if m.seq != 0 || m.flags != 0 {
                            return Err(Stop::Finding(format!(
                                "delivery (command {cmd}) with seq {} flags {:#x} on port {port}",
                                m.seq, m.flags
                            )));
                        }
                        self.stats.add("deliveries", 1);
                    } else if m.flags & NLM_F_MULTI != 0 {
                        self.stats.add("dump_parts", 1);
                    } else {
                        self.stats.add("data", 1);
                    }
                    for (ty, v) in m.attrs() {
                        match ty {
                            IPCON_A_PORT | IPCON_A_SRC_PORT => {
                                if let Some(p) = as_u32(v) {
                                    found.push(Learnt::Port(p));
                                }
                            }
                            IPCON_A_ID | IPCON_A_SRC_ID => {
                                if let Some(id) = as_u64(v) {
                                    found.push(Learnt::Id(id));
                                }
                            }
                            IPCON_A_TOKEN if cmd == IPCON_CMD_PAIR_START => {
                                if let Some(t) = as_u64(v) {
                                    found.push(Learnt::Token(port, t));
                                }
                            }
                            _ => {}
                        }
                    }
                }
                GENL_ID_CTRL => {
                    if m.flags & NLM_F_MULTI != 0 {
                        self.stats.add("dump_parts", 1);
                    } else {
                        self.stats.add("data", 1);
                    }
                }
                _ => self.stats.add("other", 1),
            }
        }
        for l in found {
            match l {
                Learnt::Port(p) => self.know.port(p),
                Learnt::Id(id) => self.know.id(id),
                Learnt::Token(p, t) => self.know.token(p, t),
            }
        }
        Ok(answer)
    }

    /// A fresh socket asks for a dump (sometimes after becoming a peer),
    /// reads a part or two at most, and is closed mid-dump.
    fn dump_and_close(&mut self) -> Result<(), Stop> {
        let sock = self.new_socket()?;
        self.socks.push(Slot::new(sock));
        let i = self.socks.len() - 1;
        if self.rng.pct(50) {
            // Become a peer first (its teardown then races the dump).
            self.sentinel(i)?;
        }
        let seq = self.next_seq(i);
        let cmd = *self
            .rng
            .pick(&[IPCON_CMD_SRV_LIST, IPCON_CMD_GRP_LIST, IPCON_CMD_POLICY_GET]);
        let m = crate::nl::message(
            self.family,
            crate::nl::NLM_F_REQUEST | crate::nl::NLM_F_DUMP,
            seq,
            self.socks[i].sock.port,
            cmd,
            IPCON_GENL_VERSION,
            &[],
        );
        self.stats.add(&format!("cmd.{cmd}"), 1);
        self.stats.add("sent", 1);
        self.stats.add("calls", 1);
        if let Err(e) = self.socks[i].sock.send(&m) {
            self.stats.add(&format!("senderr.{}", e.raw_os_error()), 1);
            self.socks.remove(i);
            return Ok(());
        }
        let k = self.rng.below(3);
        // (wait closes the socket after k parts; if the dump ended first,
        // it is closed here)
        if self.wait(i, seq, true, Some(k))?.is_some() {
            self.socks.remove(i);
        }
        Ok(())
    }

    /// The two-socket pairing, done right (mostly): PAIR_START on a new
    /// socket R, then PAIR on a new socket C with R's port and token.
    fn pair(&mut self) -> Result<(), Stop> {
        while self.socks.len() + 2 > SOCKETS_MAX {
            let i = self.rng.index(self.socks.len());
            self.socks.remove(i);
        }
        let r = self.new_socket()?;
        let r_port = r.port;
        self.socks.push(Slot::new(r));
        let ri = self.socks.len() - 1;
        let seq = self.next_seq(ri);
        let m = crate::nl::message(
            self.family,
            crate::nl::NLM_F_REQUEST | crate::nl::NLM_F_ACK,
            seq,
            r_port,
            IPCON_CMD_PAIR_START,
            IPCON_GENL_VERSION,
            &[],
        );
        self.stats.add("cmd.1", 1);
        self.stats.add("sent", 1);
        self.stats.add("calls", 1);
        if self.socks[ri].sock.send(&m).is_err() {
            return Ok(());
        }
        match self.wait(ri, seq, false, None)? {
            Some(Answer { errno: 0 }) => {}
            _ => return Ok(()),
        }
        let Some(&(_, token)) = self.know.tokens.iter().rev().find(|t| t.0 == r_port) else {
            return Err(Stop::Finding(format!(
                "PAIR_START on port {r_port} succeeded without a token reply"
            )));
        };
        let c = self.new_socket()?;
        self.socks.push(Slot::new(c));
        let ci = self.socks.len() - 1;
        let token = if self.rng.pct(90) {
            token
        } else {
            token.rotate_left(1)
        };
        let mut a = Vec::new();
        crate::nl::attr(&mut a, IPCON_A_PORT, &r_port.to_ne_bytes());
        if self.rng.pct(50) {
            crate::nl::attr(&mut a, IPCON_A_PAD, &[]);
        }
        crate::nl::attr(&mut a, IPCON_A_TOKEN, &token.to_ne_bytes());
        let seq = self.next_seq(ci);
        let m = crate::nl::message(
            self.family,
            crate::nl::NLM_F_REQUEST | crate::nl::NLM_F_ACK,
            seq,
            self.socks[ci].sock.port,
            IPCON_CMD_PAIR,
            IPCON_GENL_VERSION,
            &a,
        );
        self.stats.add("cmd.2", 1);
        self.stats.add("sent", 1);
        self.stats.add("calls", 1);
        if self.socks[ci].sock.send(&m).is_err() {
            return Ok(());
        }
        if let Some(Answer { errno: 0 }) = self.wait(ci, seq, false, None)? {
            self.stats.add("pairs", 1);
        }
        Ok(())
    }
}

enum Learnt {
    Port(u32),
    Id(u64),
    Token(u32, u64),
}
