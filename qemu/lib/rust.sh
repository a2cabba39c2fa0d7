# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Rust for the guests: rustup's stable builds the x86_64 programs; Debian's
# rustc-web at the crate's MSRV cross-compiles for ARM (rustup has no ARM
# std here, and cross-rs needs Docker). The ARM std rlibs come from Debian's
# libstd-rust-web-dev:<arch>, downloaded and unpacked into a private sysroot
# in the cache; nothing foreign is installed on the host. The same toolchain
# verifies the declared rust-version.

# msrv: the workspace's rust-version ("1.85").
msrv() {
	sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$IPCON_ROOT/Cargo.toml" | sed -n 1p
}

# Rust target triple for a harness arch.
rust_target() {
	case $1 in
	x86_64) echo x86_64-unknown-linux-gnu ;;
	aarch64) echo aarch64-unknown-linux-gnu ;;
	armv7) echo armv7-unknown-linux-gnueabihf ;;
	esac
}

# GNU cross prefix for a harness arch (empty for x86_64).
cross_prefix() {
	case $1 in
	x86_64) echo "" ;;
	aarch64) echo aarch64-linux-gnu- ;;
	armv7) echo arm-linux-gnueabihf- ;;
	esac
}

# ensure_cross_gcc ARCH: the GNU cross compiler and C library for ARCH (the
# module and the static Rust programs link with it).
ensure_cross_gcc() {
	case $1 in
	aarch64) apt_install gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu ;;
	armv7) apt_install gcc-arm-linux-gnueabihf libc6-dev-armhf-cross binutils-arm-linux-gnueabihf ;;
	esac
}

# ensure_debian_rust: Debian's rustc-web/cargo-web at the MSRV, pinned (a
# plain install would take the newer security update); sets DEB_RUST_VER.
ensure_debian_rust() {
	[ -n "${DEB_RUST_VER:-}" ] && return 0
	local want have
	want=$(msrv)
	[ -n "$want" ] || die "no rust-version in $IPCON_ROOT/Cargo.toml"
	have=$(dpkg-query -W -f='${Version}' rustc-web 2>/dev/null || true)
	if [[ $have == "$want".* ]] && [ -x /usr/bin/cargo ] &&
		[ "$(dpkg-query -W -f='${Version}' cargo-web 2>/dev/null)" = "$have" ] &&
		[ "$(dpkg-query -W -f='${Version}' libstd-rust-web-dev 2>/dev/null)" = "$have" ]; then
		DEB_RUST_VER=$have
		return 0
	fi
	[ "$(host_codename)" = bookworm ] ||
		die "cross builds use Debian bookworm's rustc-web $want; this host is not Debian bookworm (use cross-rs with Cross.toml instead)"
	apt_update_once
	DEB_RUST_VER=$(apt-cache madison rustc-web | awk -F'|' '{gsub(/ /, "", $2); print $2}' |
		grep -E "^${want//./\\.}\." | sort -V | tail -n 1)
	[ -n "$DEB_RUST_VER" ] ||
		die "apt has no rustc-web $want.x (MSRV); check 'apt-cache madison rustc-web'"
	log "installing Debian's Rust $DEB_RUST_VER (the crate's MSRV toolchain)"
	apt_install_exact "rustc-web=$DEB_RUST_VER" "cargo-web=$DEB_RUST_VER" \
		"libstd-rust-web-dev=$DEB_RUST_VER"
}

# ensure_rust_sysroot ARCH: the std rlibs for ARCH at $DEB_RUST_VER in a
# private sysroot; sets RUST_SYSROOT.
ensure_rust_sysroot() {
	local arch=$1 darch triple dir
	ensure_debian_rust
	darch=$(deb_arch "$arch")
	triple=$(rust_target "$arch")
	RUST_SYSROOT=$IPCON_CACHE/rust/$DEB_RUST_VER/sysroot
	[ -d "$RUST_SYSROOT/lib/rustlib/$triple/lib" ] && return 0
	dir=$IPCON_CACHE/rust/$DEB_RUST_VER/$darch
	rm -rf "$dir" && mkdir -p "$RUST_SYSROOT/lib/rustlib"
	log "downloading the Rust std for $triple (libstd-rust-web-dev:$darch $DEB_RUST_VER)"
	guest_download "$dir" "$dir/download.log" "libstd-rust-web-dev:$darch=$DEB_RUST_VER" ||
		die "downloading libstd-rust-web-dev:$darch failed"
	dpkg -x "$dir"/libstd-rust-web-dev_*.deb "$dir/root"
	[ -d "$dir/root/usr/lib/rustlib/$triple/lib" ] ||
		die "libstd-rust-web-dev:$darch has no usr/lib/rustlib/$triple"
	cp -a "$dir/root/usr/lib/rustlib/$triple" "$RUST_SYSROOT/lib/rustlib/"
	rm -rf "$dir/root"
}

