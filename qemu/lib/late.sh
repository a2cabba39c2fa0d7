# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The slower host checks, beside the last VM. Until the debug kernel's VM
# boots, the test command keeps both cores busy (the host checks, then
# the VMs with the builds ahead beside them); during that last VM, the
# longest, a third of the machine is idle (measured on 2 cores: 47 to
# 97 %, 70 % on average, over its 9 minutes). The checks no VM needs,
# the crates' docs, publish dry run and packages, the MSRV build and
# tests, and the layer's build of the pin, run there instead, as one
# background job at idle priority (SCHED_IDLE): they take the cycles that
# VM leaves over. The quick checks, whose failures a developer wants to
# see first, stay in the foreground at the start.
#
# (Measured before: all the host checks beside all the VMs made the run
# slower, because the machine had no idle cycles to give them until the
# last VM.)
#
# The results join the host checks' report after the VMs (late_wait);
# what the checks install is installed before, in the foreground
# (late_prepare), so the job never takes dpkg's lock.

LATE_PID=""
LATE_DIR=""
LATE_LOG=$IPCON_CACHE/late-checks.log

# late_prepare: what the late checks install: the MSRV toolchain, and
# aarch64's cross linker and Rust std for the layer's build.
late_prepare() {
	msrv_prepare x86_64
	msrv_prepare aarch64
}

# late_checks: the checks of the job, each a host_check.
late_checks() {
	run_crate_release_checks
	run_msrv_checks
	run_layer_build_check
}

# late_start: start the job (test runs with host checks only).
late_start() {
	[ "$MODE" = test ] && [ "$HOST_CHECKS" = 1 ] && [ -z "$LATE_PID" ] || return 0
	LATE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ipcon-late.XXXXXX")
	log "the slower host checks (docs, publish, package, MSRV, the layer's build) run beside this VM at idle priority (log: $LATE_LOG)"
	job_start LATE_PID "$LATE_LOG" late_job
}

# late_job: the background job; its results, one per line, in
# LATE_DIR/results.
late_job() {
	job_idle
	HOST_RESULTS=()
	late_checks
	printf '%s\n' "${HOST_RESULTS[@]}" >"$LATE_DIR/results"
}

# late_wait: wait for the job and add its results to the host checks'.
late_wait() {
	if [ -z "$LATE_PID" ]; then
		# with host checks, a run that never started them must not pass
		# without them
		[ "$HOST_CHECKS" = 0 ] ||
			HOST_RESULTS+=("FAIL host: the slower host checks (late.sh) never started")
		return 0
	fi
	if kill -0 "$LATE_PID" 2>/dev/null; then
		log "waiting for the host checks beside the last VM (log: $LATE_LOG)"
	fi
	wait "$LATE_PID" 2>/dev/null || true
	if [ -s "$LATE_DIR/results" ]; then
		mapfile -t -O "${#HOST_RESULTS[@]}" HOST_RESULTS <"$LATE_DIR/results"
	else
		HOST_RESULTS+=("FAIL host: the checks beside the last VM ended without results (log: $LATE_LOG)")
	fi
	rm -rf "$LATE_DIR"
	LATE_PID=""
}

# late_stop: end the job and its builds (at exit: qemu/run's EXIT trap).
late_stop() {
	[ -n "$LATE_PID" ] || return 0
	job_stop "$LATE_PID"
	rm -rf "$LATE_DIR"
	LATE_PID=""
}
