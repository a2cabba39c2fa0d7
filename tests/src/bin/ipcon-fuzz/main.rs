// SPDX-License-Identifier: MIT OR Apache-2.0
//! ipcon-fuzz: a structure-aware fuzzer of the ipcon generic netlink
//! family, run inside a VM by `qemu/run fuzz` (and, for a bounded time, by
//! `qemu/run test`), as root.
//!
//! The coordinator (this process) starts workers (`worker.rs`) in two
//! network namespaces (its own, and one made with `unshare -n`), as uid 0,
//! 1000 and 1001; SIGKILLs a random worker at random times and starts a new
//! one in its place; resets the policy of each namespace every few seconds
//! (workers may set policies, mostly valid and allowing, but a worker
//! killed right after setting a denying one must not spoil the rest of the
//! run); watches for hangs. At the end it checks that every namespace is
//! empty of the workers' names once they are gone, that the family still
//! works, and puts the policy back as it found it.
//!
//! It fails (exit status 1) on a datagram from a non-kernel sender, a
//! malformed message from the kernel, a hang (a request unanswered, a
//! worker silent, or a SIGKILLed worker not reaped, for `--hang` seconds),
//! a worker that died otherwise, or a failed final check. Kernel reports
//! (KASAN, lockdep, warnings...) end the VM; the host judges those.
//!
//! `--seed N` reproduces the message streams and the kill schedule; the
//! interleaving of the processes is up to the scheduler.

mod gen;
mod nl;
mod rng;
mod stats;
mod worker;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipcon::policy::Policy;
use ipcon::{GroupFlags, JoinFlags, Message, Peer};

use rng::Rng;
use stats::{cmd_name, errno_name, Stats};

/// The result lines this program writes with `--results` (and `--list`s).
const TESTS: &[&str] = &[
    "fuzz_workers_ran",
    "fuzz_only_kernel_senders",
    "fuzz_kernel_messages_well_formed",
    "fuzz_no_hang",
    "fuzz_nothing_left_behind",
    "fuzz_family_works_after",
    "fuzz_policy_restored",
];

/// Uids of the workers of a namespace, in turn.
const UIDS: &[u32] = &[0, 1000, 0, 1001];

/// How often the coordinator resets each namespace's policy.
const POLICY_RESET: Duration = Duration::from_secs(5);

struct Opts {
    secs: u64,
    seed: u64,
    workers: usize,
    hang: u64,
    results: Option<File>,
}

fn usage() -> ! {
    println!(
        "usage: ipcon-fuzz [--time SECS] [--seed N] [--workers N] [--hang SECS] [--results PATH] [--list]\n\
         Fuzzes the ipcon family (as root, module loaded) for SECS seconds (default 60)\n\
         with N workers per network namespace (default 4, two namespaces), and fails\n\
         on a non-kernel sender, a malformed kernel message or a hang (nothing for\n\
         --hang seconds, default 60). --seed reproduces a run's message streams and\n\
         kill schedule. --results appends '@@ test' and '@@ info' lines for the harness."
    );
    std::process::exit(0)
}

fn bad(msg: &str) -> ! {
    eprintln!("ipcon-fuzz: {msg} (see --help)");
    std::process::exit(2)
}

