# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Host dependencies of the harness: Debian/Ubuntu packages and the Rust
# toolchain. Everything the tests need is installed here, so a fresh machine
# (and CI) needs nothing done by hand.

# Debian codename of the host ("bookworm"), or empty on other systems.
host_codename() {
	local id="" codename=""
	if [ -r /etc/os-release ]; then
		# shellcheck disable=SC1091
		id=$(. /etc/os-release && echo "${ID:-}")
		# shellcheck disable=SC1091
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	fi
	if [ "$id" = debian ]; then
		echo "$codename"
	fi
}

# The mirror URI already configured for the main Debian archive.
debian_mirror() {
	local uri
	uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources |
		awk '{print $2}' | grep -v -- '-security' | sed -n 1p)
	if [ -z "$uri" ]; then
		uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
			awk '{print $2}' | grep -v -- '-security' | sed -n 1p)
	fi
	[ -n "$uri" ] || die "cannot find the Debian mirror in the apt sources"
	echo "$uri"
}

APT_UPDATED=0
# apt_update_once: refresh the package lists once per run. A mirror in the
# middle of a sync fails an index now and then: retry, and if it still
# fails, go on with the lists apt already has (say so).
apt_update_once() {
	[ "$APT_UPDATED" = 0 ] || return 0
	APT_UPDATED=1
	local try
	for try in 1 2 3; do
		if [ "$try" = 1 ]; then log "apt-get update"; else log "apt-get update (try $try)"; fi
		if as_root apt-get update >"$IPCON_CACHE/apt-update.log" 2>&1; then
			return 0
		fi
		sleep $((try * 3))
	done
	grep -E '^(E|Err):' "$IPCON_CACHE/apt-update.log" | tail -n 3 >&2
	log "warning: apt-get update failed three times; using the package lists apt already has"
}

# Make bookworm-backports visible to apt (Debian bookworm only).
ensure_backports() {
	local codename=$1
	if apt-cache policy 2>/dev/null | grep "$codename-backports" >/dev/null; then
		return 0
	fi
	local mirror
	mirror=$(debian_mirror)
	log "adding $codename-backports to the apt sources ($mirror)"
	printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$mirror" "$codename" |
		as_root tee /etc/apt/sources.list.d/ipcon-backports.sources >/dev/null
	APT_UPDATED=0
	apt_update_once
}

# apt_install PKG...: install the packages that are not installed yet
# (PKG may name a suite, as in qemu-system-arm/bookworm-backports).
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "${p%%/*}" 2>/dev/null | grep 'install ok installed' >/dev/null ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	apt_install_exact "${missing[@]}"
}

# apt_install_exact PKG...: install PKGs as given (PKG=VERSION pins, and
# may downgrade).
apt_install_exact() {
	command -v apt-get >/dev/null 2>&1 ||
		die "this host ($(host_name)) has no apt-get to install $* (Debian's names): install the equivalents with its package manager, then run again"
	apt_update_once
	log "installing $*"
	run_quiet "$IPCON_CACHE/apt-install.log" as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends --allow-downgrades "$@"
}

# qemu_pkg_install PKG...: install QEMU packages; on bookworm they come
# from backports (the backported qemu-utils that some images ship breaks
# bookworm's qemu-system), each named with its suite.
qemu_pkg_install() {
	local codename
	codename=$(host_codename)
	if [ "$codename" = bookworm ]; then
		ensure_backports "$codename"
		local s=bookworm-backports p pkgs=()
		for p in "$@"; do
			pkgs+=("$p/$s")
		done
		apt_install "${pkgs[@]}"
	else
		apt_install "$@"
	fi
}

# ensure_qemu ARCH: the system emulator for ARCH.
ensure_qemu() {
	local arch=$1 pkgs bin
	case $arch in
	x86_64) pkgs=(qemu-system-x86 seabios) bin=qemu-system-x86_64 ;;
	aarch64) pkgs=(qemu-system-arm) bin=qemu-system-aarch64 ;;
	armv7) pkgs=(qemu-system-arm) bin=qemu-system-arm ;;
	esac
	pkgs+=(qemu-system-common qemu-system-data)
	command -v "$bin" >/dev/null 2>&1 && return 0
	qemu_pkg_install "${pkgs[@]}"
	command -v "$bin" >/dev/null 2>&1 || die "$bin still missing after installing ${pkgs[*]}"
}

# ensure_qemu_user: qemu-x86_64, qemu-aarch64 and qemu-arm, to start the
# guest's programs with the guest's own libraries on the host before a VM
# boots (check_guest_root in initramfs.sh).
ensure_qemu_user() {
	command -v qemu-aarch64 >/dev/null 2>&1 && command -v qemu-arm >/dev/null 2>&1 &&
		command -v qemu-x86_64 >/dev/null 2>&1 && return 0
	qemu_pkg_install qemu-user
	command -v qemu-arm >/dev/null 2>&1 || die "qemu-arm still missing after installing qemu-user"
}

# The host tools the harness uses, and a cargo for the host checks:
# rustup's (with clippy and rustfmt) when present, else Debian's at the MSRV
# (Debian's own cargo stays at /usr/bin/cargo for the cross builds).
ensure_host_tools() {
	apt_install ca-certificates gcc make libc6-dev cpio xz-utils zstd kmod bc shfmt dwarves sparse pkgconf python3
	if [ -x "$HOME/.cargo/bin/cargo" ]; then
		PATH="$HOME/.cargo/bin:$PATH"
	elif ! command -v cargo >/dev/null 2>&1; then
		ensure_debian_rust
	fi
	command -v cargo >/dev/null 2>&1 || die "no cargo found: install Rust (https://rustup.rs)"
}
