# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Rust for the guests: rustup's stable builds the x86_64 programs; Debian's
# Rust at the crate's MSRV (bookworm's rustc-web, trixie's rustc)
# cross-compiles for ARM (rustup has no ARM std here, and cross-rs needs
# Docker). The ARM std rlibs come from the matching Debian package
# (libstd-rust-web-dev:<arch>, libstd-rust-dev:<arch>), downloaded through
# the harness's own apt configuration (guestapt.sh) and unpacked into a
# private sysroot in the cache; nothing foreign is installed on the host.
# The same toolchain verifies the declared rust-version.

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

# debian_rust_packages: the Debian packages of the MSRV toolchain on this
# host and the suite they come from (RUST_SUITE, RUSTC_PKG, CARGO_PKG,
# STD_PKG): bookworm's own rustc is older than the MSRV, and it carries
# 1.85 as rustc-web; trixie's rustc is 1.85.
debian_rust_packages() {
	local codename
	codename=$(host_codename)
	case $codename in
	bookworm) RUST_SUITE=bookworm RUSTC_PKG=rustc-web CARGO_PKG=cargo-web STD_PKG=libstd-rust-web-dev ;;
	trixie) RUST_SUITE=trixie RUSTC_PKG=rustc CARGO_PKG=cargo STD_PKG=libstd-rust-dev ;;
	*)
		die "the cross builds use Debian's Rust $(msrv) (bookworm's rustc-web or trixie's rustc); this host ($(host_name)) has neither: use a Debian 12 or 13 machine or container, or cross-rs with Cross.toml"
		;;
	esac
}

# ensure_debian_rust: Debian's rustc and cargo at the MSRV, pinned (a plain
# install would take a newer security update or backport); sets
# DEB_RUST_VER.
ensure_debian_rust() {
	[ -n "${DEB_RUST_VER:-}" ] && return 0
	local want have
	want=$(msrv)
	[ -n "$want" ] || die "no rust-version in $IPCON_ROOT/Cargo.toml"
	debian_rust_packages
	have=$(dpkg-query -W -f='${Version}' "$RUSTC_PKG" 2>/dev/null || true)
	if [[ $have == "$want".* ]] && [ -x /usr/bin/cargo ] &&
		[ "$(dpkg-query -W -f='${Version}' "$CARGO_PKG" 2>/dev/null)" = "$have" ] &&
		[ "$(dpkg-query -W -f='${Version}' "$STD_PKG" 2>/dev/null)" = "$have" ]; then
		DEB_RUST_VER=$have
		return 0
	fi
	apt_update_once
	DEB_RUST_VER=$(apt-cache madison "$RUSTC_PKG" | awk -F'|' '{gsub(/ /, "", $2); print $2}' |
		grep -E "^${want//./\\.}\." | sort -V | tail -n 1)
	[ -n "$DEB_RUST_VER" ] ||
		die "apt has no $RUSTC_PKG $want.x (MSRV); check 'apt-cache madison $RUSTC_PKG'"
	log "installing Debian's Rust $DEB_RUST_VER (the crate's MSRV toolchain)"
	apt_install_exact "$RUSTC_PKG=$DEB_RUST_VER" "$CARGO_PKG=$DEB_RUST_VER" \
		"$STD_PKG=$DEB_RUST_VER"
}

# ensure_debian_rust_lints: cargo fmt and cargo clippy for the host checks
# when the host's cargo is Debian's (no rustup): trixie has them at its
# Rust's version; bookworm's are older than its rustc-web.
ensure_debian_rust_lints() {
	local cargo
	cargo=$(command -v cargo)
	if [ "$cargo" = /usr/bin/cargo ] && [ "$(host_codename)" = trixie ]; then
		ensure_debian_rust
		apt_install_exact "rustfmt=$DEB_RUST_VER" "rust-clippy=$DEB_RUST_VER"
	fi
	cargo fmt --version >/dev/null 2>&1 ||
		die "$cargo has no fmt on this host ($(host_name)): 'rustup component add rustfmt'"
	cargo clippy --version >/dev/null 2>&1 ||
		die "$cargo has no clippy on this host ($(host_name)): 'rustup component add clippy'"
}

# ensure_rust_sysroot ARCH: the std rlibs for ARCH at $DEB_RUST_VER in a
# private sysroot (from the host release's archive, where the host's rustc
# comes from); sets RUST_SYSROOT.
ensure_rust_sysroot() {
	local arch=$1 darch triple dir
	ensure_debian_rust
	darch=$(deb_arch "$arch")
	triple=$(rust_target "$arch")
	RUST_SYSROOT=$IPCON_CACHE/rust/$DEB_RUST_VER/sysroot
	[ -d "$RUST_SYSROOT/lib/rustlib/$triple/lib" ] && return 0
	dir=$IPCON_CACHE/rust/$DEB_RUST_VER/$darch
	rm -rf "$dir" && mkdir -p "$RUST_SYSROOT/lib/rustlib"
	log "downloading the Rust std for $triple ($STD_PKG:$darch $DEB_RUST_VER)"
	debian_download "$RUST_SUITE" "$dir" "$dir/download.log" "$STD_PKG:$darch=$DEB_RUST_VER" ||
		die "downloading $STD_PKG:$darch failed"
	dpkg -x "$dir/${STD_PKG}"_*.deb "$dir/root"
	[ -d "$dir/root/usr/lib/rustlib/$triple/lib" ] ||
		die "$STD_PKG:$darch has no usr/lib/rustlib/$triple"
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
