# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The footprint report: what ipcon adds to a device, per arch. The module is
# measured as 'make modules_install INSTALL_MOD_STRIP=1' installs it (debug
# info stripped); the client programs and libipcon as their recipes build
# and package them, stripped; ipcon-tiny (tiny.sh) static. Printed by
# 'qemu/run test' and 'qemu/run size', so a size regression shows up in
# every CI log.

# The client programs measured: a minimal client using only fixed buffers,
# and the ipcon command-line tool.
FOOTPRINT_PROGRAMS=(examples/fixed_buffers ipcon)
FOOTPRINT_LINES=()

# stripped_size ARCH FILE [STRIP-ARGS...]: bytes of a stripped copy of FILE.
stripped_size() {
	local arch=$1 file=$2 tmp
	shift 2
	tmp=$(mktemp)
	cp "$file" "$tmp"
	"$(cross_prefix "$arch")strip" "$@" "$tmp"
	stat -c %s "$tmp"
	rm -f "$tmp"
}

# footprint_module ARCH KABI KO: record the stripped size of a built module.
footprint_module() {
	local arch=$1 kabi=$2 ko=$3 size
	size=$(stripped_size "$arch" "$ko" --strip-debug)
	FOOTPRINT_LINES+=("$(printf '%-8s %-38s %9s bytes' "$arch" "ipcon.ko ($kabi)" "$size")")
}

# footprint_programs ARCH: record the stripped sizes of the client
# programs as the ipcon recipe builds and packages them (release profile:
# opt-level s, fat LTO, panic=abort; linked dynamically against the C
# library), the builds the VMs run (build_guest_programs).
footprint_programs() {
	local arch=$1 p file
	build_guest_programs "$arch"
	for p in "${FOOTPRINT_PROGRAMS[@]}"; do
		file=${GUEST_OUT[$arch]}/release/$p
		FOOTPRINT_LINES+=("$(printf '%-8s %-38s %9s bytes' "$arch" \
			"${p#examples/} (release, as packaged)" "$(stripped_size "$arch" "$file")")")
	done
}

# footprint_report ARCH...: build the programs and print every size.
footprint_report() {
	local a
	for a in "$@"; do
		footprint_programs "$a"
	done
	echo "ipcon footprint (stripped):"
	printf '%s\n' "${FOOTPRINT_LINES[@]}" | sort -s -k1,1
}
