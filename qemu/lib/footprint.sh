# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The footprint report: what ipcon adds to a device, per arch. The module is
# measured as 'make modules_install INSTALL_MOD_STRIP=1' installs it (debug
# info stripped); the client programs as static release builds (opt-level
# s, LTO, panic=abort), stripped. Printed by 'qemu/run test' and
# 'qemu/run size', so a size regression shows up in every CI log.

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
	FOOTPRINT_LINES+=("$(printf '%-8s %-34s %9s bytes' "$arch" "ipcon.ko ($kabi)" "$size")")
}

# footprint_build ARCH: build the client programs for ARCH (static,
# release); sets STATIC_TARGET_DIR.
footprint_build() {
	local arch=$1 p args=(build --release --locked --features ipcon/std)
	ahead_wait "footprint-$arch"
	for p in "${FOOTPRINT_PROGRAMS[@]}"; do
		case $p in
		examples/*) args+=(-p ipcon --example "${p#examples/}") ;;
		*) args+=(-p ipcon-cli --bin "$p") ;;
		esac
	done
	log "building release client programs for the footprint ($(rust_target "$arch"))"
	static_cargo "$arch" "$IPCON_CACHE/footprint-build-$arch.log" "${args[@]}"
}

# footprint_programs ARCH: build the client programs for ARCH and record
# their stripped sizes.
footprint_programs() {
	local arch=$1 p dir
	footprint_build "$arch"
	dir=$STATIC_TARGET_DIR/release
	for p in "${FOOTPRINT_PROGRAMS[@]}"; do
		FOOTPRINT_LINES+=("$(printf '%-8s %-34s %9s bytes' "$arch" \
			"${p#examples/} (static, release)" "$(stripped_size "$arch" "$dir/$p")")")
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
