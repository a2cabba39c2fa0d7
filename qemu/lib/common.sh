# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Shared helpers for the ipcon VM harness: logging, errors, paths.
# Sourced by qemu/run; defines functions and variables only.

export IPCON_ROOT
IPCON_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export IPCON_CACHE
IPCON_CACHE=${IPCON_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ipcon}
VERBOSE=${VERBOSE:-0}

# log MSG...: a progress line on stderr, so stdout stays for results; it
# starts with the time since the run began ([mm:ss]).
log() {
	local t
	t=$(printf '[%02d:%02d]' $((SECONDS / 60)) $((SECONDS % 60)))
	if [ -t 2 ]; then
		printf '\033[1m==>\033[0m %s %s\n' "$t" "$*" >&2
	else
		printf '==> %s %s\n' "$t" "$*" >&2
	fi
}

# vlog MSG...: only with --verbose.
vlog() {
	if [ "$VERBOSE" = 1 ]; then
		printf '    %s\n' "$*" >&2
	fi
	return 0
}

# die MSG...: one clear line on stderr, exit 2.
die() {
	printf 'qemu/run: error: %s\n' "$*" >&2
	exit 2
}

# run_quiet LOGFILE CMD...: run CMD with its output in LOGFILE (shown with
# --verbose); on failure print the tail of the log and die.
run_quiet() {
	local logfile=$1
	shift
	vlog "\$ $*"
	if [ "$VERBOSE" = 1 ]; then
		"$@" 2>&1 | tee "$logfile" >&2
		local rc=${PIPESTATUS[0]}
	else
		local rc=0
		"$@" >"$logfile" 2>&1 || rc=$?
	fi
	if [ "$rc" != 0 ]; then
		tail -n 30 "$logfile" >&2
		die "'$1' failed (exit $rc); full log: $logfile"
	fi
}

# as_root CMD...: run CMD as root (directly, or through sudo if available).
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $* (run qemu/run as root or install sudo)"
	fi
}

# The test command's two background jobs (ahead.sh, late.sh) share these.
#
# job_start VAR LOG CMD...: run CMD in the background, output to LOG, in
# a process group of its own (set -m), so that job_stop ends its builds
# with it; its pid in VAR.
job_start() {
	local var=$1 logfile=$2
	shift 2
	set -m
	"$@" >"$logfile" 2>&1 &
	printf -v "$var" '%s' "$!"
	set +m
}

# job_idle: the calling background job at idle CPU priority (SCHED_IDLE, or
# nice 19 where that is refused): it takes only the cycles left over.
job_idle() {
	chrt --idle -p 0 "$BASHPID" >/dev/null 2>&1 ||
		renice -n 19 -p "$BASHPID" >/dev/null 2>&1 || true
}

# job_stop PID: end a job_start job and everything it started.
job_stop() {
	kill -- -"$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
