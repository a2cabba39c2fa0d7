# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Boot the VM under QEMU (TCG: our /dev/kvm cannot boot stock kernels, and
# users' CI often has none) and read the results port back.
#
# Channels: serial port 0 is the console (humans, boot log); serial port 1
# (ttyS1 on x86_64, ttyAMA1 on ARM) carries structured lines from the guest: "@@ exit N", a dmesg dump between
# "@@ dmesg-begin" and "@@ dmesg-end", and the test runner's result lines.

# qemu_cmd ARCH INITRD CONSOLE RESULTS: prints the QEMU command, one word a
# line. The machines are the ones the notes found reliable under TCG: 'pc'
# for x86_64; 'virt' for ARM (highmem=off for armv7: the non-LPAE armmp
# kernel cannot use PCI above 4 GiB). QEMU 10's 'virt' has two PL011 UARTs.
qemu_cmd() {
	local arch=$1 initrd=$2 console=$3 results=$4 tty
	local common=(-smp 2 -m 512 -display none -nic none -no-reboot)
	local machine=()
	case $arch in
	x86_64) machine=(qemu-system-x86_64 -M pc -accel tcg -cpu max) tty=ttyS0 ;;
	aarch64) machine=(qemu-system-aarch64 -M virt -accel tcg -cpu cortex-a57) tty=ttyAMA0 ;;
	armv7) machine=(qemu-system-arm -M "virt,highmem=off" -accel tcg -cpu cortex-a15) tty=ttyAMA0 ;;
	*) die "arch '$arch' is not wired into the VM harness" ;;
	esac
	local append="console=$tty panic=-1 panic_on_warn=1 oops=panic quiet loglevel=4"
	printf '%s\n' "${machine[@]}" "${common[@]}" \
		-kernel "$KIMAGE" -initrd "$initrd" -append "$append" \
		-serial "$console" -serial "file:$results"
}

# boot_vm ARCH INITRD WORKDIR TIMEOUT: boot and wait; sets VM_RC (QEMU exit
# status, 124 on timeout), CONSOLE_LOG and RESULTS_LOG.
boot_vm() {
	local arch=$1 initrd=$2 work=$3 tmo=$4 console_dev
	CONSOLE_LOG=$work/console.log
	RESULTS_LOG=$work/results.log
	: >"$CONSOLE_LOG"
	: >"$RESULTS_LOG"
	if [ "$MODE" = shell ]; then
		console_dev=mon:stdio
	else
		console_dev=file:$CONSOLE_LOG
	fi
	local cmd=()
	mapfile -t cmd < <(qemu_cmd "$arch" "$initrd" "$console_dev" "$RESULTS_LOG")
	if [ "$DRY_RUN" = 1 ]; then
		printf '%q ' timeout "$tmo" "${cmd[@]}"
		echo
		VM_RC=0
		return 0
	fi
	vlog "\$ ${cmd[*]}"
	VM_RC=0
	if [ "$MODE" = shell ]; then
		"${cmd[@]}" || VM_RC=$?
		return 0
	fi
	local tail_pid=""
	if [ "$MODE" = demo ] || [ "$MODE" = bench ] || [ "$VERBOSE" = 1 ]; then
		tail -n +1 -f "$CONSOLE_LOG" &
		tail_pid=$!
	fi
	timeout -k 10 "$tmo" "${cmd[@]}" </dev/null || VM_RC=$?
	if [ -n "$tail_pid" ]; then
		sleep 0.3
		kill "$tail_pid" 2>/dev/null || true
		wait "$tail_pid" 2>/dev/null || true
	fi
}

# Kernel log lines that fail a run even when every test passed.
DMESG_BAD='WARNING:|BUG:|Oops|general protection|Call Trace|UBSAN:|KASAN:|kmemleak: [0-9]+ new suspected|refcount_t:|list_(add|del) corruption|sleeping function called|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|lock held when returning|ipcon: .*leak|blocked for more than [0-9]+ seconds|rcu: INFO:|detected stalls? on CPU|self-detected stall|soft lockup'

# check_vm ARCH: judge the run from the results port; prints the dmesg
# findings; returns 0 when the guest reported exit 0, the kernel log is clean
# and QEMU ended by itself.
check_vm() {
	local ok=0 guest_rc
	if [ "$VM_RC" = 124 ] || [ "$VM_RC" = 137 ]; then
		echo "VM: timed out after ${VM_TIMEOUT:-$TIMEOUT}s (hang); console tail:" >&2
		tail -n 40 "$CONSOLE_LOG" >&2
		return 1
	fi
	guest_rc=$(sed -n 's/^@@ exit \([0-9]*\).*/\1/p' "$RESULTS_LOG" | tail -n 1)
	if [ -z "$guest_rc" ]; then
		echo "VM: the guest never reported (kernel panic or crash?); console tail:" >&2
		tail -n 60 "$CONSOLE_LOG" >&2
		return 1
	fi
	if grep -q '^@@ insmod-failed' "$RESULTS_LOG"; then
		echo "VM: loading ipcon (modprobe, from /etc/modules-load.d) failed; console tail:" >&2
		tail -n 20 "$CONSOLE_LOG" >&2
		ok=1
	fi
	local bad
	bad=$(sed -n '/^@@ dmesg-begin/,/^@@ dmesg-end/p' "$RESULTS_LOG" | grep -E "$DMESG_BAD" || true)
	if [ -n "$bad" ]; then
		echo "VM: kernel log has warnings or errors:" >&2
		sed -n '/^@@ dmesg-begin/,/^@@ dmesg-end/p' "$RESULTS_LOG" | grep -v '^@@' | tail -n 80 >&2
		ok=1
	fi
	local leaks
	leaks=$(sed -n '/^@@ kmemleak-begin/,/^@@ kmemleak-end/p' "$RESULTS_LOG" | grep -v '^@@' || true)
	if [ -n "$leaks" ]; then
		echo "VM: kmemleak found unreferenced objects:" >&2
		echo "$leaks" | sed -n 1,80p >&2
		ok=1
	fi
	if [ "$guest_rc" != 0 ]; then
		echo "VM: guest program exited with status $guest_rc" >&2
		ok=1
	fi
	return $ok
}
