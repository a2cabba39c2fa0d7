#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The report of `qemu/run bench --profile`: where the kernel time goes, for
ipcon and for AF_UNIX SOCK_DGRAM, in round trips of 64 B and 64 KiB
(mechanisms named MECH@64 and MECH@65536) and in a 64 B message to 16
subscribers (MECH@mcast16: ipcon publishes once, AF_UNIX sends to each).

Reads the "@@ profile" lines that the guest's bench_profile (qemu/guest/init)
wrote into RESULTS_DIR/raw-*.txt: per mechanism, call depth (0 = the send
and receive system calls) and function, the number of calls and their
inclusive time under the function_graph tracer. Writes profile.txt to
RESULTS_DIR and prints it.

The guest traces with the nosleep-time option: a blocking receive's time
asleep, waiting for the other process, is not counted. Only the system
calls and the kernel workers' functions named in ROOTS count as a
mechanism's kernel time (a task already inside a call when tracing began
shows a stray depth-0 entry).
"""

import re
import sys
from collections import defaultdict
from pathlib import Path

LINE = re.compile(
    r"^@@ profile mech=(\S+) depth=(\d+) func=(\S+) calls=(\d+) total_us=([0-9.]+)$"
)
# the system calls a round trip makes (PROFILE_ROOTS in qemu/guest/init)
SYSCALLS = {"__sys_sendmsg", "__sys_sendto", "__sys_recvfrom", "__sys_recvmsg"}
# work a message leaves to a kernel worker (PROFILE_WORKERS): the deferred
# vfree() of a vmalloc'ed netlink request (6.1's name, the later one)
WORKERS = {"free_work", "delayed_vfree_work"}
ROOTS = SYSCALLS | WORKERS
# the module's handler of a publish: one call per message multicast
PUBLISH = "ipcon_nl_publish_doit"
# the functions shown per call depth, and the depths shown
TOP = 8
DEPTHS = range(0, 14)


def parse(path):
    """The run's description and {mech: {(depth, func): [calls, us]}}."""
    run, prof, overrun = "", defaultdict(dict), {}
    for line in path.read_text().splitlines():
        if line.startswith("@@ bench-run "):
            run = line[len("@@ bench-run "):]
        elif line.startswith("@@ profile-overrun "):
            m = re.match(r"@@ profile-overrun mech=(\S+) (\d+)", line)
            if m:
                overrun[m.group(1)] = int(m.group(2))
        else:
            m = LINE.match(line)
            if m:
                mech, depth, func = m.group(1), int(m.group(2)), m.group(3)
                prof[mech][(depth, func)] = [int(m.group(4)), float(m.group(5))]
    return run, prof, overrun


def messages(mech, entries, sends):
    """The messages MECH's traced run sent: a round trip's request and reply
    are a message each; a multicast message is one publish for ipcon (its
    setup requests are sends too, so they are not counted), one send per
    subscriber for AF_UNIX."""
    name, _, case = mech.partition("@")
    if not case.startswith("mcast"):
        return sends
    if name == "ipcon":
        return sum(v[0] for (d, f), v in entries.items() if f == PUBLISH)
    return sends / int(case[len("mcast"):])


def mech_report(mech, entries, overrun, out):
    """Append MECH's section to OUT; return its kernel time per message and
    the time of its send calls per message."""
    roots = {f: v for (d, f), v in entries.items() if d == 0 and f in ROOTS}
    work = sum(v[1] for v in roots.values())
    sends = sum(v[0] for f, v in roots.items() if "send" in f)
    sent_us = sum(v[1] for f, v in roots.items() if "send" in f)
    deferred = sum(v[1] for f, v in roots.items() if f in WORKERS)
    msgs = messages(mech, entries, sends)
    calls = ", ".join(f"{f} {v[0]}" for f, v in sorted(roots.items()))
    out.append(f"  {mech}: {msgs:.0f} messages, {sends} sends traced ({calls}); "
               f"kernel time {work:.0f} us"
               + (f"; {overrun[mech]} events overrun" if overrun.get(mech) else ""))
    per_msg = work / msgs if msgs else 0.0
    sent_per_msg = sent_us / msgs if msgs else 0.0
    out.append(f"    kernel time per message (each end's calls included): {per_msg:.2f} us; "
               f"in send calls: {sent_per_msg:.2f} us; in kernel workers: "
               f"{deferred / msgs if msgs else 0.0:.2f} us")
    for depth in DEPTHS:
        rows = sorted(((v[1], f, v[0]) for (d, f), v in entries.items()
                       if d == depth and (d > 0 or f in ROOTS)), reverse=True)[:TOP]
        if not rows:
            continue
        out.append(f"    depth {depth}: function, calls per message, us per call, share of the kernel time")
        for us, f, n in rows:
            share = 100.0 * us / work if work > 0 else 0.0
            out.append(f"      {f:<40} {n / max(msgs, 1):>7.2f} {us / n:>9.2f} {share:>6.1f} %")
    return per_msg, sent_per_msg


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench_profile.py RESULTS_DIR")
    results = Path(sys.argv[1])
    out = ["ipcon bench --profile: round trips of 64 B and 64 KiB (ipcon-compare",
           "--quick --workload rtt --size N) and a 64 B message to 16 subscribers",
           "(--workload multicast --subscribers 16), kernel side, under the",
           "function_graph tracer. The tracer slows every traced call: compare",
           "parts and mechanisms, do not read these as timings."]
    found = False
    for raw in sorted(results.glob("raw-*.txt")):
        run, prof, overrun = parse(raw)
        if not prof:
            continue
        found = True
        out.append("")
        out.append(run or raw.name)
        per = {}
        for mech in sorted(prof):
            per[mech] = mech_report(mech, prof[mech], overrun, out)
        for mech in sorted(per):
            name, _, case = mech.partition("@")
            other = per.get(f"unix_dgram@{case}")
            if name == "ipcon" and per[mech][0] and other and other[0]:
                out.append(f"  {case}: kernel time per message, ipcon/unix_dgram = "
                           f"{per[mech][0] / other[0]:.2f}; in send calls "
                           f"{per[mech][1] / other[1]:.2f}")
    if not found:
        sys.exit(f"no profile lines in {results}/raw-*.txt")
    text = "\n".join(out) + "\n"
    (results / "profile.txt").write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
