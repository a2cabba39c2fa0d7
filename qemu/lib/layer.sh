# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Host checks of meta-ipcon, the Yocto layer, without bitbake (which no
# package registry carries) and without network for the build: the lint
# Yocto layer users run, the crates file against Cargo.lock, the toolchain
# check with good and bad toolchains, the crate built the way cargo.bbclass
# builds it, the kas and bitbake-setup files against their schemas. The
# module is built and installed the module.bbclass way for every VM
# (build_module), and every VM runs the suite through the layer's run-ptest.

LAYER=meta-ipcon
# The releases the layer supports: LAYERSERIES_COMPAT (wrynose, and
# blacksail, openembedded-core's master) and scarthgap with
# meta-lts-mixins' newer Rust (kas/ipcon-scarthgap.yml).
LAYER_RELEASES=(wrynose blacksail scarthgap)
OELINT_VERSION=9.11.2
KAS_VERSION=5.5
LAYER_VENV=$IPCON_CACHE/layer-venv-oelint$OELINT_VERSION-kas$KAS_VERSION

# ensure_layer_tools: oelint-adv and kas (for its config schema) from PyPI,
# in a venv of Debian's python3.
ensure_layer_tools() {
	apt_install python3 python3-venv
	[ -x "$LAYER_VENV/bin/oelint-adv" ] && return 0
	log "installing oelint-adv $OELINT_VERSION and kas $KAS_VERSION (PyPI) into $LAYER_VENV"
	rm -rf "$LAYER_VENV"
	run_quiet "$IPCON_CACHE/layer-venv.log" /usr/bin/python3 -m venv "$LAYER_VENV"
	run_quiet "$IPCON_CACHE/layer-venv.log" "$LAYER_VENV/bin/pip" install --quiet \
		"oelint-adv==$OELINT_VERSION" "kas==$KAS_VERSION"
}

run_layer_checks() {
	ensure_layer_tools
	host_check "meta-ipcon: oelint-adv $OELINT_VERSION (${LAYER_RELEASES[*]})" layer_oelint
	host_check "meta-ipcon: the pinned commit has what the recipes install; ipcon-crates.inc matches its Cargo.lock" \
		/usr/bin/python3 "$LAYER/scripts/ipcon-pin" --check
	host_check "meta-ipcon: a pin without the ptest profile, or a stale crates file, fails the pin check" \
		layer_bad_pin
	host_check "meta-ipcon: ipcon-crates.inc matches the working tree's Cargo.lock (IPCON_LOCAL_SRC)" \
		/usr/bin/python3 "$LAYER/scripts/ipcon-crates-inc" --check
	host_check "meta-ipcon: a stale ipcon-crates.inc fails, naming the fix" layer_stale_crates
	host_check "meta-ipcon: ipcon-check-toolchain (good; old cargo, old rustc, new Cargo.lock fail)" \
		layer_toolchain_check
	host_check "ipcon-kmod: a missing KERNEL_SRC fails, naming the fix" layer_missing_kernel_src
	host_check "meta-ipcon: kas, bitbake-setup, oeqa and layer files" layer_files_check
	host_check "meta-ipcon: the policy files pass 'ipcon policy check'" layer_policy_check
	host_check "meta-ipcon: the suite runs only busybox's default applets and what ipcon-ptest pulls in" \
		/usr/bin/python3 qemu/lib/guest_userland.py check
	host_check "meta-ipcon: a program the recipes do not pull in fails that check, naming the package" \
		layer_userland_missing
}

# run_layer_build_check: the ipcon recipe's cargo build of the pin
# (msrv_prepare aarch64 first).
run_layer_build_check() {
	host_check "meta-ipcon: ipcon built from the pin as cargo.bbclass does (aarch64, --frozen, crates of the .inc only)" \
		layer_cargo_build aarch64
}