fn num<T: std::str::FromStr>(s: Option<&String>, what: &str) -> T {
    s.and_then(|s| s.parse().ok())
        .unwrap_or_else(|| bad(&format!("{what} needs a number")))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--worker") if args.len() == 9 => std::process::exit(worker::run(worker::Args {
            seed: num(args.get(2), "seed"),
            stream: num(args.get(3), "stream"),
            secs: num(args.get(4), "secs"),
            hang: Duration::from_secs(num(args.get(5), "hang")),
            uid: num(args.get(6), "uid"),
            gid: num(args.get(7), "gid"),
            netns: (args[8] != "-").then(|| args[8].clone()),
        })),
        Some("--hold-netns") => {
            // Keep the namespace alive until the coordinator closes stdin.
            println!("ready");
            let _ = std::io::stdout().flush();
            let mut s = String::new();
            let _ = std::io::stdin().read_line(&mut s);
            return;
        }
        _ => {}
    }
    let mut o = Opts {
        secs: 60,
        seed: 0,
        workers: 4,
        hang: 60,
        results: None,
    };
    let mut seed = None;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--time" => {
                i += 1;
                o.secs = num(args.get(i), "--time");
            }
            "--seed" => {
                i += 1;
                seed = Some(num(args.get(i), "--seed"));
            }
            "--workers" => {
                i += 1;
                o.workers = num(args.get(i), "--workers");
            }
            "--hang" => {
                i += 1;
                o.hang = num(args.get(i), "--hang");
            }
            "--results" => {
                i += 1;
                let p = args.get(i).unwrap_or_else(|| bad("--results needs a path"));
                o.results = Some(
                    std::fs::OpenOptions::new()
                        .append(true)
                        .open(p)
                        .unwrap_or_else(|e| bad(&format!("{p}: {e}"))),
                );
            }
            "--list" => {
                for t in TESTS {
                    println!("{t}");
                }
                return;
            }
            "-h" | "--help" => usage(),
            other => bad(&format!("unknown argument '{other}'")),
        }
        i += 1;
    }
    if o.workers == 0 {
        bad("--workers must be at least 1");
    }
    o.seed = seed.unwrap_or_else(|| {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        (t ^ u64::from(std::process::id()).rotate_left(32)) % 1_000_000_000
    });
    std::process::exit(Coordinator::run(o))
}

/// One worker place: a namespace, a uid, and the process now in it.
struct Place {
    ns: usize,
    index: usize,
    uid: u32,
    incarnation: u64,
    child: Option<Child>,
    last_seen: Instant,
    killed_at: Option<Instant>,
    /// A hang was reported for this process: do not report it again.
    stuck: bool,
}

enum Event {
    Line(usize, u64, String),
}

/// What the run found, by result line.
#[derive(Default)]
struct Findings {
    foreign: Vec<String>,
    malformed: Vec<String>,
    hang: Vec<String>,
    died: Vec<String>,
    other: Vec<String>,
}

struct Coordinator {
    o: Opts,
    exe: String,
    netns_path: String,
    places: Vec<Place>,
    tx: mpsc::Sender<Event>,
    total: Stats,
    per_ns: [Stats; 2],
    found: Findings,
    kills: u64,
    respawns: u64,
    end: Instant,
}

