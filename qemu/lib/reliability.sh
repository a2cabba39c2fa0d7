# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The fuzzer (ipcon-fuzz) and the stress run (ipcon-stress) in the VMs:
# which runs carry them, what the guest is told (/etc/ipcon-fuzz,
# /etc/ipcon-stress, read by qemu/guest/init), and which result lines the
# host expects back from each run.

# What 'qemu/run test' (CI) adds to the suite: a bounded fuzz on the debug
# kernel (KASAN, kmemleak, lockdep...) and on one stock ARM kernel, and the
# stress run on the debug kernel. CI_STRESS_ARGS scales the stress run
# down if CI's time budget needs it (empty: full size).
# shellcheck disable=SC2034 # CI_FUZZ_TIME, STRESS_TIMEOUT: read by qemu/run
CI_FUZZ_TIME=60
CI_FUZZ_RUNS=" x86_64:6.1-debug aarch64:6.1 "
CI_STRESS_RUNS=" x86_64:6.1-debug "
CI_STRESS_ARGS=""
# How long a full stress run may take in a VM (the debug kernel under TCG
# is the slowest), and what it adds to a test VM's timeout.
# shellcheck disable=SC2034
STRESS_TIMEOUT=2400
STRESS_BUDGET=900

# run_extras ARCH KERNEL: what this run of MODE adds to its guest, as a
# comma-separated list ("fuzz", "stress", "fuzz,stress" or "").
run_extras() {
	local run=" $1:$2 " out=""
	case $MODE in
	fuzz) out=fuzz ;;
	stress) out=stress ;;
	test)
		[[ $CI_FUZZ_RUNS == *"$run"* ]] && out=fuzz
		[[ $CI_STRESS_RUNS == *"$run"* ]] && out=${out:+$out,}stress
		;;
	esac
	echo "$out"
}

# run_timeout EXTRAS: the VM timeout of a run (--timeout wins).
run_timeout() {
	local t=$TIMEOUT
	if [ "$TIMEOUT_GIVEN" = 0 ] && [ "$MODE" = test ]; then
		[[ ,$1, == *,fuzz,* ]] && t=$((t + FUZZ_TIME))
		[[ ,$1, == *,stress,* ]] && t=$((t + STRESS_BUDGET))
	fi
	echo "$t"
}

# write_guest_extras ROOT EXTRAS: tell the guest init what to run after
# (or, in fuzz and stress mode, instead of) the suite.
write_guest_extras() {
	local root=$1 extras=$2
	rm -f "$root/etc/ipcon-fuzz" "$root/etc/ipcon-stress"
	if [[ ,$extras, == *,fuzz,* ]]; then
		echo "$FUZZ_TIME $FUZZ_SEED" >"$root/etc/ipcon-fuzz"
	fi
	if [[ ,$extras, == *,stress,* ]]; then
		if [ "$MODE" = test ]; then
			echo "$CI_STRESS_ARGS"
		else
			echo ""
		fi >"$root/etc/ipcon-stress"
	fi
}

# list_extra_tests: the result lines the fuzzer and the stress program
# write (host builds list them), into FUZZ_TESTS and STRESS_TESTS.
FUZZ_TESTS=()
STRESS_TESTS=()
list_extra_tests() {
	local b
	for b in ipcon-fuzz ipcon-stress; do
		local names
		names=$(cd "$IPCON_ROOT" && cargo run -q --locked -p ipcon-vmtests --bin "$b" -- --list) ||
			die "$b --list failed"
		if [ "$b" = ipcon-fuzz ]; then
			mapfile -t FUZZ_TESTS <<<"$names"
		else
			mapfile -t STRESS_TESTS <<<"$names"
		fi
	done
	[ ${#FUZZ_TESTS[@]} -gt 3 ] || die "ipcon-fuzz lists only ${#FUZZ_TESTS[@]} results"
	[ ${#STRESS_TESTS[@]} -gt 3 ] || die "ipcon-stress lists only ${#STRESS_TESTS[@]} results"
}

# expected_tests EXTRAS: EXPECTED_TESTS for one run of MODE: the suite's
# tests (test mode), the fuzzer's and the stress program's results.
expected_tests() {
	EXPECTED_TESTS=()
	[ "$MODE" = test ] && EXPECTED_TESTS+=("${SUITE_TESTS[@]}")
	[[ ,$1, == *,fuzz,* ]] && EXPECTED_TESTS+=("${FUZZ_TESTS[@]}")
	[[ ,$1, == *,stress,* ]] && EXPECTED_TESTS+=("${STRESS_TESTS[@]}")
	return 0
}
