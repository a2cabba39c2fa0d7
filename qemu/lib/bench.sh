# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# `qemu/run bench`: ipcon side by side with AF_UNIX (SOCK_DGRAM,
# SOCK_SEQPACKET) and TIPC RDM, in one boot per arch and kernel. The guest
# runs libipcon/bench/ipcon_compare.c (one C program for all four, built
# with libipcon's C programs) with the kernel's own tipc module loaded;
# its "@@ bench" lines come back on the results port and
# qemu/lib/bench_report.py turns them into the table, the CSV file, the
# chart and the ratio lines, in a results folder under target/bench.

BENCH_QUICK=0
BENCH_PROFILE=0
BENCH_DIR=""

# bench_start: the results folder of this run.
bench_start() {
	BENCH_DIR=$IPCON_ROOT/target/bench/$(date +%Y%m%d-%H%M%S)
	mkdir -p "$BENCH_DIR"
	# the chart is drawn on the host
	apt_install python3-matplotlib
}

# bench_module_path KROOT NAME: the module file NAME of the kernel unpacked
# in KROOT (Debian 6.12's are xz-compressed).
bench_module_path() {
	find "$1/lib/modules" \( -name "$2.ko" -o -name "$2.ko.xz" \) -print -quit 2>/dev/null
}

# install_bench ROOT ARCH: what the bench guest has besides the image's files:
# the comparison program, the tipc module of the booted kernel with the
# modules it depends on (decompressed, where depmod will index them), and
# the program's arguments.
install_bench() {
	local root=$1 arch=$2 todo=(tipc) seen=" " name f dest dep
	cp "$(clib_dir "$arch")/bin/ipcon-compare" "$root/usr/bin/ipcon-compare"
	if [ "$BENCH_QUICK" = 1 ]; then echo --quick; fi >"$root/etc/ipcon-bench-args"
	if [ "$BENCH_PROFILE" = 1 ]; then
		: >"$root/etc/ipcon-bench-profile"
		return 0
	fi
	while [ ${#todo[@]} -gt 0 ]; do
		name=${todo[0]}
		todo=("${todo[@]:1}")
		[[ $seen == *" $name "* ]] && continue
		seen+="$name "
		f=$(bench_module_path "$KROOT" "$name")
		if [ -z "$f" ]; then
			log "warning: $KABI has no $name module: the benchmark runs without TIPC"
			return 0
		fi
		dest=$root/lib/modules/$KABI/kernel/bench/$name.ko
		mkdir -p "$(dirname "$dest")"
		case $f in
		*.xz) xz -dc "$f" >"$dest" ;;
		*) cp "$f" "$dest" ;;
		esac
		for dep in $(modinfo -F depends "$dest" | tr ',' ' '); do
			todo+=("$dep")
		done
	done
}

# bench_collect ARCH KERNEL: the run's "@@ bench" lines, kept in the
# results folder with what produced them.
bench_collect() {
	local arch=$1 k=$2 out
	out=$BENCH_DIR/raw-$arch-$k.txt
	{
		echo "@@ bench-run arch=$arch kernel=$k kabi=$KABI qemu=$(qemu_version "$arch") mode=TCG"
		grep -E '^@@ (bench|profile)' "$RESULTS_LOG" || true
	} >"$out"
	if [ "$BENCH_PROFILE" = 1 ]; then
		grep -q '^@@ profile ' "$out" || die "the $arch $k VM reported no profile (console: $CONSOLE_LOG)"
		return 0
	fi
	grep -q '^@@ bench [^-]' "$out" || die "the $arch $k VM reported no benchmark figures (console: $CONSOLE_LOG)"
}

# qemu_version ARCH: the QEMU version that ran ARCH's VM.
qemu_version() {
	local bin=qemu-system-$1
	[ "$1" = armv7 ] && bin=qemu-system-arm
	"$bin" --version | sed -n '1s/.*version \([^ ]*\).*/\1/p'
}

# bench_report: the table, the CSV file, the chart and the ratio lines of
# every run, in BENCH_DIR.
bench_report() {
	if [ "$BENCH_PROFILE" = 1 ]; then
		python3 "$IPCON_ROOT/qemu/lib/bench_profile.py" "$BENCH_DIR" ||
			die "the profile report failed (raw figures in $BENCH_DIR)"
		log "profile: $BENCH_DIR/profile.txt"
		return 0
	fi
	# Debian's python3, with the python3-matplotlib bench_start installed
	/usr/bin/python3 "$IPCON_ROOT/qemu/lib/bench_report.py" "$BENCH_DIR" ||
		die "the benchmark report failed (raw figures in $BENCH_DIR)"
	log "benchmark results: $BENCH_DIR (report.txt, results.csv, chart.png)"
}

# The test command's benchmark run: 'bench --quick' on one VM, so that CI
# proves the benchmark works end to end (the guest program for every
# mechanism, the tipc module, the report and the chart). No thresholds: the
# numbers are for people, and timing assertions under TCG would be flaky.
BENCH_SMOKE_RESULT=""

# bench_smoke RUN...: boot the first run that is not a debug kernel's in
# bench mode with --quick, and judge that every comparison came out; sets
# BENCH_SMOKE_RESULT (a tally line; empty when every run is a debug one).
# shellcheck disable=SC2034 # BENCH_SMOKE_RESULT is read by qemu/run
bench_smoke() {
	local r arch="" k saved=$MODE other missing="" n
	for r in "$@"; do
		IFS=: read -r arch k <<<"$r"
		[ "$k" = 6.1-debug ] || break
		arch=""
	done
	[ -n "$arch" ] || return 0
	local label="bench --quick $arch $k"
	MODE=bench BENCH_QUICK=1
	bench_start
	boot_with "$arch" "$k"
	MODE=$saved
	if ! check_vm "$arch"; then
		BENCH_SMOKE_RESULT="FAIL $label: the VM failed (console: $CONSOLE_LOG)"
		return 0
	fi
	if ! (bench_collect "$arch" "$k" && bench_report); then
		BENCH_SMOKE_RESULT="FAIL $label: no report (raw figures in $BENCH_DIR)"
		return 0
	fi
	for other in unix_dgram unix_seqpacket tipc_rdm; do
		grep -q "^ratio: .* ipcon/$other = " "$BENCH_DIR/report.txt" || missing+=" $other"
	done
	n=$(grep -c '^ratio: ' "$BENCH_DIR/report.txt" || true)
	if [ -n "$missing" ] || [ ! -s "$BENCH_DIR/chart.png" ] || [ ! -s "$BENCH_DIR/results.csv" ]; then
		BENCH_SMOKE_RESULT="FAIL $label: no ratio against${missing:- (none missing)}, or no chart or CSV file (in $BENCH_DIR)"
	else
		BENCH_SMOKE_RESULT="ok $label: $n ratio lines, the table, the CSV file and the chart in $BENCH_DIR"
	fi
}