# layer_oelint: every recipe file, as the layer's README says, against each
# release the layer supports (scarthgap through meta-lts-mixins' Rust).
layer_oelint() {
	local files release
	mapfile -t files < <(cd "$LAYER" && find . -name '*.bb' -o -name '*.bbappend' -o -name '*.inc' -o -name '*.bbclass' | sort)
	[ ${#files[@]} -ge 5 ] || die "oelint: only ${#files[@]} recipe files found in $LAYER"
	for release in "${LAYER_RELEASES[@]}"; do
		echo "== oelint-adv --release $release: ${files[*]}"
		(cd "$LAYER" && "$LAYER_VENV/bin/oelint-adv" --quiet --release "$release" --mode all \
			--relpaths "${files[@]}")
	done
}

# expect_failure NEEDLE CMD...: CMD must fail and say NEEDLE.
expect_failure() {
	local needle=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	echo "\$ $* -> exit $rc"
	echo "$out"
	[ "$rc" != 0 ] || die "expected a failure, got exit 0"
	case $out in
	*"$needle"*) ;;
	*) die "the failure does not say '$needle'" ;;
	esac
}

layer_stale_crates() {
	local tmp
	tmp=$(mktemp -d)
	sed 's/^version = "0.2.191"$/version = "0.2.190"/' Cargo.lock >"$tmp/Cargo.lock"
	cmp -s Cargo.lock "$tmp/Cargo.lock" && die "the test edit of Cargo.lock changed nothing"
	expect_failure "Fix: run meta-ipcon/scripts/ipcon-crates-inc" \
		/usr/bin/python3 "$LAYER/scripts/ipcon-crates-inc" --check --lock "$tmp/Cargo.lock"
	rm -rf "$tmp"
}

# layer_userland_missing: without util-linux-unshare in RDEPENDS, the
# suite's "unshare" is missing on an image: the userland check says so.
layer_userland_missing() {
	local tmp recipe=$LAYER/recipes-ipcon/ipcon/ipcon_0.1.0.bb
	tmp=$(mktemp -d)
	sed 's/ util-linux-unshare//' "$recipe" >"$tmp/ipcon.bb"
	cmp -s "$recipe" "$tmp/ipcon.bb" && die "the test edit of $recipe changed nothing"
	expect_failure "add util-linux-unshare to RDEPENDS" \
		/usr/bin/python3 qemu/lib/guest_userland.py check --recipe "$tmp/ipcon.bb"
	rm -rf "$tmp"
}

# layer_bad_pin: the pin check fails for the commit before the ptest
# profile existed (named by its hash: a fresh clone has main's history but
# not necessarily its tags), and for a crates file that does not match the
# pinned Cargo.lock.
PIN_BEFORE_PTEST_PROFILE=055e95874faa9d3d8145e38c29e2a4968bfb7a8b
layer_bad_pin() {
	local tmp
	tmp=$(mktemp -d)
	expect_failure "no [profile.ptest]" /usr/bin/python3 "$LAYER/scripts/ipcon-pin" --check --rev "$PIN_BEFORE_PTEST_PROFILE"
	sed 's/^\(SRC_URI\[libc-[0-9.]*\.sha256sum\] = "\)./\10/' \
		"$LAYER/recipes-ipcon/ipcon/ipcon-crates.inc" >"$tmp/stale.inc"
	cmp -s "$LAYER/recipes-ipcon/ipcon/ipcon-crates.inc" "$tmp/stale.inc" &&
		die "the test edit of ipcon-crates.inc changed nothing"
	expect_failure "does not match the Cargo.lock at the pin" \
		/usr/bin/python3 "$LAYER/scripts/ipcon-pin" --check --inc "$tmp/stale.inc"
	rm -rf "$tmp"
}

# fake_rust DIR VERSION: cargo and rustc in DIR that say they are VERSION.
fake_rust() {
	local t
	mkdir -p "$1"
	for t in cargo rustc; do
		printf '#!/bin/sh\necho "%s %s (fake)"\n' "$t" "$2" >"$1/$t"
		chmod 755 "$1/$t"
	done
}