impl Coordinator {
    fn run(o: Opts) -> i32 {
        let exe = match std::env::current_exe() {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(e) => bad(&format!("current_exe: {e}")),
        };
        println!(
            "ipcon-fuzz: seed {} (reproduce: ipcon-fuzz --seed {} --time {}), {} s, \
             {} workers in each of 2 network namespaces",
            o.seed, o.seed, o.secs, o.secs, o.workers
        );
        let _ = std::io::stdout().flush();
        // The module must be there, and the policy is put back at the end.
        let saved = match Peer::open().and_then(|mut p| {
            let mut buf = vec![0u8; ipcon::policy::POLICY_BUFFER_SIZE];
            p.policy(&mut buf)
        }) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("ipcon-fuzz: reading the policy: {e}");
                return 2;
            }
        };
        let mut holder = match Command::new("unshare")
            .args(["-n", &exe, "--hold-netns"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ipcon-fuzz: unshare -n: {e}");
                return 2;
            }
        };
        let mut line = String::new();
        if let Some(out) = holder.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() != "ready" {
            eprintln!("ipcon-fuzz: the second network namespace did not come up");
            return 2;
        }
        let netns_path = format!("/proc/{}/ns/net", holder.id());
        let netns = match File::open(&netns_path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("ipcon-fuzz: {netns_path}: {e}");
                return 2;
            }
        };
        let (tx, rx) = mpsc::channel();
        let start = Instant::now();
        let mut c = Coordinator {
            end: start + Duration::from_secs(o.secs),
            o,
            exe,
            netns_path,
            places: Vec::new(),
            tx,
            total: Stats::default(),
            per_ns: [Stats::default(), Stats::default()],
            found: Findings::default(),
            kills: 0,
            respawns: 0,
        };
        let stop = AtomicBool::new(false);
        let mut checks = Vec::new();
        std::thread::scope(|s| {
            let guards = [
                s.spawn(|| in_netns(None, || policy_guard(&stop))),
                s.spawn(|| in_netns(Some(&netns), || policy_guard(&stop))),
            ];
            c.fuzz(&rx);
            stop.store(true, Ordering::Relaxed);
            for (ns, g) in guards.into_iter().enumerate() {
                match g.join() {
                    Ok(Ok(n)) => c.total.add("policy_resets", n),
                    Ok(Err(e)) => c
                        .found
                        .other
                        .push(format!("namespace {ns}: policy guard: {e}")),
                    Err(_) => c
                        .found
                        .other
                        .push(format!("namespace {ns}: policy guard panicked")),
                }
            }
            // Every worker is gone: check what they left.
            let finals = [
                s.spawn(|| in_netns(None, || final_checks(&saved))),
                s.spawn(|| in_netns(Some(&netns), || final_checks(&Policy::default()))),
            ];
            for f in finals {
                checks.push(
                    f.join()
                        .unwrap_or_else(|_| Err("final checks panicked".into())),
                );
            }
        });
        drop(holder.stdin.take());
        let _ = holder.kill();
        let _ = holder.wait();
        c.report(start.elapsed(), checks)
    }

    /// Start the worker process of `places[p]`, for what is left of the run.
    fn spawn(&mut self, p: usize) {
        let left = self.end.saturating_duration_since(Instant::now());
        let pl = &mut self.places[p];
        let stream = ((pl.ns as u64) << 40) | ((pl.index as u64) << 24) | pl.incarnation;
        let netns = if pl.ns == 0 { "-" } else { &self.netns_path };
        let child = Command::new(&self.exe)
            .arg("--worker")
            .args([
                self.o.seed.to_string(),
                stream.to_string(),
                format!("{:.3}", left.as_secs_f64()),
                self.o.hang.to_string(),
                pl.uid.to_string(),
                pl.uid.to_string(),
                netns.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                self.found.died.push(format!("cannot start a worker: {e}"));
                return;
            }
        };
        if let Some(out) = child.stdout.take() {
            let tx = self.tx.clone();
            let inc = pl.incarnation;
            std::thread::spawn(move || {
                for l in BufReader::new(out).lines() {
                    let Ok(l) = l else { break };
                    if tx.send(Event::Line(p, inc, l)).is_err() {
                        break;
                    }
                }
            });
        }
        pl.child = Some(child);
        pl.last_seen = Instant::now();
        pl.killed_at = None;
        pl.stuck = false;
    }

    fn who(&self, p: usize) -> String {
        let pl = &self.places[p];
        format!(
            "namespace {} worker {} (uid {}, stream {})",
            pl.ns,
            pl.index,
            pl.uid,
            ((pl.ns as u64) << 40) | ((pl.index as u64) << 24) | pl.incarnation
        )
    }

    /// The fuzzing itself: workers, kills, respawns, the watchdog.
    fn fuzz(&mut self, rx: &mpsc::Receiver<Event>) {
        for ns in 0..2 {
            for index in 0..self.o.workers {
                self.places.push(Place {
                    ns,
                    index,
                    uid: UIDS[index % UIDS.len()],
                    incarnation: 0,
                    child: None,
                    last_seen: Instant::now(),
                    killed_at: None,
                    stuck: false,
                });
            }
        }
        for p in 0..self.places.len() {
            self.spawn(p);
        }
        let mut rng = Rng::new(self.o.seed, u64::MAX);
        let hang = Duration::from_secs(self.o.hang);
        let kill_gap = |rng: &mut Rng| Duration::from_millis(rng.range(300, 3000));
        let mut next_kill = Instant::now() + kill_gap(&mut rng);
        let give_up = self.end + hang + Duration::from_secs(10);
        loop {
            if let Ok(Event::Line(p, inc, l)) = rx.recv_timeout(Duration::from_millis(100)) {
                self.line(p, inc, &l);
            }
            while let Ok(Event::Line(p, inc, l)) = rx.try_recv() {
                self.line(p, inc, &l);
            }
            let now = Instant::now();
            let running = now + Duration::from_secs(1) < self.end;
            // Reap, and put a new worker in the place of a finished one.
            for p in 0..self.places.len() {
                let status = match self.places[p].child.as_mut().map(Child::try_wait) {
                    Some(Ok(Some(st))) => st,
                    _ => continue,
                };
                let killed = self.places[p].killed_at.is_some();
                match status.code() {
                    _ if killed => {}
                    Some(0) | Some(3) => {} // done, or a finding already reported
                    _ => {
                        let w = self.who(p);
                        self.found.died.push(format!("{w} ended with {status}"));
                    }
                }
                self.places[p].child = None;
                if running {
                    self.places[p].incarnation += 1;
                    self.respawns += 1;
                    self.spawn(p);
                }
            }
            // SIGKILL a random live worker now and then.
            if running && now >= next_kill {
                let live: Vec<usize> = (0..self.places.len())
                    .filter(|&p| {
                        self.places[p].child.is_some() && self.places[p].killed_at.is_none()
                    })
                    .collect();
                if !live.is_empty() {
                    let p = live[rng.index(live.len())];
                    if let Some(c) = self.places[p].child.as_mut() {
                        let _ = c.kill();
                    }
                    self.places[p].killed_at = Some(now);
                    self.kills += 1;
                }
                next_kill = now + kill_gap(&mut rng);
            }
            // The watchdog.
            for p in 0..self.places.len() {
                let pl = &self.places[p];
                if pl.child.is_none() || pl.stuck {
                    continue;
                }
                let what = match pl.killed_at {
                    Some(t) if now.duration_since(t) > hang => format!(
                        "{} not reaped {} s after SIGKILL (stuck in the kernel?)",
                        self.who(p),
                        hang.as_secs()
                    ),
                    None if now.duration_since(pl.last_seen) > hang => format!(
                        "{} silent for {} s (stuck in a system call?)",
                        self.who(p),
                        hang.as_secs()
                    ),
                    _ => continue,
                };
                eprintln!("ipcon-fuzz: FINDING {what}");
                if let Some(pid) = pl.child.as_ref().map(Child::id) {
                    eprintln!("{}", task_state(pid));
                }
                print_blocked_tasks();
                self.found.hang.push(what);
                let pl = &mut self.places[p];
                pl.stuck = true;
                if pl.killed_at.is_none() {
                    if let Some(c) = pl.child.as_mut() {
                        let _ = c.kill();
                    }
                    pl.killed_at = Some(now);
                }
            }
            let alive = self
                .places
                .iter()
                .filter(|pl| pl.child.is_some() && !pl.stuck)
                .count();
            if now >= self.end && alive == 0 {
                break;
            }
            if now >= give_up {
                for p in 0..self.places.len() {
                    if self.places[p].child.is_some() && !self.places[p].stuck {
                        let w = self.who(p);
                        self.found
                            .hang
                            .push(format!("{w} did not stop at the end of the run"));
                    }
                }
                break;
            }
        }
        // Whatever is left: kill it, and do not wait for the unkillable.
        for pl in &mut self.places {
            if let Some(c) = pl.child.as_mut() {
                let _ = c.kill();
                if !pl.stuck {
                    let _ = c.wait();
                }
            }
        }
        while let Ok(Event::Line(p, inc, l)) = rx.try_recv() {
            self.line(p, inc, &l);
        }
    }

    fn line(&mut self, p: usize, inc: u64, l: &str) {
        if let Some(st) = Stats::parse(l) {
            self.total.merge(&st);
            let ns = self.places[p].ns;
            self.per_ns[ns].merge(&st);
            if inc == self.places[p].incarnation {
                self.places[p].last_seen = Instant::now();
            }
        } else if let Some(f) = l.strip_prefix("F ") {
            let what = format!("{}: {f}", self.who(p));
            eprintln!("ipcon-fuzz: FINDING {what}");
            if f.starts_with("hang") {
                print_blocked_tasks();
            }
            if f.starts_with("non-kernel sender") {
                self.found.foreign.push(what);
            } else if f.starts_with("malformed") || f.starts_with("delivery") {
                self.found.malformed.push(what);
            } else if f.starts_with("hang") {
                self.found.hang.push(what);
            } else {
                self.found.other.push(what);
            }
        } else {
            eprintln!("ipcon-fuzz: worker said: {l}");
        }
    }

    /// Print the figures and the verdicts; the exit status.
    fn report(mut self, took: Duration, checks: Vec<Result<FinalReport, String>>) -> i32 {
        let t = &self.total;
        let mut info = vec![
            format!(
                "seed {}, {} s ({:.0} s with setup and checks), 2 network namespaces x {} workers \
                 (uids 0, 1000, 1001), {} SIGKILLs, {} workers started in all",
                self.o.seed,
                self.o.secs,
                took.as_secs_f64(),
                self.o.workers,
                self.kills,
                self.places.len() as u64 + self.respawns
            ),
            format!(
                "sent {} messages in {} sendmsg calls ({} batches, {} mutated, {} sentinels); \
                 {} messages from the kernel: {} acks, {} dump parts, {} dump ends, {} deliveries, \
                 {} other replies; {} overruns, {} sockets closed mid-dump, {} pairings, \
                 {} policy resets",
                t.get("sent"),
                t.get("calls"),
                t.get("batches"),
                t.get("mutated"),
                t.get("sentinels"),
                t.get("replies"),
                t.get("acks"),
                t.get("dump_parts"),
                t.get("dumps_done"),
                t.get("deliveries"),
                t.get("data") + t.get("other"),
                t.get("overruns"),
                t.get("early_closes"),
                t.get("pairs"),
                t.get("policy_resets"),
            ),
            format!(
                "acks and dump ends by errno: {}",
                join(t.by_number("errno."), errno_name)
            ),
            format!(
                "requests by command: {}",
                join(t.by_number("cmd."), cmd_name)
            ),
        ];
        let senderr = t.by_number("senderr.");
        if !senderr.is_empty() {
            info.push(format!("sendmsg errors: {}", join(senderr, errno_name)));
        }
        info.push(format!(
            "non-kernel senders {}, malformed kernel messages {}, hangs {}, workers died {}",
            self.found.foreign.len(),
            self.found.malformed.len(),
            self.found.hang.len(),
            self.found.died.len()
        ));
        for l in &info {
            println!("ipcon-fuzz: {l}");
        }
        let mut verdicts: Vec<(&str, Result<(), String>)> = Vec::new();
        let ran = (0..2)
            .map(|ns| (self.per_ns[ns].get("sent"), self.per_ns[ns].get("replies")))
            .collect::<Vec<_>>();
        let mut workers = self.found.died.clone();
        workers.append(&mut self.found.other);
        if ran.iter().any(|&(s, r)| s == 0 || r == 0) {
            workers.push(format!("(sent, replies) per namespace: {ran:?}"));
        }
        verdicts.push(("fuzz_workers_ran", all_ok(&workers)));
        verdicts.push(("fuzz_only_kernel_senders", all_ok(&self.found.foreign)));
        verdicts.push((
            "fuzz_kernel_messages_well_formed",
            all_ok(&self.found.malformed),
        ));
        verdicts.push(("fuzz_no_hang", all_ok(&self.found.hang)));
        let mut left = Vec::new();
        let mut works = Vec::new();
        let mut policy = Vec::new();
        for (ns, c) in checks.into_iter().enumerate() {
            match c {
                Ok(r) => {
                    if let Err(e) = r.nothing_left {
                        left.push(format!("namespace {ns}: {e}"));
                    }
                    if let Err(e) = r.works {
                        works.push(format!("namespace {ns}: {e}"));
                    }
                    if let Err(e) = r.policy {
                        policy.push(format!("namespace {ns}: {e}"));
                    }
                }
                Err(e) => works.push(format!("namespace {ns}: {e}")),
            }
        }
        verdicts.push(("fuzz_nothing_left_behind", all_ok(&left)));
        verdicts.push(("fuzz_family_works_after", all_ok(&works)));
        verdicts.push(("fuzz_policy_restored", all_ok(&policy)));
        let mut failed = 0;
        for (name, v) in &verdicts {
            let line = match v {
                Ok(()) => format!("@@ test ok {name}"),
                Err(why) => {
                    failed += 1;
                    format!(
                        "@@ test FAIL {name}: {} (seed {})",
                        why.replace('\n', " | "),
                        self.o.seed
                    )
                }
            };
            println!("{}", line.trim_start_matches("@@ test "));
            if let Some(f) = self.o.results.as_mut() {
                let _ = writeln!(f, "{line}");
            }
        }
        if let Some(f) = self.o.results.as_mut() {
            for l in &info {
                let _ = writeln!(f, "@@ info fuzz: {l}");
            }
        }
        println!(
            "ipcon-fuzz: {} passed, {failed} failed (seed {})",
            verdicts.len() - failed,
            self.o.seed
        );
        if failed == 0 {
            0
        } else {
            1
        }
    }
}

