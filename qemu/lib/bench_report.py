#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""The report of `qemu/run bench`, from the raw-*.txt files that
qemu/lib/bench.sh keeps in the results folder (the "@@ bench" lines of
libipcon/bench/ipcon_compare.c, one file per arch and kernel):

  results.csv  every figure: arch, kernel, QEMU, workload, mechanism,
               unit, median, min, max, repetitions
  report.txt   per run, a table (workloads by mechanism) and the ratios
  chart.png    per run, ipcon's cost over each other mechanism's, per
               workload (below 1: ipcon is faster)

and on standard output the tables and one line per comparison:

  ratio: <workload> ipcon/<other> = <value> (<arch> <kernel>)

the cost being time per message or per round trip, throughputs inverted,
so that below 1 always means ipcon is faster.

usage: bench_report.py RESULTS_DIR
"""

import csv
import glob
import os
import sys

MECHS = ["ipcon", "unix_dgram", "unix_seqpacket", "tipc_rdm"]
RATES = {"msg/s", "MB/s"}


def die(msg):
    print(f"bench_report: {msg}", file=sys.stderr)
    sys.exit(1)


def parse_kv(text):
    return dict(w.split("=", 1) for w in text.split() if "=" in w)


def read_run(path):
    """(info, figures) of one raw file; figures: [(workload, mech, unit,
    median, min, max, reps)] in the order the guest printed them."""
    info, figures = {}, []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("@@ bench-run "):
                info.update(parse_kv(line[len("@@ bench-run "):]))
            elif line.startswith("@@ bench-info "):
                info.update({"guest_" + k: v for k, v in parse_kv(line[len("@@ bench-info "):]).items()})
            elif line.startswith("@@ bench "):
                parts = line[len("@@ bench "):].split(",")
                if len(parts) != 7:
                    die(f"{path}: a malformed line: {line}")
                w, m, unit = parts[:3]
                try:
                    med, lo, hi = (float(x) for x in parts[3:6])
                    reps = int(parts[6])
                except ValueError:
                    die(f"{path}: a malformed line: {line}")
                figures.append((w, m, unit, med, lo, hi, reps))
    if not figures:
        die(f"{path}: no figures")
    return info, figures


def cost(unit, value):
    return 1.0 / value if unit in RATES else value


def ratios(figures):
    """[(workload, other, ratio)]: ipcon's cost over the other's."""
    by = {(w, m): (unit, med) for (w, m, unit, med, _, _, _) in figures}
    out = []
    for w in dict.fromkeys(f[0] for f in figures):
        if w.endswith("_MB") or (w, "ipcon") not in by:
            continue
        unit, mine = by[(w, "ipcon")]
        for other in MECHS[1:]:
            if (w, other) in by and by[(w, other)][1] > 0 and mine > 0:
                out.append((w, other, cost(unit, mine) / cost(unit, by[(w, other)][1])))
    return out


def table(info, figures):
    lines = [
        f"{info.get('arch', '?')} {info.get('kabi', '?')} (--kernel {info.get('kernel', '?')}), "
        f"QEMU {info.get('qemu', '?')} {info.get('mode', 'TCG')}, "
        f"{info.get('guest_reps', '?')} repetitions{' (quick)' if info.get('guest_quick') == '1' else ''}; "
        "median [min-max]; client and server in separate processes",
    ]
    workloads = list(dict.fromkeys(f[0] for f in figures))
    by = {(w, m): (unit, med, lo, hi) for (w, m, unit, med, lo, hi, _) in figures}
    head = f"{'workload':<24} {'unit':<6}" + "".join(f" {m:>24}" for m in MECHS)
    lines += [head, "-" * len(head)]
    for w in workloads:
        unit = next(by[(w, m)][0] for m in MECHS if (w, m) in by)
        row = f"{w:<24} {unit:<6}"
        for m in MECHS:
            if (w, m) in by:
                _, med, lo, hi = by[(w, m)]
                row += f" {f'{med:.1f} [{lo:.1f}-{hi:.1f}]':>24}"
            else:
                row += f" {'-':>24}"
        lines.append(row)
    return lines


def chart(runs, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        die("python3-matplotlib is needed for the chart (Debian: apt install python3-matplotlib)")
    fig, axes = plt.subplots(1, len(runs), figsize=(7 * len(runs), 9), squeeze=False)
    colours = {"unix_dgram": "#4c72b0", "unix_seqpacket": "#55a868", "tipc_rdm": "#c44e52"}
    for ax, (info, figures) in zip(axes[0], runs):
        rs = ratios(figures)
        workloads = list(dict.fromkeys(w for (w, _, _) in rs))
        height = 0.8 / 3
        for i, other in enumerate(MECHS[1:]):
            ys, xs = [], []
            for j, w in enumerate(workloads):
                for (w2, o, r) in rs:
                    if w2 == w and o == other:
                        ys.append(j + (i - 1) * height)
                        xs.append(r)
            # bars from 1: to the left where ipcon is faster
            ax.barh(ys, [x - 1.0 for x in xs], left=1.0, height=height, color=colours[other],
                    label=f"ipcon / {other}")
        ax.axvline(1.0, color="black", linewidth=1)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([0.25, 0.5, 1, 2, 4])
        values = [r for (_, _, r) in rs] or [1.0]
        ax.set_xlim(min(0.25, min(values) / 1.3), max(4.0, max(values) * 1.3))
        ax.set_yticks(range(len(workloads)))
        ax.set_yticklabels(workloads, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("ipcon's cost over the other's (log; below 1: ipcon faster)")
        ax.set_title(f"{info.get('arch')} {info.get('kabi')}\nQEMU {info.get('qemu')} TCG", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main():
    if len(sys.argv) != 2:
        die("usage: bench_report.py RESULTS_DIR")
    d = sys.argv[1]
    paths = sorted(glob.glob(os.path.join(d, "raw-*.txt")))
    if not paths:
        die(f"no raw-*.txt in {d}")
    runs = [read_run(p) for p in paths]
    with open(os.path.join(d, "results.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["arch", "kernel", "kabi", "qemu", "workload", "mechanism", "unit",
                      "median", "min", "max", "reps"])
        for info, figures in runs:
            for fig in figures:
                out.writerow([info.get("arch"), info.get("kernel"), info.get("kabi"),
                              info.get("qemu"), *fig])
    report = []
    for info, figures in runs:
        report += table(info, figures) + [""]
        for (w, other, r) in ratios(figures):
            report.append(f"ratio: {w} ipcon/{other} = {r:.2f} ({info.get('arch')} {info.get('kernel')})")
        report.append("")
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write("\n".join(report))
    print("\n".join(report))
    chart(runs, os.path.join(d, "chart.png"))


if __name__ == "__main__":
    main()