layer_toolchain_check() {
	local tmp check=$LAYER/recipes-ipcon/ipcon/files/ipcon-check-toolchain
	tmp=$(mktemp -d)
	# Debian's Rust at the crate's MSRV: accepted.
	mkdir -p "$tmp/msrv"
	ln -s /usr/bin/cargo "$tmp/msrv/cargo"
	ln -s /usr/bin/rustc "$tmp/msrv/rustc"
	PATH=$tmp/msrv:$PATH sh "$check" Cargo.lock Cargo.toml
	# scarthgap's Rust: cannot read a version 4 Cargo.lock.
	fake_rust "$tmp/1.75" 1.75.0
	expect_failure "meta-lts-mixins" env PATH="$tmp/1.75:$PATH" sh "$check" Cargo.lock Cargo.toml
	# Reads the lock file, but is older than rust-version.
	fake_rust "$tmp/1.84" 1.84.1
	expect_failure "needs Rust >= $(msrv)" env PATH="$tmp/1.84:$PATH" sh "$check" Cargo.lock Cargo.toml
	# A lock file format from the future.
	sed 's/^version = 4$/version = 5/' Cargo.lock >"$tmp/Cargo.lock"
	expect_failure "format version 5" env PATH="$tmp/msrv:$PATH" sh "$check" "$tmp/Cargo.lock" Cargo.toml
	rm -rf "$tmp"
}

layer_missing_kernel_src() {
	expect_failure "Fix: install the headers" make -C ipcon-kmod KERNEL_SRC=/nonexistent/kernel
}

layer_files_check() {
	# What yocto-check-layer asks of the README, and its SECURITY file.
	grep -qi 'maintainer' "$LAYER/README.md" || die "README.md names no maintainer"
	grep -qi 'patch' "$LAYER/README.md" || die "README.md does not say where patches go"
	grep -qE '[[:alnum:]._-]+@[[:alnum:].-]+' "$LAYER/README.md" || die "README.md has no e-mail address"
	[ -f "$LAYER/SECURITY.md" ] || die "no SECURITY.md"
	# The releases checked here are the ones the layer declares, plus
	# scarthgap through the kas file that adds the Rust mixin.
	local compat
	compat=$(sed -n 's/^LAYERSERIES_COMPAT_ipcon = "\(.*\)"$/\1/p' "$LAYER/conf/layer.conf")
	[ "$compat scarthgap" = "${LAYER_RELEASES[*]}" ] ||
		die "LAYERSERIES_COMPAT_ipcon is '$compat'; LAYER_RELEASES (qemu/lib/layer.sh) is '${LAYER_RELEASES[*]}'"
	grep -q 'LAYERSERIES_COMPAT_ipcon:append = " scarthgap"' "$LAYER/kas/ipcon-scarthgap.yml" ||
		die "kas/ipcon-scarthgap.yml does not declare the layer compatible with scarthgap"
	# No Python bytecode in git (py_compile below writes some; .gitignore
	# keeps it out).
	[ -z "$(git ls-files '*.pyc' '*/__pycache__/*')" ] || die "Python bytecode is committed: $(git ls-files '*.pyc')"
	/usr/bin/python3 -m py_compile "$LAYER/lib/oeqa/runtime/cases/ipcon.py"
	/usr/bin/python3 -m py_compile "$LAYER/scripts/ipcon-crates-inc"
	"$LAYER_VENV/bin/python" - "$LAYER" <<'EOF'
import glob
import json
import os
import sys

import jsonschema
import yaml
from kas.configschema import CONFIGSCHEMA

layer = sys.argv[1]
root = os.path.dirname(os.path.abspath(layer))
for path in sorted(glob.glob(os.path.join(layer, "kas", "*.yml"))):
    conf = yaml.safe_load(open(path))
    jsonschema.validate(conf, CONFIGSCHEMA)
    for inc in conf.get("header", {}).get("includes", []):
        assert os.path.exists(os.path.join(root, inc)), f"{path}: no include {inc}"
    target = conf.get("target")
    if target:
        recipes = glob.glob(os.path.join(layer, "recipes-*", "*", target + ".bb"))
        assert recipes, f"{path}: target {target} is no recipe of the layer"
    for repo in conf.get("repos", {}).values():
        for name in (repo or {}).get("layers", {}) if not (repo or {}).get("url") else []:
            assert os.path.exists(os.path.join(root, name, "conf", "layer.conf")), f"{path}: {name}"
    print("kas ok:", path)
for path in sorted(glob.glob(os.path.join(layer, "bitbake-setup", "*.conf.json"))):
    conf = json.load(open(path))
    for key in ("description", "sources", "bitbake-setup", "version"):
        assert key in conf, f"{path}: no {key}"
    assert "bitbake" in conf["sources"], f"{path}: bitbake is not among the sources"
    for c in conf["bitbake-setup"]["configurations"]:
        for bl in c["bb-layers"]:
            src = bl.split("/")[0]
            assert src in conf["sources"], f"{path}: layer {bl} of no source"
            if src == "ipcon":
                assert os.path.exists(os.path.join(root, bl.split("/", 1)[1], "conf", "layer.conf"))
    print("bitbake-setup ok:", path)
EOF
}

