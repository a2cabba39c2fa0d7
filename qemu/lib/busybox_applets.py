#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Write qemu/guest/busybox-applets: the applets of openembedded-core's busybox.

The test VMs offer the programs an image with packagegroup-ipcon and
ptest-runner would offer, no more: busybox with openembedded-core's default
configuration, plus the packages meta-ipcon's recipes pull in. This script
reads which applets that busybox has, and where it installs each one, from
two checkouts no package registry carries:

  OE_CORE   openembedded-core (the branch the layer is checked against):
            meta/recipes-core/busybox/busybox/defconfig, merged with the
            configuration fragments its busybox recipe always applies (the
            file://*.cfg entries of SRC_URI outside ${@...} conditions, in
            SRC_URI order, as merge_config.sh does), and the distro-feature
            settings of busybox.inc with nodistro's defaults (RFKILL on,
            SELINUX off). Fragments applied only with busybox as init or
            device manager (init.cfg, mdev.cfg), only on musl or only on
            x86-64 (sha_accel.cfg, no applet) are left out: nodistro uses
            systemd or sysvinit with udev, and glibc.
  BUSYBOX   busybox's source: each applet's //applet: line names the
            configuration symbols it needs and its install directory.

  busybox_applets.py OE_CORE BUSYBOX > qemu/guest/busybox-applets

The output lists one installed path per applet (/bin/sh, /sbin/modprobe,
...), sorted, after a header naming both sources and their commits. The
harness (qemu/lib/initramfs.sh) installs exactly these links in the guest.
"""

import glob
import os
import re
import subprocess
import sys

DIRS = {
    "BB_DIR_ROOT": "/",
    "BB_DIR_BIN": "/bin",
    "BB_DIR_SBIN": "/sbin",
    "BB_DIR_USR_BIN": "/usr/bin",
    "BB_DIR_USR_SBIN": "/usr/sbin",
}
APPLET = re.compile(r"APPLET(?:_NOEXEC|_NOFORK|_ODDNAME|_SCRIPTED)?\(\s*([^,\s]+)\s*,([^)]*)\)")
COND = re.compile(r"IF_(NOT_)?([A-Z0-9_]+)\(")
CONFIG_ON = re.compile(r"^(CONFIG_[A-Z0-9_]+)=(.*)$")
CONFIG_OFF = re.compile(r"^# (CONFIG_[A-Z0-9_]+) is not set$")


def git_describe(path):
    """commit and date of a checkout, for the header."""
    out = subprocess.run(
        ["git", "-C", path, "log", "-1", "--format=%H %cs"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return out[0], out[1]


def read_config(path, config):
    """Apply a defconfig or fragment to config (later lines win)."""
    with open(path) as f:
        for line in f:
            line = line.strip()
            m = CONFIG_ON.match(line)
            if m:
                config[m.group(1)] = m.group(2) not in ("n", '""')
                continue
            m = CONFIG_OFF.match(line)
            if m:
                config[m.group(1)] = False


def oe_config(oe_core):
    """openembedded-core's busybox configuration, and the files it came from."""
    rdir = os.path.join(oe_core, "meta", "recipes-core", "busybox")
    recipes = sorted(glob.glob(os.path.join(rdir, "busybox_*.bb")))
    if len(recipes) != 1:
        raise SystemExit(f"busybox_applets: expected one busybox_*.bb in {rdir}, found {recipes}")
    fragments = []
    with open(recipes[0]) as f:
        for line in f:
            if "${@" in line or ":append:" in line:
                continue  # conditional: see the module docstring
            fragments += re.findall(r"file://([\w.-]+\.cfg)\b", line)
    config = {}
    used = ["defconfig"] + fragments
    for name in used:
        read_config(os.path.join(rdir, "busybox", name), config)
    # busybox.inc's features_to_busybox_settings() with nodistro's
    # DISTRO_FEATURES (wifi and bluetooth: yes; selinux: no).
    config["CONFIG_RFKILL"] = True
    config["CONFIG_SELINUX"] = False
    return config, os.path.relpath(recipes[0], oe_core), used


def applets(busybox, config):
    """(path, applet) for every applet the configuration enables."""
    found = {}
    for root, _, files in os.walk(busybox):
        if "/.git" in root:
            continue
        for name in files:
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(root, name), errors="replace") as f:
                for line in f:
                    if not line.startswith("//applet:"):
                        continue
                    m = APPLET.search(line)
                    if not m:
                        continue
                    ok = all(
                        bool(config.get("CONFIG_" + sym)) != bool(neg)
                        for neg, sym in COND.findall(line[: m.start()])
                    )
                    if not ok:
                        continue
                    dirs = [DIRS[t] for t in re.findall(r"BB_DIR_[A-Z_]+", m.group(2))]
                    if len(dirs) != 1:
                        raise SystemExit(f"busybox_applets: cannot read {line.strip()}")
                    applet = m.group(1)
                    found[applet] = os.path.join(dirs[0], applet)
    return found


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    oe_core, busybox = sys.argv[1:]
    config, recipe, used = oe_config(oe_core)
    found = applets(busybox, config)
    if "sh" not in found or len(found) < 100:
        raise SystemExit(f"busybox_applets: only {len(found)} applets found: wrong checkouts?")
    oe_rev, oe_date = git_describe(oe_core)
    bb_rev, bb_date = git_describe(busybox)
    branch = subprocess.run(
        ["git", "-C", oe_core, "rev-parse", "--abbrev-ref", "HEAD"],
        capture_output=True, text=True,
    ).stdout.strip()
    print("# SPDX-License-Identifier: MIT OR Apache-2.0")
    print("# Generated by qemu/lib/busybox_applets.py; do not edit. Regenerate with")
    print("#   qemu/lib/busybox_applets.py OE_CORE BUSYBOX > qemu/guest/busybox-applets")
    print("#")
    print("# The applets of openembedded-core's busybox, where it installs them: the")
    print("# guest's busybox offers exactly these (qemu/lib/initramfs.sh).")
    print(f"# openembedded-core {branch} {oe_rev} ({oe_date}),")
    print(f"#   {recipe} with {', '.join(used)}")
    print(f"# busybox {bb_rev} ({bb_date}): the //applet: lines")
    for path in sorted(found.values()):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
