// SPDX-License-Identifier: MIT OR Apache-2.0
//! Running the guest programs (the `ipcon` tool, the examples, the demo)
//! as child processes: collect stdout and stderr, wait for a line to
//! appear instead of sleeping, and never hang (every wait has a limit and
//! a child left running is killed).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a program that should finish may run. Generous: the debug
/// kernel under TCG is slow, and a passing run never waits this long.
pub const LIMIT: Duration = Duration::from_secs(30);

/// A guest program: the one next to the test binary if there is one (`/bin`
/// in the VM), else the one found through `PATH` (the packaged layout, where
/// `run-ptest` puts the examples' directory on `PATH`).
pub fn bin(name: &str) -> PathBuf {
    std::env::current_exe()
        .map(|e| e.with_file_name(name))
        .ok()
        .filter(|p| p.exists())
        .or_else(|| in_path(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// `name` found in a directory of `PATH`.
pub fn in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// What a finished program did.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    /// stdout as text (lossy).
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// stderr as text (lossy).
    pub fn err(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The exit code, or -1 if killed by a signal.
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }

    /// Everything, for failure messages.
    pub fn show(&self) -> String {
        format!(
            "status {}, stdout {:?}, stderr {:?}",
            self.status,
            self.out(),
            self.err()
        )
    }
}

type Sink = Arc<Mutex<Vec<u8>>>;

fn collect(mut r: impl Read + Send + 'static, sink: Sink) -> JoinHandle<()> {
    thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = r.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&chunk[..n]);
        }
    })
}

/// A running program; killed if dropped before [`finish`](Bg::finish).
pub struct Bg {
    name: String,
    child: Child,
    out: Sink,
    err: Sink,
    readers: Vec<JoinHandle<()>>,
}

impl Bg {
    /// Start `prog` (a name in [`bin`]'s directory) with `args`; `stdin`
    /// is written to it and closed (`None`: /dev/null).
    pub fn spawn(prog: &str, args: &[&str], stdin: Option<&[u8]>) -> Result<Bg, String> {
        Self::start(prog, args, stdin, true)
    }

    /// Like [`spawn`](Bg::spawn), but stdout is a pipe whose reading end
    /// is closed at once (as by `| head -0`).
    pub fn spawn_closed_stdout(prog: &str, args: &[&str]) -> Result<Bg, String> {
        Self::start(prog, args, None, false)
    }

    fn start(
        prog: &str,
        args: &[&str],
        stdin: Option<&[u8]>,
        read_out: bool,
    ) -> Result<Bg, String> {
        let name = format!("{prog} {}", args.join(" "));
        let mut child = Command::new(bin(prog))
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting {name}: {e}"))?;
        let (out, err) = (Sink::default(), Sink::default());
        let mut readers = Vec::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        if read_out {
            readers.push(collect(stdout, out.clone()));
        } else {
            drop(stdout);
        }
        readers.push(collect(
            child.stderr.take().ok_or("no stderr")?,
            err.clone(),
        ));
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let data = data.to_vec();
            // A program that exits early closes the pipe: not our concern.
            thread::spawn(move || {
                let _ = pipe.write_all(&data);
            });
        }
        Ok(Bg {
            name,
            child,
            out,
            err,
            readers,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// stdout so far.
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// stderr so far.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.err.lock().unwrap()).into_owned()
    }

    fn wait_for(&mut self, what: &str, needle: &str, on_err: bool) -> Result<(), String> {
        let deadline = Instant::now() + LIMIT;
        loop {
            let text = if on_err { self.stderr() } else { self.stdout() };
            if text.contains(needle) {
                return Ok(());
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                // It exited: whatever it printed is all there is.
                thread::sleep(Duration::from_millis(50));
                let text = if on_err { self.stderr() } else { self.stdout() };
                if text.contains(needle) {
                    return Ok(());
                }
                return Err(format!(
                    "{} exited ({st}) without {needle:?} on {what}: stdout {:?}, stderr {:?}",
                    self.name,
                    self.stdout(),
                    self.stderr()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} printed no {needle:?} on {what} within {LIMIT:?}: stdout {:?}, stderr {:?}",
                    self.name,
                    self.stdout(),
                    self.stderr()
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait until stderr contains `needle` (a readiness note).
    pub fn wait_stderr(&mut self, needle: &str) -> Result<(), String> {
        self.wait_for("stderr", needle, true)
    }

    /// Wait until stdout contains `needle`.
    pub fn wait_stdout(&mut self, needle: &str) -> Result<(), String> {
        self.wait_for("stdout", needle, false)
    }

    /// Wait for the program to exit (killing it after [`LIMIT`]).
    pub fn finish(mut self) -> Result<Output, String> {
        let deadline = Instant::now() + LIMIT;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(st)) => break st,
                Ok(None) if Instant::now() > deadline => {
                    return Err(format!(
                        "{} still running after {LIMIT:?}: stdout {:?}, stderr {:?}",
                        self.name,
                        self.stdout(),
                        self.stderr()
                    ));
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for {}: {e}", self.name)),
            }
        };
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        Ok(Output {
            status,
            stdout: std::mem::take(&mut *self.out.lock().unwrap()),
            stderr: std::mem::take(&mut *self.err.lock().unwrap()),
        })
    }

    /// Kill it now (SIGKILL) and reap it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Run a program to completion.
pub fn run(prog: &str, args: &[&str]) -> Result<Output, String> {
    Bg::spawn(prog, args, None)?.finish()
}

/// Run a program to completion with `stdin` as its input.
pub fn run_with_input(prog: &str, args: &[&str], stdin: &[u8]) -> Result<Output, String> {
    Bg::spawn(prog, args, Some(stdin))?.finish()
}

/// Run `ipcon ARGS...`.
pub fn ipcon(args: &[&str]) -> Result<Output, String> {
    run("ipcon", args)
}