/// What a process is doing in the kernel: its state, wait channel,
/// system call and kernel stack (for a hang report).
fn task_state(pid: u32) -> String {
    let read = |f: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/{f}"))
            .unwrap_or_else(|e| format!("({f}: {e})"))
    };
    let state = read("status")
        .lines()
        .filter(|l| l.starts_with("Name:") || l.starts_with("State:"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "pid {pid}: {state}; wchan {}; syscall {}\n{}",
        read("wchan").trim(),
        read("syscall").trim(),
        read("stack").trim_end()
    )
}

/// Print every task in uninterruptible sleep (state D) with its kernel
/// stack: who holds what when the fuzzer sees a hang.
fn print_blocked_tasks() {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return;
    };
    let mut n = 0;
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains("(disk sleep)"))
        {
            eprintln!("ipcon-fuzz: blocked task {}", task_state(pid));
            n += 1;
        }
    }
    eprintln!("ipcon-fuzz: {n} tasks in uninterruptible sleep");
}

fn join(v: Vec<(i64, u64)>, name: fn(i64) -> String) -> String {
    v.into_iter()
        .map(|(k, n)| format!("{} {n}", name(k)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn all_ok(problems: &[String]) -> Result<(), String> {
    match problems {
        [] => Ok(()),
        [one] => Err(one.clone()),
        [first, rest @ ..] => Err(format!("{first} (and {} more)", rest.len())),
    }
}

/// Run `f` on a thread of its own in the network namespace `netns` (None:
/// this one). setns moves only the calling thread.
fn in_netns<T>(netns: Option<&File>, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    if let Some(ns) = netns {
        use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};
        move_into_link_name_space(
            std::os::fd::AsFd::as_fd(ns),
            Some(LinkNameSpaceType::Network),
        )
        .map_err(|e| format!("setns: {e}"))?;
    }
    f()
}

/// Reset the namespace's policy to the initial one every few seconds until
/// `stop`; the number of resets.
fn policy_guard(stop: &AtomicBool) -> Result<u64, String> {
    let mut p = Peer::open().map_err(|e| format!("open: {e}"))?;
    let mut n = 0;
    let mut last = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        if last.elapsed() >= POLICY_RESET {
            p.clear_policy().map_err(|e| format!("clear_policy: {e}"))?;
            n += 1;
            last = Instant::now();
        }
    }
    Ok(n)
}

struct FinalReport {
    nothing_left: Result<(), String>,
    works: Result<(), String>,
    policy: Result<(), String>,
}

/// After the run, in one namespace: no service or group of the workers is
/// left (their peers are all gone), a service and a group still work, and
/// the policy becomes `saved` again.
fn final_checks(saved: &Policy) -> Result<FinalReport, String> {
    let mut p = Peer::open().map_err(|e| format!("open: {e}"))?;
    p.clear_policy().map_err(|e| format!("clear_policy: {e}"))?;
    Ok(FinalReport {
        nothing_left: nothing_left(&mut p),
        works: family_works(),
        policy: restore_policy(&mut p, saved),
    })
}

fn nothing_left(p: &mut Peer) -> Result<(), String> {
    let mut buf = vec![0u8; ipcon::DUMP_BUFFER_SIZE];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut left = Vec::new();
        p.services(&mut buf, |s| {
            if s.name.starts_with("fz.") {
                left.push(format!("service {} (port {})", s.name, s.port));
            }
        })
        .map_err(|e| format!("listing services: {e}"))?;
        p.groups(&mut buf, |g| {
            if g.name.starts_with("fz.") {
                left.push(format!("group {} (port {})", g.name, g.owner));
            }
        })
        .map_err(|e| format!("listing groups: {e}"))?;
        if left.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} names outlived every worker: {}",
                left.len(),
                left.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An error of the crate, said with what failed.
fn e(what: &'static str) -> impl Fn(ipcon::Error) -> String {
    move |err| format!("{what}: {err}")
}

fn family_works() -> Result<(), String> {
    let mut a = Peer::open().map_err(e("open"))?;
    let mut b = Peer::open().map_err(e("open"))?;
    let mut buf = vec![0u8; ipcon::RECV_BUFFER_SIZE];
    a.register_service("fz.final")
        .map_err(e("register_service"))?;
    b.send_to_service("fz.final", b"after the fuzz")
        .map_err(e("send_to_service"))?;
    match a.recv_timeout(&mut buf, Duration::from_secs(10)) {
        Ok(Message::Unicast(u)) if u.data == b"after the fuzz" && u.sender.port == b.port() => {}
        other => return Err(format!("service got {other:?}")),
    }
    a.register_group("fz.final", GroupFlags::RETAIN)
        .map_err(e("register_group"))?;
    a.publish("fz.final", b"retained").map_err(e("publish"))?;
    b.join("fz.final", JoinFlags::LAST).map_err(e("join"))?;
    match b.recv_timeout(&mut buf, Duration::from_secs(10)) {
        Ok(Message::Group(g)) if g.data == b"retained" => Ok(()),
        other => Err(format!("member got {other:?}")),
    }
}

fn restore_policy(p: &mut Peer, saved: &Policy) -> Result<(), String> {
    p.load_policy(saved)
        .map_err(|e| format!("load_policy: {e}"))?;
    let mut buf = vec![0u8; ipcon::policy::POLICY_BUFFER_SIZE];
    let now = p.policy(&mut buf).map_err(|e| format!("policy: {e}"))?;
    if &now == saved {
        Ok(())
    } else {
        Err(format!("the policy is now\n{now}instead of\n{saved}"))
    }
}
