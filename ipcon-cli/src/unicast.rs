// SPDX-License-Identifier: MIT OR Apache-2.0
//! `ipcon send`, `ipcon call` and `ipcon serve`.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use ipcon::{Error, Message, RecvError, RECV_BUFFER_SIZE};

use crate::args::{flag, parse, valued, Opt};
use crate::error::{note, CliError, Context, Subject};
use crate::input::{message, INPUT_OPTS};
use crate::output::{self, Format, Out, FORMAT_OPTS};
use crate::procinfo::owners;
use crate::{help, name_arg, open, target_arg, TargetArg, TARGET_OPTS};

/// How long `call` waits for the reply by default.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The options of the commands that wait for messages.
pub const WAIT_OPTS: [Opt; 2] = [valued("count", Some(b'c')), valued("timeout", Some(b't'))];

/// `ipcon send [-f FILE] [-n|-i] TARGET [MESSAGE]`.
pub fn send(args: &[OsString]) -> Result<(), CliError> {
    let spec = [INPUT_OPTS[0], TARGET_OPTS[0], TARGET_OPTS[1]];
    let p = parse("send", &spec, args)?;
    if p.flag("help") {
        return help("send");
    }
    let ops = p.operands(1, 2, "TARGET")?;
    let target = target_arg(&p, &ops[0])?;
    let data = message(&p, ops.get(1).map(|m| m.as_os_str()))?;
    let mut peer = open()?;
    peer.send(target.target(), &data).about(target.subject())
}

/// `ipcon call [OPTIONS] TARGET [MESSAGE]`.
pub fn call(args: &[OsString]) -> Result<(), CliError> {
    let spec = [
        INPUT_OPTS[0],
        TARGET_OPTS[0],
        TARGET_OPTS[1],
        valued("timeout", Some(b't')),
        FORMAT_OPTS[0],
        FORMAT_OPTS[1],
    ];
    let p = parse("call", &spec, args)?;
    if p.flag("help") {
        return help("call");
    }
    let ops = p.operands(1, 2, "TARGET")?;
    let target = target_arg(&p, &ops[0])?;
    let timeout = p.duration("timeout")?.unwrap_or(CALL_TIMEOUT);
    let format = Format::from_args(&p)?;
    let data = message(&p, ops.get(1).map(|m| m.as_os_str()))?;

    let mut peer = open()?;
    // The reply must come from the target: know its port, or better its
    // id (a port may pass to another peer meanwhile).
    let from = match &target {
        TargetArg::Port(port) => ReplyFrom::Port(*port),
        TargetArg::Id(id) => ReplyFrom::Id(*id),
        TargetArg::Service(name) => {
            let owner = peer.resolve_owner(name).about(target.subject())?;
            ReplyFrom::Owner(owner.port, owner.id)
        }
    };
    peer.send(target.target(), &data).about(target.subject())?;

    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match peer.recv_timeout(&mut buf, left) {
            Ok(Message::Unicast(m)) if from.is(&m.sender) => {
                return output::unicast(&mut Out::new(), &m, format);
            }
            // Anything else (someone else who learnt our port) is not
            // the reply.
            Ok(_) => {}
            Err(RecvError::TimedOut) => {
                let who = match (&target, from) {
                    (TargetArg::Service(s), ReplyFrom::Owner(port, _)) => {
                        format!("service {s} (port {port})")
                    }
                    (t, _) => t.subject().to_string(),
                };
                return Err(CliError::timed_out(format!(
                    "no reply from {who} within {timeout:?}"
                )));
            }
            Err(e) => return Err(CliError::ipc(e.into(), &Subject::Peer)),
        }
    }
}

/// Whom `call` waits for a reply from.
#[derive(Debug, Clone, Copy)]
enum ReplyFrom {
    Port(u32),
    Id(u64),
    /// A service's owner: port (for messages) and id.
    Owner(u32, u64),
}

impl ReplyFrom {
    fn is(self, s: &ipcon::Sender<'_>) -> bool {
        match self {
            ReplyFrom::Port(port) => s.port == port,
            ReplyFrom::Id(id) | ReplyFrom::Owner(_, id) => s.id == id,
        }
    }
}

/// `ipcon serve [OPTIONS] NAME`.
pub fn serve(args: &[OsString]) -> Result<(), CliError> {
    let spec = [
        flag("echo", Some(b'e')),
        WAIT_OPTS[0],
        WAIT_OPTS[1],
        FORMAT_OPTS[0],
        FORMAT_OPTS[1],
    ];
    let p = parse("serve", &spec, args)?;
    if p.flag("help") {
        return help("serve");
    }
    let name = name_arg(&p, &p.operands(1, 1, "NAME")?[0], "service")?;
    let count = p.count("count")?;
    let timeout = p.duration("timeout")?;
    let format = Format::from_args(&p)?;
    let echo = p.flag("echo");

    let mut peer = open()?;
    if let Err(e) = peer.register_service(&name) {
        let mut err = CliError::ipc(e, &Subject::Service(&name));
        if e == Error::NameTaken {
            if let (Ok(port), Some(msg)) = (peer.resolve(&name), err.msg.as_mut()) {
                msg.push_str(&format!(" by {}", describe_port(port)));
            }
        }
        return Err(err);
    }
    note(format_args!("serving {name} on port {}", peer.port()));

    let mut out = Out::new();
    let mut buf = vec![0u8; RECV_BUFFER_SIZE];
    let mut seen = 0u64;
    while count.is_none_or(|c| seen < c) {
        let m = match receive(&peer, &mut buf, timeout)? {
            Message::Unicast(m) => m,
            _ => continue,
        };
        seen += 1;
        output::unicast(&mut out, &m, format)?;
        if echo {
            // A sender that is gone or full must not stop the service.
            // By id: the reply reaches the sender or no one.
            if let Err(e) = peer.send_to_id(m.sender.id, m.data) {
                let e = CliError::ipc(e, &Subject::Id(m.sender.id));
                note(format_args!(
                    "echo not delivered: {}",
                    e.msg.unwrap_or_default()
                ));
            }
        }
    }
    Ok(())
}

/// Receive one message, waiting at most `timeout` (forever if `None`).
pub fn receive<'b>(
    peer: &ipcon::Peer,
    buf: &'b mut [u8],
    timeout: Option<Duration>,
) -> Result<Message<'b>, CliError> {
    let got = match timeout {
        Some(t) => peer.recv_timeout(buf, t),
        None => peer.recv(buf),
    };
    got.map_err(|e| match e {
        RecvError::TimedOut => CliError::timed_out(format!(
            "nothing arrived within {:?}",
            timeout.unwrap_or_default()
        )),
        e => CliError::ipc(e.into(), &Subject::Peer),
    })
}

/// "port 4242 (pid 77, rpc_server)", or "port 4242".
pub fn describe_port(port: u32) -> String {
    match owners(&[port]).remove(&port) {
        Some(o) => format!("port {port} (pid {}, {})", o.pid, o.name),
        None => format!("port {port}"),
    }
}
