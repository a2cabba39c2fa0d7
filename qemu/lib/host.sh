# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Host side of a run: the Rust checks, the static guest programs, and the
# final report.

HOST_RESULTS=()

# host_check NAME CMD...: run one host check, record ok/FAIL.
host_check() {
	local name=$1
	shift
	local logfile
	logfile=$IPCON_CACHE/host-$(echo "$name" | tr -c 'a-zA-Z0-9\n' '-').log
	log "host: $name"
	vlog "\$ $*"
	if (cd "$IPCON_ROOT" && "$@") >"$logfile" 2>&1; then
		HOST_RESULTS+=("ok host: $name")
	else
		tail -n 40 "$logfile" >&2
		HOST_RESULTS+=("FAIL host: $name (log: $logfile)")
	fi
}

# host_check_cargo VERSION NAME CMD...: host_check with a cargo of VERSION
# or newer; with an older one the check is reported skipped, saying why.
host_check_cargo() {
	local need=$1 name=$2 have
	shift 2
	have=$(cargo --version | awk '{print $2}')
	if [ "$(printf '%s\n' "$need" "$have" | sort -V | sed -n 1p)" = "$need" ]; then
		host_check "$name" "$@"
	else
		log "host: $name: skipped (needs cargo $need, this host's is $have)"
		HOST_RESULTS+=("skip host: $name (needs cargo $need or newer, this host's is $have: rustup's stable has it)")
	fi
}

# tiny_client_lints: rustfmt and clippy for tiny-client/.
tiny_client_lints() {
	cargo fmt --manifest-path tiny-client/Cargo.toml -- --check &&
		cargo clippy --manifest-path tiny-client/Cargo.toml --target-dir target/tiny-lint --locked -- -D warnings
}

