// SPDX-License-Identifier: MIT OR Apache-2.0
//! The help texts: `ipcon --help` and `ipcon COMMAND --help`.

/// `ipcon --help`.
pub const MAIN: &str = "\
usage: ipcon COMMAND [OPTIONS] [ARGUMENTS]

Talk to the ipcon kernel module (IPC over Generic Netlink) from a shell.

Commands:
  list [services|groups]   the registered services and groups
  resolve NAME             the port of the peer providing service NAME
  send TARGET [MESSAGE]    send one message to a service or a port
  call TARGET [MESSAGE]    send one message and print the reply
  serve NAME               register service NAME, print what arrives
  publish GROUP [MESSAGE]  register GROUP and publish to its members
  listen GROUP...          join groups and print their messages
  monitor                  print kernel events as they happen
  help [COMMAND]           this text, or a command's

TARGET is a port if it is all digits, else a service name. MESSAGE is the
argument itself, '-' for stdin, or --file FILE; any bytes, up to 65536.
Names are 1 to 63 characters from A-Z a-z 0-9 . _ : -

Exit status:
  0  success
  1  the operation failed: no such service or group, name taken, not the
     owner, destination gone, receive queue full, other kernel errors
  2  usage error: bad option or argument, invalid name or port, message
     too large, unreadable file
  3  the ipcon kernel module is not loaded (run: modprobe ipcon)
  4  timed out: no reply to 'call', or nothing arrived within --timeout

Run 'ipcon COMMAND --help' for the options of a command.
";

/// The options every message-printing command shares.
const RECV_OPTS: &str = "  -x, --hex           print payloads in hex
  -r, --raw           print the payload bytes only, nothing else (binary)
  -c, --count N       exit after N messages
  -t, --timeout SECS  exit with status 4 if nothing arrives for SECS
                      (5, 0.5, 2s, 500ms)";

/// The help text of `cmd`, or `None` for an unknown command.
pub fn command(cmd: &str) -> Option<String> {
    let text = match cmd {
        "list" => "\
usage: ipcon list [services|groups] [--json]

Print the registered services (name, port) and groups (name, owner port,
member count, retain flag) of this network namespace, sorted by name, with
the pid and name of the process holding each port when /proc tells.

Options:
  -j, --json  one JSON object: {\"services\":[{\"name\",\"port\",\"pid\",
              \"process\"}...],\"groups\":[{\"name\",\"owner\",\"members\",
              \"retain\",\"pid\",\"process\"}...]} (pid and process may be null)

Example:
  ipcon list services
"
        .to_string(),
        "resolve" => "\
usage: ipcon resolve NAME

Print the port of the peer providing service NAME.
Exit status 1 if there is no such service.

Example:
  port=$(ipcon resolve demo.echo)
"
        .to_string(),
        "send" => "\
usage: ipcon send [OPTIONS] TARGET [MESSAGE]

Send one message to TARGET, a service name or a port. Prints nothing; exit
status 0 means the message is in the receiver's queue.

Options:
  -f, --file FILE  read the message from FILE ('-' for stdin)
  -n, --name       TARGET is a service name even if it is all digits

Examples:
  ipcon send demo.echo 'hello'
  printf '\\x01\\x02' | ipcon send 4242 -
"
        .to_string(),
        "call" => "\
usage: ipcon call [OPTIONS] TARGET [MESSAGE]

Send one message to TARGET (a service name or a port) and print the first
message that comes back from it.

Options:
  -f, --file FILE     read the message from FILE ('-' for stdin)
  -n, --name          TARGET is a service name even if it is all digits
  -t, --timeout SECS  wait at most SECS for the reply (default 5); exit
                      status 4 when it passes
  -x, --hex           print the reply's payload in hex
  -r, --raw           print the reply's payload bytes only

Example:
  ipcon call --raw demo.echo 'ping'
"
        .to_string(),
        "serve" => format!(
            "\
usage: ipcon serve [OPTIONS] NAME

Register service NAME and print every message sent to it, with its sender
(port, pid, uid, service) and length. Runs until interrupted, --count or
--timeout. A note on stderr says when the service is registered.

Options:
  -e, --echo          send each message back to its sender
{RECV_OPTS}

Example:
  ipcon serve --echo demo.echo
"
        ),
        "publish" => "\
usage: ipcon publish [OPTIONS] GROUP [MESSAGE]

Register GROUP, owned by this command, and publish MESSAGE to its members.
The group exists while the command runs: use --wait to publish once
listeners have joined, --linger to stay for late joiners, or --lines to
publish each line of stdin until it ends.

Options:
  -f, --file FILE     read the message from FILE ('-' for stdin)
      --retain        the group keeps its last message for 'listen --last'
  -w, --wait N        publish once the group has N members
  -t, --timeout SECS  give up waiting for members after SECS (status 4)
      --linger SECS   keep the group for SECS after publishing
      --lines         publish each line of stdin as one message (no MESSAGE)

Examples:
  ipcon publish --wait 1 demo.news 'hello'
  while sleep 1; do date; done | ipcon publish --lines --retain demo.clock
"
        .to_string(),
        "listen" => format!(
            "\
usage: ipcon listen [OPTIONS] GROUP...

Join the groups and print every message published to them, with the group,
the sender and the length. A note on stderr says when all are joined. Ends
with status 1 when the groups are removed (their owner exited).

Options:
  -l, --last          also get each group's retained message, if any
{RECV_OPTS}

Example:
  ipcon listen --last sensor.temperature
"
        ),
        "monitor" => "\
usage: ipcon monitor [OPTIONS]

Print kernel events as they happen, one line each, with the time (UTC):
service-added, service-removed, group-added, group-removed (name and owner
port), peer-gone (port), and 'lost N events' if the receive queue
overflowed. A note on stderr says when it is watching.

Options:
  -j, --json          one JSON object per line: {\"time\":SECS.MS,
                      \"event\":KIND,\"port\":N,\"name\":NAME or null}
  -c, --count N       exit after N events
  -t, --timeout SECS  exit with status 4 if nothing happens for SECS

Example:
  ipcon monitor | grep peer-gone
"
        .to_string(),
        "help" => "\
usage: ipcon help [COMMAND]

Print the list of commands, or the help of COMMAND.
"
        .to_string(),
        _ => return None,
    };
    Some(text)
}

/// Every command, for tests.
#[cfg(test)]
pub const COMMANDS: [&str; 9] = [
    "list", "resolve", "send", "call", "serve", "publish", "listen", "monitor", "help",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_help() {
        for c in COMMANDS {
            let h = command(c).unwrap();
            assert!(h.starts_with(&format!("usage: ipcon {c}")), "{c}");
            assert!(h.lines().all(|l| l.len() <= 80), "{c}: line too long");
            // Options are indented (a "\" line continuation eats indentation).
            let unindented = |l: &str| l.starts_with('-') && l.get(2..4) == Some(", ");
            assert!(!h.lines().any(unindented), "{c}: {h}");
            assert!(
                MAIN.contains(&format!("  {c} ")),
                "{c} not in the main help"
            );
        }
        assert!(MAIN.lines().all(|l| l.len() <= 80));
        assert!(command("nope").is_none());
    }
}
