// SPDX-License-Identifier: MIT OR Apache-2.0
//! The help texts: `ipcon --help` and `ipcon COMMAND --help`.

/// `ipcon --help`.
pub const MAIN: &str = "\
usage: ipcon COMMAND [OPTIONS] [ARGUMENTS]

Talk to the ipcon kernel module (IPC over Generic Netlink) from a shell.

Commands:
  list [services|groups]   the registered services and groups, with owners
  resolve NAME             the port, id, uid and gid of service NAME's owner
  send TARGET [MESSAGE]    send one message to a service, a port or an id
  call TARGET [MESSAGE]    send one message and print the reply
  serve NAME               register service NAME, print what arrives
  publish GROUP [MESSAGE]  register GROUP and publish to its members
  listen GROUP...          join groups and print their messages
  monitor                  print kernel events as they happen
  policy ACTION [FILE]     load, show, check or clear the security policy
  help [COMMAND]           this text, or a command's

TARGET is a port if it is all digits, else a service name (--id: a peer
id). MESSAGE is the argument itself, '-' for stdin, or --file FILE; any
bytes, up to 65536. Names are 1 to 63 characters from A-Z a-z 0-9 . _ : -

Exit status:
  0  success
  1  the operation failed: no such service or group, name taken, not the
     owner, destination gone, receive queue full, denied by the policy, a
     per-user limit reached, a malformed policy file, other kernel errors
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

Print the registered services (name; port, id, uid and gid of the peer
providing it) and groups (name; owner's port, id, uid and gid; member
count; retain flag) of this network namespace, sorted by name, with the
pid and name of the process holding each port when /proc tells. The
kernel stamps the uid and gid: those the owner's socket was opened with.

Options:
  -j, --json  one JSON object: {\"services\":[{\"name\",\"port\",\"id\",
              \"uid\",\"gid\",\"pid\",\"process\"}...],\"groups\":[{\"name\",
              \"owner\",\"owner_id\",\"owner_uid\",\"owner_gid\",\"members\",
              \"retain\",\"pid\",\"process\"}...]} (pid and process may be null)

Example:
  ipcon list services
"
        .to_string(),
        "resolve" => "\
usage: ipcon resolve [--json] NAME

Print who provides service NAME, as 'port=P id=I uid=U gid=G': its port,
its id (never reused, unlike the port) and the uid and gid its socket was
opened with, stamped by the kernel. Exit status 1 if there is no such
service.

Options:
  -j, --json  one JSON object: {\"name\",\"port\",\"id\",\"uid\",\"gid\"}

Example:
  eval \"$(ipcon resolve demo.echo)\"; [ \"$uid\" = 0 ] && ipcon send -i \"$id\" hi
"
        .to_string(),
        "send" => "\
usage: ipcon send [OPTIONS] TARGET [MESSAGE]

Send one message to TARGET, a service name, a port or (--id) a peer id.
Prints nothing; exit status 0 means the message is in the receiver's queue.
An id reaches that peer or fails, never a newer one that got its port.

Options:
  -f, --file FILE  read the message from FILE ('-' for stdin)
  -n, --name       TARGET is a service name even if it is all digits
  -i, --id         TARGET is a peer id

Examples:
  ipcon send demo.echo 'hello'
  printf '\\x01\\x02' | ipcon send 4242 -
"
        .to_string(),
        "call" => "\
usage: ipcon call [OPTIONS] TARGET [MESSAGE]

Send one message to TARGET (a service name, a port or a peer id) and print
the first message that comes back from it (from the service's owner, by
its id).

Options:
  -f, --file FILE     read the message from FILE ('-' for stdin)
  -n, --name          TARGET is a service name even if it is all digits
  -i, --id            TARGET is a peer id
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
(port, id, pid, uid, service) and length. Runs until interrupted, --count
or --timeout. A note on stderr says when the service is registered.

Options:
  -e, --echo          send each message back to its sender (by its id)
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
the sender (port, id, pid, uid) and the length. A note on stderr says when
all are joined. Ends with status 1 when the groups are removed (their owner
exited).

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
service-added, service-removed, group-added, group-removed (name; the
owner's port, id, uid and gid), peer-gone (the peer's port, id, uid and
gid), and 'lost N events' if the receive queue overflowed. A note on
stderr says when it is watching.

Options:
  -j, --json          one JSON object per line: {\"time\":SECS.MS,
                      \"event\":KIND,\"port\":N,\"id\":N,\"uid\":N,\"gid\":N,
                      \"name\":NAME or null}
  -c, --count N       exit after N events
  -t, --timeout SECS  exit with status 4 if nothing happens for SECS

Example:
  ipcon monitor | grep peer-gone
"
        .to_string(),
        "policy" => "\
usage: ipcon policy load FILE
       ipcon policy show [--json]
       ipcon policy check FILE
       ipcon policy clear

The security policy of this network namespace: which users and groups may
own (register), send to and join which services and groups. load, show and
clear need CAP_NET_ADMIN (root); check needs neither root nor the module.

Actions:
  load FILE   check FILE ('-' for stdin) and install it, replacing the
              policy at once; services, groups and memberships it denies
              are removed. A malformed file is not loaded: each error is
              printed as FILE:LINE: what, and the exit status is 1
  show        print the policy as a file, with rule numbers as comments
  check FILE  only check FILE: exit status 0 if it is valid, else 1
  clear       allow everything again: 'default allow' and no rules

A policy file has one rule a line; '#' starts a comment:
  default deny                     # exactly one: default allow|deny
  own   com.acme.camera  uid 1001  # register the service or group
  own   com.acme.*       gid 300   # a name prefix; '*' alone: every name
  send  com.acme.camera  anyone    # send to the service
  join  com.acme.status  uid 1002  # join the group
For an action on a name, the most specific matching pattern decides (an
exact name, then the longest prefix); any of its rules may allow. Names no
pattern matches get the default. A gid matches supplementary groups too.

Options:
  -j, --json  (show) one JSON object: {\"default\":\"allow\" or \"deny\",
              \"rules\":[{\"rule\",\"action\",\"pattern\",\"uid\",\"gid\"}...]}
              (uid and gid null for anyone)

Examples:
  ipcon policy check my-policy          # as any user, before installing it
  ipcon policy load /etc/ipcon/policy   # as root, at boot
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
pub const COMMANDS: [&str; 10] = [
    "list", "resolve", "send", "call", "serve", "publish", "listen", "monitor", "policy", "help",
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