# layer_policy_check: the policy files parse, as the boot script would load
# them ("ipcon policy check" needs no module): the layer's default, also
# with its commented example rules uncommented (what a product starts
# from), and the test VM's. A file with an error must fail, naming the line.
# (host_check runs this in an "if": errexit is off, so each step checks.)
layer_policy_check() {
	local tmp f dir=$LAYER/recipes-ipcon/ipcon-policy/files
	tmp=$(mktemp -d)
	sed -E 's/^#((own|send|join)[[:space:]])/\1/' "$dir/policy" >"$tmp/example"
	if cmp -s "$dir/policy" "$tmp/example"; then
		die "$dir/policy has no commented example rules"
	fi
	for f in "$dir/policy" "$tmp/example" qemu/guest/policy; do
		echo "\$ ipcon policy check $f"
		host_ipcon policy check "$f" || die "ipcon policy check $f failed"
	done
	printf 'default deny\nown com.example.x uid\n' >"$tmp/bad"
	expect_failure "$tmp/bad:2" host_ipcon policy check "$tmp/bad"
	rm -rf "$tmp"
}

# host_ipcon ARGS...: the ipcon tool, built for the host.
host_ipcon() {
	cargo run -q --locked -p ipcon-cli --bin ipcon -- "$@"
}

# layer_cargo_build ARCH: the ipcon recipe's build, outside bitbake: the
# pinned commit (IPCON_SRCREV) unpacked as the git fetcher does, the
# crates of ipcon-crates.inc vendored as the crate fetcher does, the
# CARGO_HOME config cargo_common.bbclass writes, the toolchain check, then
# do_compile's, do_compile_ptest's and ptest-cargo's cargo commands
# (--frozen) with the MSRV cargo, and do_install's files checked.
layer_cargo_build() {
	local arch=$1 triple var w src pin
	triple=$(rust_target "$arch")
	var=$(echo "$triple" | tr 'a-z-' 'A-Z_')
	w=$IPCON_ROOT/target/bitbake-$arch
	src=$w/sources/ipcon-src
	rm -rf "$w"
	mkdir -p "$src" "$w/cargo_home/bitbake" "$w/build"
	pin=$(sed -n 's/^IPCON_SRCREV ?= "\([0-9a-f]*\)"$/\1/p' "$LAYER/conf/include/ipcon-src.inc")
	[ -n "$pin" ] || die "no IPCON_SRCREV in $LAYER/conf/include/ipcon-src.inc"
	echo "building the pin, $pin ($(git describe --tags --always "$pin"))"
	git archive --format=tar "$pin" | tar -x -C "$src" || die "cannot unpack the pin $pin (is it in this clone's history?)"
	/usr/bin/python3 qemu/lib/vendor_crates.py "$LAYER/recipes-ipcon/ipcon/ipcon-crates.inc" \
		"$IPCON_CACHE/crates" "$w/cargo_home/bitbake"
	cat >"$w/cargo_home/config.toml" <<EOF
[source.bitbake]
directory = "$w/cargo_home/bitbake"

[source.crates-io]
replace-with = "bitbake"
local-registry = "/nonexistent"

[target.$triple]
linker = "$(cross_prefix "$arch")gcc"

[build]
target-dir = "$w/build/target"
EOF
	# The check is about what the recipe's build resolves and installs
	# (--frozen, vendored crates of the .inc only, the features, the files
	# do_install takes), not about the code: the guest builds compile the
	# same sources for aarch64 with the real profiles, and the VMs run
	# them. So release's fat LTO and single codegen unit are turned off
	# and nothing is optimised (6 minutes with the async examples at
	# first, 2 with LTO off, 1 unoptimised).
	local env=(CARGO_HOME="$w/cargo_home" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
		"CARGO_TARGET_${var}_RUSTFLAGS=--sysroot=$RUST_SYSROOT" PATH="/usr/bin:$PATH"
		CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
		CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_PTEST_OPT_LEVEL=0)
	env "${env[@]}" sh "$LAYER/recipes-ipcon/ipcon/files/ipcon-check-toolchain" \
		"$src/Cargo.lock" "$src/Cargo.toml"
	local flags=(-v --frozen --target "$triple" --release "--manifest-path=$src/Cargo.toml")
	local targets ptest_targets profile examples programs
	read -r -a targets <<<"$(recipe_var IPCON_CARGO_TARGETS)"
	read -r -a ptest_targets <<<"$(recipe_var IPCON_PTEST_CARGO_TARGETS)"
	read -r -a programs <<<"$(recipe_var IPCON_PTEST_PROGRAMS)"
	profile=$(recipe_var IPCON_PTEST_PROFILE)
	read -r -a examples <<<"$(recipe_var IPCON_EXAMPLES)"
	# do_compile, then do_compile_ptest (CARGO_BUILD_FLAGS with the ptest
	# profile in place of --release)
	(cd "$w/build" && env "${env[@]}" /usr/bin/cargo build "${flags[@]}" "${targets[@]}")
	(cd "$w/build" && env "${env[@]}" /usr/bin/cargo build "${flags[@]/--release/--profile=$profile}" \
		"${ptest_targets[@]}")
	local out=$w/build/target/$triple p
	for p in release/ipcon "${programs[@]/#/$profile/}" "${examples[@]/#/release/examples/}"; do
		[ -x "$out/$p" ] || die "do_install would not find $out/$p"
	done
	# ptest-cargo's build: CARGO_BUILD_FLAGS with the ptest profile, as the
	# recipe's CARGO_BUILD_FLAGS:task-compile-ptest-cargo makes them
	(cd "$w/build" && env "${env[@]}" /usr/bin/cargo build --tests --message-format json \
		"${flags[@]/--release/--profile=$profile}") >"$w/ptest-build.json"
	local tests
	tests=$(ptest_cargo_tests "$w/ptest-build.json")
	echo "ptest-cargo would install:"
	echo "$tests"
	[ -n "$tests" ] || die "ptest-cargo would find no test binary"
	# cargo puts test binaries in the profile's deps directory and the
	# programs directly in the profile's directory
	if grep -v '/deps/[^/]*$' <<<"$tests"; then
		die "ptest-cargo would take a program (above) for a test binary"
	fi
}
