# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# ipcon-tiny (tiny-client/): the smallest useful ipcon program, static,
# with no std and no heap, at most 64 KiB stripped. Built per arch with
# the crate's own toolchain for that arch (rustup's stable for x86_64,
# Debian's MSRV Rust for ARM) and linked against musl's crt1.o and libc.a
# (program start and the memory functions only) from Debian's musl-dev for
# the arch, downloaded and unpacked into the cache like the ARM Rust std.
# Harness only: the guest gets it stripped as /usr/bin/ipcon-tiny, and the
# suite's tiny_client_* tests run it there and check its size and that it
# is static.

declare -A TINY_BIN=()

# musl_triplet ARCH: the directory musl-dev puts the arch's libraries in.
musl_triplet() {
	case $1 in
	x86_64) echo x86_64-linux-musl ;;
	aarch64) echo aarch64-linux-musl ;;
	armv7) echo arm-linux-musleabihf ;;
	esac
}

# ensure_musl ARCH: Debian's musl-dev for ARCH unpacked in the cache; sets
# MUSL_LIB (the directory with crt1.o and libc.a).
ensure_musl() {
	local arch=$1 darch dir
	darch=$(deb_arch "$arch")
	dir=$IPCON_CACHE/musl/$darch
	MUSL_LIB=$dir/root/usr/lib/$(musl_triplet "$arch")
	[ -f "$dir/.complete" ] && return 0
	rm -rf "$dir" && mkdir -p "$dir"
	log "downloading musl-dev:$darch (program start and memory functions for ipcon-tiny)"
	guest_download "$dir" "$dir/download.log" "musl-dev:$darch" ||
		die "downloading musl-dev:$darch failed (log: $dir/download.log)"
	dpkg -x "$dir"/musl-dev_*.deb "$dir/root"
	if [ ! -f "$MUSL_LIB/crt1.o" ] || [ ! -f "$MUSL_LIB/libc.a" ]; then
		die "musl-dev:$darch has no crt1.o and libc.a in ${MUSL_LIB#"$dir/root"}"
	fi
	touch "$dir/.complete"
}

# build_tiny_client ARCH: build ipcon-tiny for ARCH (once per run) and
# record its stripped size; sets TINY_BIN[ARCH] (the stripped program).
build_tiny_client() {
	local arch=$1 triple var dir out flags cargo=cargo env=()
	[ -n "${TINY_BIN[$arch]:-}" ] && return 0
	triple=$(rust_target "$arch")
	var=CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')
	ensure_musl "$arch"
	# Static and not position-independent; musl's start-up instead of the
	# C library's (-nostartfiles), musl for the memory functions, libgcc
	# for what musl's own code calls (and on armv7 the personality
	# routines the core library's unwind index names, though a panic
	# aborts and nothing unwinds; they need musl's abort). No RELRO: a static
	# program without PIE has no relocations to protect once it runs, and
	# the page-aligned end of RELRO pads the file to the next 64 KiB on
	# aarch64 (23 KiB of program in a 66 KiB file).
	flags="-C target-feature=+crt-static -C relocation-model=static"
	flags+=" -C link-arg=-nostartfiles -C link-arg=-Wl,-z,norelro"
	flags+=" -C link-arg=$MUSL_LIB/crt1.o -C link-arg=-Wl,--start-group -C link-arg=$MUSL_LIB/libc.a"
	flags+=" -C link-arg=-lgcc -C link-arg=-lgcc_eh -C link-arg=-Wl,--end-group"
	if [ "$arch" != x86_64 ]; then
		msrv_prepare "$arch"
		flags="--sysroot=$RUST_SYSROOT $flags"
		env+=(RUSTC=/usr/bin/rustc "${var}_LINKER=$(cross_prefix "$arch")gcc")
		cargo=/usr/bin/cargo
	fi
	dir=$IPCON_ROOT/target/tiny
	log "building ipcon-tiny, the static no-std client ($triple)"
	(cd "$IPCON_ROOT/tiny-client" && run_quiet "$IPCON_CACHE/tiny-build-$arch.log" \
		env "${env[@]}" "CARGO_TARGET_DIR=$dir" "${var}_RUSTFLAGS=$flags" \
		"$cargo" build --release --locked --target "$triple")
	out=$dir/$triple/release/ipcon-tiny.stripped
	cp "$dir/$triple/release/ipcon-tiny" "$out"
	"$(cross_prefix "$arch")strip" "$out"
	TINY_BIN[$arch]=$out
	FOOTPRINT_LINES+=("$(printf '%-8s %-38s %9s bytes' "$arch" "ipcon-tiny (static, no std)" \
		"$(stat -c %s "$out")")")
}

# install_tiny ROOT ARCH: the stripped ipcon-tiny into the guest root.
install_tiny() {
	cp "${TINY_BIN[$2]}" "$1/usr/bin/ipcon-tiny"
}
