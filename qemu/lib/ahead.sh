# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Building ahead. A VM under TCG spends most of its run waiting (the suite's
# round trips, timeouts and sleeps): measured on 2 cores, the machine is
# 80 to 90 % idle while the x86_64 suite runs. The test command's builds
# (the guest programs and C library of each arch, the debug kernel) used
# to run between the VMs, on the critical
# path. Here one background job builds them in the order the runs need
# them, at idle priority (SCHED_IDLE, or nice 19 where that is refused):
# it takes the cycles the host checks and the VMs leave over. It calls the
# same functions the runs call later; those find the work done (cargo's
# own freshness, the debug kernel's .complete mark) and go on at once.
#
# (Measured: running the host checks beside the VMs as well made the run
# slower, not faster. The machine is then busy all the time, and the
# debug kernel, which the last VM needs, was built 5 minutes later.)
#
# Nothing depends on it: before a run's step, the harness waits for the job
# to finish that step (ahead_wait); if the job failed, the step builds in
# the foreground and reports the error where it happens. Whatever installs
# packages or downloads into a shared directory is done before the job
# starts (ahead_prepare), so the job never takes dpkg's lock or races a
# download of the foreground.

AHEAD_PID=""
AHEAD_DIR=""
AHEAD_LOG=$IPCON_CACHE/ahead.log

# ahead_units RUN...: the job's steps, in the order the runs need them:
# programs-ARCH (the guest programs, the C library and ipcon-tiny; an
# aarch64 test run also carries armv7's) and debug-ARCH (the debug kernel).
ahead_units() {
	local r arch k seen=" " units=() a
	for r in "$@"; do
		IFS=: read -r arch k <<<"$r"
		for a in $([ "$arch" = aarch64 ] && echo armv7) "$arch"; do
			[[ $seen == *" programs-$a "* ]] && continue
			seen+="programs-$a "
			units+=("programs-$a")
		done
		[ "$k" = 6.1-debug ] && units+=("debug-$arch")
	done
	printf '%s\n' "${units[@]}"
}

# ahead_prepare UNIT...: what the units install or download, done here in
# the foreground.
ahead_prepare() {
	local u arch
	for u in "$@"; do
		arch=${u#*-}
		case $u in
		programs-*)
			[ "$arch" = x86_64 ] || msrv_prepare "$arch"
			ensure_musl "$arch"
			;;
		debug-*) debug_kernel_prepare "$arch" ;;
		esac
	done
}

# ahead_run UNIT: one step of the job.
ahead_run() {
	local arch=${1#*-}
	case $1 in
	programs-*)
		build_guest_programs "$arch"
		build_c_library "$arch"
		build_tiny_client "$arch"
		;;
	debug-*) build_debug_kernel "$arch" ;;
	esac
}

# build_ahead_start RUN...: start the job for the runs of a test (the other
# commands boot one or two VMs and gain little).
build_ahead_start() {
	[ "$MODE" = test ] || return 0
	local units
	mapfile -t units < <(ahead_units "$@")
	ahead_prepare "${units[@]}"
	AHEAD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/ipcon-ahead.XXXXXX")
	log "building ahead at idle priority while the checks and VMs run: ${units[*]} (log: $AHEAD_LOG)"
	job_start AHEAD_PID "$AHEAD_LOG" ahead_job "${units[@]}"
}

# ahead_job UNIT...: the background job.
ahead_job() {
	trap 'echo $? >"$AHEAD_DIR/.end"' EXIT
	job_idle
	local u
	for u in "$@"; do
		ahead_run "$u"
		touch "$AHEAD_DIR/$u"
	done
}

# ahead_running: the job has not ended.
ahead_running() {
	[ -n "$AHEAD_PID" ] && [ ! -e "$AHEAD_DIR/.end" ] && kill -0 "$AHEAD_PID" 2>/dev/null
}

# ahead_wait UNIT: return once the job has done UNIT, or has ended without
# it (then the caller's own step builds it, and says why it fails if it
# does).
ahead_wait() {
	[ -n "$AHEAD_PID" ] || return 0
	[ -e "$AHEAD_DIR/$1" ] && return 0
	if ahead_running; then
		log "waiting for the build ahead to finish $1 (log: $AHEAD_LOG)"
		while [ ! -e "$AHEAD_DIR/$1" ] && ahead_running; do
			sleep 1
		done
	fi
	if [ ! -e "$AHEAD_DIR/$1" ]; then
		log "warning: the build ahead ended before $1 (exit $(cat "$AHEAD_DIR/.end" 2>/dev/null || echo '?'), log: $AHEAD_LOG); building it here"
		ahead_stop
	fi
}

# ahead_finish: return once the job has ended (before the late host
# checks start: the job's last step, the debug kernel, is on the critical
# path, and the checks are not).
ahead_finish() {
	if ahead_running; then
		log "waiting for the build ahead to finish (log: $AHEAD_LOG)"
		while ahead_running; do
			sleep 1
		done
	fi
}

# ahead_stop: end the job and its builds (once it failed, and at exit:
# qemu/run's EXIT trap).
ahead_stop() {
	[ -n "$AHEAD_PID" ] || return 0
	job_stop "$AHEAD_PID"
	rm -rf "$AHEAD_DIR"
	AHEAD_PID=""
}