# msrv_prepare ARCH: everything msrv_cargo ARCH needs (call it first, not
# under run_quiet, so an install problem is seen).
msrv_prepare() {
	local arch=$1
	ensure_debian_rust
	if [ "$arch" != x86_64 ]; then
		ensure_cross_gcc "$arch"
		ensure_rust_sysroot "$arch"
	fi
}

# msrv_cargo ARCH CARGO-ARGS...: run Debian's cargo (the MSRV toolchain) for
# ARCH: static binaries, and the cross linker and sysroot for ARM (ARM test
# binaries are built here and run in the VMs).
msrv_cargo() {
	local arch=$1 triple var
	shift
	triple=$(rust_target "$arch")
	var=$(echo "$triple" | tr 'a-z-' 'A-Z_')
	local env=(RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
		"CARGO_TARGET_DIR=$IPCON_ROOT/target/msrv")
	case $arch in
	x86_64)
		env+=("CARGO_TARGET_${var}_RUSTFLAGS=-C target-feature=+crt-static")
		;;
	*)
		env+=("CARGO_TARGET_${var}_LINKER=$(cross_prefix "$arch")gcc"
			"CARGO_TARGET_${var}_RUSTFLAGS=--sysroot=$RUST_SYSROOT -C target-feature=+crt-static")
		;;
	esac
	env "${env[@]}" /usr/bin/cargo "$@" --target "$triple"
}

# msrv_target_dir ARCH: where msrv_cargo ARCH puts its artifacts.
msrv_target_dir() {
	echo "$IPCON_ROOT/target/msrv/$(rust_target "$1")"
}

# static_cargo ARCH LOGFILE CARGO-ARGS...: build static binaries for ARCH:
# x86_64 with the host's cargo (rustup's stable, as developers build), ARM
# with the MSRV cross toolchain; sets STATIC_TARGET_DIR (the directory of
# the target triple, which holds the profile directories).
# shellcheck disable=SC2034 # STATIC_TARGET_DIR is read by the callers
static_cargo() {
	local arch=$1 logfile=$2 triple
	shift 2
	triple=$(rust_target "$arch")
	if [ "$arch" = x86_64 ]; then
		local var
		var=CARGO_TARGET_$(echo "$triple" | tr 'a-z-' 'A-Z_')_RUSTFLAGS
		(cd "$IPCON_ROOT" && run_quiet "$logfile" env "$var=-C target-feature=+crt-static" \
			cargo "$@" --target "$triple")
		STATIC_TARGET_DIR=$IPCON_ROOT/target/$triple
	else
		msrv_prepare "$arch"
		(cd "$IPCON_ROOT" && run_quiet "$logfile" msrv_cargo "$arch" "$@")
		STATIC_TARGET_DIR=$(msrv_target_dir "$arch")
	fi
}

# guest_cargo ARCH LOGFILE CARGO-ARGS...: build the guest's programs for
# ARCH as the recipes build them for an image: linked dynamically against
# the C library (the guest gets Debian's, see install_shlibs), no extra
# flags; x86_64 with the host's cargo, ARM with the MSRV cross toolchain.
# Each arch has its own target directory, apart from the static builds.
# Sets GUEST_TARGET_DIR (the target triple's directory, which holds the
# profile directories).
# shellcheck disable=SC2034 # GUEST_TARGET_DIR is read by the callers
guest_cargo() {
	local arch=$1 logfile=$2 triple var dir
	shift 2
	triple=$(rust_target "$arch")
	var=$(echo "$triple" | tr 'a-z-' 'A-Z_')
	dir=$IPCON_ROOT/target/guest-$arch
	local env=(CARGO_TARGET_DIR="$dir") cargo=cargo
	if [ "$arch" != x86_64 ]; then
		msrv_prepare "$arch"
		env+=(RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
			"CARGO_TARGET_${var}_LINKER=$(cross_prefix "$arch")gcc"
			"CARGO_TARGET_${var}_RUSTFLAGS=--sysroot=$RUST_SYSROOT")
		cargo=/usr/bin/cargo
	fi
	(cd "$IPCON_ROOT" && run_quiet "$logfile" env "${env[@]}" "$cargo" "$@" --target "$triple")
	GUEST_TARGET_DIR=$dir/$triple
}