run_host_checks() {
	# the C header's checks: cbindgen regenerates it, g++ compiles it as C++
	apt_install shellcheck cbindgen g++
	if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
		ensure_debian_rust_lints
	fi
	host_check "shellcheck qemu/ .ci/ meta-ipcon/" shellcheck -x qemu/run qemu/lib/*.sh qemu/guest/init \
		qemu/guest/demo .ci/run meta-ipcon/recipes-ipcon/ipcon/files/{run-ptest,ipcon-check-toolchain} \
		meta-ipcon/recipes-ipcon/ipcon-policy/files/ipcon-policy.init \
		meta-ipcon/recipes-ipcon/libipcon/files/run-ptest libipcon/gen-header libipcon/install-c-library
	host_check "cargo fmt --check" cargo fmt --all -- --check
	# ipcon-tiny is its own workspace (a no_std, no_main program)
	host_check "cargo fmt --check, cargo clippy (tiny-client)" tiny_client_lints
	host_check "cargo clippy (default features)" \
		cargo clippy --workspace --all-targets --locked -- -D warnings
	host_check "cargo clippy (all features)" \
		cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
	host_check "cargo clippy (no_std, no default features)" \
		cargo clippy -p ipcon --lib --no-default-features --locked -- -D warnings
	local f
	for f in alloc tokio async-io unstable; do
		# shellcheck disable=SC2046 # alloc alone: without std
		host_check "cargo clippy (ipcon, feature $f)" \
			cargo clippy -p ipcon --all-targets --locked \
			$([ "$f" = alloc ] && echo --no-default-features) --features "$f" -- -D warnings
	done
	host_check "cargo test" cargo test --workspace --all-features --locked
	host_check "libipcon: the C header is what cbindgen generates from libipcon/src" \
		libipcon/gen-header --check
	host_check "libipcon: the C header compiles as C99 and as C++11 (-Wall -Wextra -Werror -pedantic)" \
		c_header_check
}

# run_crate_release_checks: what publishing the crates needs: the docs of
# every feature set, the publish dry run, the packages' files and tests.
run_crate_release_checks() {
	host_check "cargo doc (every feature set, warnings are errors)" doc_every_feature_set
	# publishing (and packaging) a crate with a path dependency on another
	# unpublished one of the workspace needs cargo 1.90; the host checks
	# on a host whose only cargo is its distribution's 1.85 (Debian 13)
	# cannot run these two
	host_check_cargo 1.90 "cargo publish --dry-run (ipcon, ipcon-cli)" \
		cargo publish --dry-run -p ipcon -p ipcon-cli --locked
	host_check_cargo 1.90 "cargo package: files, and the packaged crate's own tests outside the workspace" \
		packaged_crates_check
}

# c_header_check: a C and a C++ translation unit that include the header,
# and the C examples of the READMEs, compiled with every warning an error.
c_header_check() {
	local tu rc=0
	tu=$(mktemp -d)
	printf '#include <ipcon.h>\nint main(void) { return ipcon_version() == 0; }\n' >"$tu/t.c"
	gcc -std=c99 -Wall -Wextra -Werror -pedantic -Ilibipcon/include/ipcon -c "$tu/t.c" -o "$tu/c.o" &&
		g++ -std=c++11 -Wall -Wextra -Werror -pedantic -Ilibipcon/include/ipcon -x c++ -c "$tu/t.c" -o "$tu/cxx.o" ||
		rc=1
	local readme n
	for readme in README.md libipcon/README.md; do
		# the first ```c block of each
		awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on' "$readme" >"$tu/readme.c"
		n=$(wc -l <"$tu/readme.c")
		[ "$n" -gt 10 ] || { echo "$readme: no C example found"; rc=1; continue; }
		echo "== $readme: its C example ($n lines)"
		gcc -std=c11 -Wall -Wextra -Werror -Ilibipcon/include/ipcon -c "$tu/readme.c" -o "$tu/readme.o" || rc=1
	done
	rm -rf "$tu"
	return $rc
}

# The publishable packages (the others have publish = false).
PUBLISHED=(ipcon ipcon-cli)

# The feature sets of the crate, as users combine them.
DOC_FEATURE_SETS=("--no-default-features" "--no-default-features --features alloc"
	"--no-default-features --features defmt" "" "--features tokio" "--features async-io"
	"--features unstable" "--all-features")

# doc_every_feature_set: rustdoc without a warning for each feature set (a
# link to an item another feature set lacks is the usual break), the
# tool's docs, and docs.rs's build (doc(cfg), nightly) if a nightly is
# there.
doc_every_feature_set() {
	local set
	for set in "${DOC_FEATURE_SETS[@]}"; do
		echo "== cargo doc -p ipcon $set"
		# shellcheck disable=SC2086 # a set is a list of arguments
		RUSTDOCFLAGS="-D warnings" cargo doc -p ipcon --no-deps --locked $set || return 1
	done
	echo "== cargo doc -p ipcon-cli"
	RUSTDOCFLAGS="-D warnings" cargo doc -p ipcon-cli --no-deps --locked || return 1
	if cargo +nightly --version >/dev/null 2>&1; then
		echo "== as docs.rs builds it: nightly, --cfg docsrs, all features"
		RUSTDOCFLAGS="--cfg docsrs -D warnings" CARGO_TARGET_DIR=target/docsrs \
			cargo +nightly doc -p ipcon --no-deps --all-features --locked || return 1
	else
		echo "(no nightly toolchain: docs.rs's doc(cfg) build not tried)"
	fi
}

# packaged_crates_check: each published package has its README, licence
# files and CHANGELOG (and the crate its copy of the UAPI header); then the
# ipcon package, unpacked outside the workspace as a crates.io user gets
# it, builds and passes its own tests with every feature (its header test
# runs on the copy; the comparison with the kernel header says it skipped).
# Offline: the dependencies come from cargo's cache.
packaged_crates_check() {
	local p f list tmp version out
	cargo package "${PUBLISHED[@]/#/-p}" --locked --offline --no-verify || return 1
	for p in "${PUBLISHED[@]}"; do
		list=$(cargo package -p "$p" --list --locked --offline) || return 1
		for f in README.md LICENSE-MIT LICENSE-APACHE CHANGELOG.md; do
			grep -qx "$f" <<<"$list" || {
				echo "package $p lacks $f"
				return 1
			}
		done
	done
	grep -qx uapi/ipcon.h <<<"$(cargo package -p ipcon --list --locked --offline)" || {
		echo "package ipcon lacks uapi/ipcon.h"
		return 1
	}
	version=$(sed -n 's/^version = "\(.*\)"$/\1/p' ipcon/Cargo.toml | sed -n 1p)
	tmp=$(mktemp -d)
	tar -xzf "target/package/ipcon-$version.crate" -C "$tmp" || return 1
	out=$(cd "$tmp/ipcon-$version" && CARGO_TARGET_DIR=$IPCON_ROOT/target/package-test \
		cargo test --locked --offline --all-features -- --nocapture 2>&1)
	local rc=$?
	rm -rf "$tmp"
	echo "$out"
	[ "$rc" = 0 ] || return 1
	grep -q "skipped: no kernel header" <<<"$out" || {
		echo "the header comparison did not say it skipped outside the workspace"
		return 1
	}
}

# run_harness_checks: the harness's own logic that a Debian 12 run never
# exercises.
run_harness_checks() {
	host_check "harness: the guests' Debian mirror is read from the host's apt sources (deb822, one-line, override, none)" \
		check_mirror_detection
}

# The kernel module's style gate: checkpatch --strict from the kernel source
# (the uapi header may not use BIT(): userspace has no such macro).
run_kernel_style_check() {
	fetch_checkpatch
	host_check "checkpatch --strict (ipcon-kmod)" make -C ipcon-kmod style CHECKPATCH="$CHECKPATCH"
}

# run_msrv_checks: the crate's rust-version verified with Debian's
# toolchain of that version: the whole workspace built and tested on the
# host. The ARM builds of the guest programs and of the crate's unit tests
# use that same toolchain, and every ARM VM runs those unit tests (codec,
# ABI, UAPI) as ipcon-ptest does: that is where the codec is proven on 32-
# and 64-bit ARM (running them under qemu-user too cost minutes of CI and
# proved nothing more).
run_msrv_checks() {
	local v
	v=$(msrv)
	host_check "rust $v (MSRV): cargo test, x86_64" \
		msrv_cargo x86_64 test --workspace --all-features --locked
}

# The guest programs (name for guest_path, and file under the build's
# target triple directory), as the ipcon recipe builds and installs them.
declare -A GUEST_OUT=()
declare -A GUEST_TESTS=()

# recipe_var NAME: a variable of the ipcon recipe.
recipe_var() {
	python3 "$IPCON_ROOT/qemu/lib/guest_userland.py" recipe-var "$1"
}

# build_guest_programs ARCH: the programs of the ipcon packages for ARCH,
# built once per run as the ipcon recipe builds them, with its cargo
# arguments: the tool and the examples with the release profile
# (IPCON_CARGO_TARGETS, do_compile), the suite and the benchmark with the
# ptest profile (IPCON_PTEST_CARGO_TARGETS, do_compile_ptest), the unit
# tests as ptest-cargo.bbclass builds and picks them (--tests, with the
# ptest profile as the recipe's CARGO_BUILD_FLAGS:task-compile-ptest-cargo
# sets it).
# Linked dynamically, as on an image (guest_cargo). Sets GUEST_NAMES and
# GUEST_BINS (the programs) and GUEST_UNIT_TESTS (the unit test binaries).
build_guest_programs() {
	local arch=$1 triple log targets ptest_targets profile examples programs e
	triple=$(rust_target "$arch")
	ahead_wait "programs-$arch"
	if [ -z "${GUEST_OUT[$arch]:-}" ]; then
		targets=$(recipe_var IPCON_CARGO_TARGETS)
		ptest_targets=$(recipe_var IPCON_PTEST_CARGO_TARGETS)
		profile=$(recipe_var IPCON_PTEST_PROFILE)
		log "building the guest programs as the ipcon recipe does ($triple)"
		# shellcheck disable=SC2086 # the recipe's argument lists
		guest_cargo "$arch" "$IPCON_CACHE/guest-build-$arch.log" build --release --locked $targets
		# shellcheck disable=SC2086
		guest_cargo "$arch" "$IPCON_CACHE/guest-build-ptest-$arch.log" \
			build --profile "$profile" --locked $ptest_targets
		GUEST_OUT[$arch]=$GUEST_TARGET_DIR
		log "building the unit tests for ipcon-ptest ($triple)"
		log=$IPCON_CACHE/guest-tests-$arch.log
		guest_cargo "$arch" "$log" build --profile "$profile" --locked --tests --message-format json
		GUEST_TESTS[$arch]=$(ptest_cargo_tests "$log")
		[ -n "${GUEST_TESTS[$arch]}" ] || die "no unit test binary found in $log"
	fi
	profile=$(recipe_var IPCON_PTEST_PROFILE)
	read -r -a examples <<<"$(recipe_var IPCON_EXAMPLES)"
	read -r -a programs <<<"$(recipe_var IPCON_PTEST_PROGRAMS)"
	# shellcheck disable=SC2034 # GUEST_NAMES, GUEST_UNIT_TESTS: build_initramfs
	GUEST_NAMES=(ipcon)
	GUEST_BINS=("${GUEST_OUT[$arch]}/release/ipcon")
	for e in "${programs[@]}"; do
		GUEST_NAMES+=("$e")
		GUEST_BINS+=("${GUEST_OUT[$arch]}/$profile/$e")
	done
	for e in "${examples[@]}"; do
		GUEST_NAMES+=("examples/$e")
		GUEST_BINS+=("${GUEST_OUT[$arch]}/release/examples/$e")
	done
	local b
	for b in "${GUEST_BINS[@]}"; do
		[ -x "$b" ] || die "guest program $b was not built"
	done
	# shellcheck disable=SC2034
	mapfile -t GUEST_UNIT_TESTS <<<"${GUEST_TESTS[$arch]}"
}

# ptest_cargo_tests LOG: the test executables among the JSON messages of
# "cargo build --tests" in LOG, chosen as ptest-cargo.bbclass chooses them
# (a target with test or doctest set, an executable, a manifest of this
# workspace), one per line, sorted.
ptest_cargo_tests() {
	python3 - "$1" "$IPCON_ROOT" <<'EOF'
import json
import os
import sys

root = os.path.realpath(sys.argv[2])
found = set()
with open(sys.argv[1]) as log:
    for line in log:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        target = msg.get("target") or {}
        manifest = os.path.realpath(msg.get("manifest_path", "/"))
        if (target.get("test") or target.get("doctest")) and msg.get("executable") \
                and manifest.startswith(root + os.sep):
            found.add(msg["executable"])
print("\n".join(sorted(found)))
EOF
}

TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0

# tally LINE: print a result line and count it.
tally() {
	echo "$1"
	case $1 in
	ok*) TOTAL_PASSED=$((TOTAL_PASSED + 1)) ;;
	skip*) TOTAL_SKIPPED=$((TOTAL_SKIPPED + 1)) ;;
	*) TOTAL_FAILED=$((TOTAL_FAILED + 1)) ;;
	esac
}

# report_host: the host checks' lines.
report_host() {
	local line
	for line in "${HOST_RESULTS[@]}"; do
		tally "$line"
	done
}

# list_suite_tests: the names of the integration suite's tests (a host
# build of the suite lists them), into SUITE_TESTS: every test VM run must
# report each of them (see expected_tests in reliability.sh), so a
# run-ptest that stopped early cannot pass.
SUITE_TESTS=()
EXPECTED_TESTS=()
list_suite_tests() {
	mapfile -t SUITE_TESTS < <(cd "$IPCON_ROOT" && cargo run -q --locked -p ipcon-vmtests --bin ipcon-vmtests -- --list)
	[ ${#SUITE_TESTS[@]} -gt 50 ] || die "the suite lists only ${#SUITE_TESTS[@]} tests"
}

# report_vm LABEL VM_OK: one line per test of this VM run (each of
# EXPECTED_TESTS must be there), and the figures the guest programs sent
# ("@@ info" lines: the fuzzer's and the stress run's).
report_vm() {
	local label=$1 vm_ok=$2 line vm_tests=0
	echo "ipcon test results: $label"
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"@@ test ok "*)
			tally "ok $label: ${line#@@ test ok }"
			vm_tests=$((vm_tests + 1))
			;;
		"@@ test FAIL "*)
			tally "FAIL $label: ${line#@@ test FAIL }"
			vm_tests=$((vm_tests + 1))
			;;
		"@@ test skip "*)
			# In the VM everything is installed: nothing may skip.
			tally "FAIL $label: skipped: ${line#@@ test skip }"
			vm_tests=$((vm_tests + 1))
			;;
		"@@ info "*) echo "  ${line#@@ info }" ;;
		esac
	done <"$RESULTS_LOG"
	if [ "$vm_tests" = 0 ]; then
		tally "FAIL $label: no test reported from the guest"
	fi
	local missing
	missing=$(awk 'FNR == NR { want[$0] = 1; next }
		{ sub(/\r$/, "") }
		/^@@ test (ok|FAIL|skip) / { n = $4; sub(/:$/, "", n); seen[n] = 1 }
		END { for (w in want) if (!(w in seen)) print w }' \
		<(printf '%s\n' "${EXPECTED_TESTS[@]}") "$RESULTS_LOG" | sort)
	if [ -n "$missing" ]; then
		tally "FAIL $label: $(echo "$missing" | wc -l) suite tests never reported, first ${missing%%$'\n'*}"
	fi
	if [ "$vm_ok" = 1 ]; then
		tally "ok $label: guest exit status 0, kernel log clean"
	else
		tally "FAIL $label: guest exit status or kernel log (see above)"
	fi
}

# report_total: the closing line; non-zero status on any failure.
report_total() {
	if [ "$TOTAL_SKIPPED" = 0 ]; then
		echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
	else
		echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed, $TOTAL_SKIPPED skipped"
	fi
	[ "$TOTAL_FAILED" = 0 ]
}
