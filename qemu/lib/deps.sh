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
		awk '{print $2}' | grep -v -- '-security' | head -n 1)
	if [ -z "$uri" ]; then
		uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
			awk '{print $2}' | grep -v -- '-security' | head -n 1)
	fi
	[ -n "$uri" ] || die "cannot find the Debian mirror in the apt sources"
	echo "$uri"
}

APT_UPDATED=0
apt_update_once() {
	if [ "$APT_UPDATED" = 0 ]; then
		log "apt-get update"
		run_quiet "$IPCON_CACHE/apt-update.log" as_root apt-get update
		APT_UPDATED=1
	fi
}

# Make bookworm-backports visible to apt (Debian bookworm only).
ensure_backports() {
	local codename=$1
	if apt-cache policy 2>/dev/null | grep -q "$codename-backports"; then
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

# apt_install PKG...: install the packages that are not installed yet.
apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "${p%%/*}" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	command -v apt-get >/dev/null 2>&1 ||
		die "missing packages (${missing[*]}) and no apt-get: install them by hand"
	apt_update_once
	log "installing ${missing[*]}"
	run_quiet "$IPCON_CACHE/apt-install.log" as_root env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"
}

# QEMU for the given arch. On bookworm, QEMU comes from backports: the
# backported qemu-utils that some images ship breaks bookworm's qemu-system.
ensure_qemu() {
	local arch=$1 pkg bin
	case $arch in
	x86_64) pkg=qemu-system-x86 bin=qemu-system-x86_64 ;;
	aarch64) pkg=qemu-system-arm bin=qemu-system-aarch64 ;;
	armv7) pkg=qemu-system-arm bin=qemu-system-arm ;;
	esac
	command -v "$bin" >/dev/null 2>&1 && return 0
	local codename
	codename=$(host_codename)
	if [ "$codename" = bookworm ]; then
		ensure_backports "$codename"
		local s=bookworm-backports
		apt_install "$pkg/$s" "qemu-system-common/$s" "qemu-system-data/$s" "seabios/$s"
	else
		apt_install "$pkg"
	fi
	command -v "$bin" >/dev/null 2>&1 || die "$bin still missing after installing $pkg"
}

# A cargo that can build the workspace (rustup's stable if present, else
# Debian's rustc-web 1.85) and the host tools the harness uses.
ensure_host_tools() {
	apt_install ca-certificates gcc make libc6-dev cpio xz-utils zstd kmod bc shellcheck dwarves sparse
	if ! command -v cargo >/dev/null 2>&1; then
		if [ -x "$HOME/.cargo/bin/cargo" ]; then
			PATH="$HOME/.cargo/bin:$PATH"
		else
			apt_install rustc-web cargo-web
		fi
	fi
	command -v cargo >/dev/null 2>&1 || die "no cargo found: install Rust (https://rustup.rs) or 'apt-get install cargo-web'"
}
