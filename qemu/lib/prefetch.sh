# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Fetching the guests' Debian packages ahead. Downloads wait on the network
# and the host checks and builds on the two cores, so while they run, the
# packages of every VM of the run (kernels, busybox, the C library and the
# packages the guest takes files from) are fetched in the background into
# the cache, with the same functions the VMs' steps call later: those find
# them there (each function marks what it completed) and go on at once.
# Nothing depends on the prefetch: if it fails, the VM's own step fetches
# again and reports the error where it happens.

PREFETCH_PID=""
PREFETCH_LOG=$IPCON_CACHE/prefetch.log

# guest_prefetch_start RUN...: fetch what the runs (ARCH:KERNEL) boot, in
# the background; the debug kernel is built, not fetched, so only its
# busybox and packages are. An aarch64 test run also carries armv7's C
# library (the 32-bit run).
guest_prefetch_start() {
	# the package lists first, here: two apt-get updates of one suite side
	# by side would fight over its lock
	guest_apt_update
	debian_apt_update "$(libc_suite)"
	local r arch k arches=()
	for r in "$@"; do
		IFS=: read -r arch k <<<"$r"
		arches+=("$arch")
		[ "$MODE" = test ] && [ "$arch" = aarch64 ] && arches+=(armv7)
	done
	mapfile -t arches < <(printf '%s\n' "${arches[@]}" | awk '!seen[$0]++')
	log "fetching the guests' Debian packages in the background (log: $PREFETCH_LOG)"
	(
		for r in "$@"; do
			IFS=: read -r arch k <<<"$r"
			[ "$k" = 6.1-debug ] && continue
			select_kernel "$k" "$arch"
			fetch_kernel "$arch"
		done
		for arch in "${arches[@]}"; do
			fetch_busybox "$arch"
			fetch_guest_debs "$arch"
		done
	) >"$PREFETCH_LOG" 2>&1 &
	PREFETCH_PID=$!
}

# guest_prefetch_wait: let the prefetch finish (before the first VM step
# uses its packages); a failure only means those steps fetch again.
guest_prefetch_wait() {
	[ -n "$PREFETCH_PID" ] || return 0
	local rc=0
	wait "$PREFETCH_PID" || rc=$?
	PREFETCH_PID=""
	if [ "$rc" != 0 ]; then
		log "warning: fetching ahead failed (exit $rc, log: $PREFETCH_LOG); each VM's step fetches again"
	fi
}
