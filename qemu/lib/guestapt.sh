# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The guest material's own apt. What goes into a VM (Debian's kernel images
# and headers, busybox-static, the C library and the other packages the
# guest takes files from, the source of the debug kernel) and the ARM std
# of the MSRV toolchain come from Debian bookworm's archive through an apt
# configuration of the harness's own, kept in the cache: its sources
# (bookworm, -updates, -security and -backports for amd64, arm64 and armhf
# plus the host's architecture), Debian's archive keyring, its own package
# lists, an empty package status. It serves look-ups and 'apt-get download'
# only: the host's apt sources, architectures and installed packages are
# neither read nor changed, so the same kernels come whatever the host is
# (Debian 12 or 13, Ubuntu), and no root is needed.
#
# The mirror is the host's own Debian mirror when its apt sources name one,
# else IPCON_DEBIAN_MIRROR (and IPCON_DEBIAN_SECURITY_MIRROR, by default
# the mirror's URL with "-security" appended, as Debian's mirrors lay it
# out).

GUEST_SUITE=bookworm
GUEST_APT=$IPCON_CACHE/apt/$GUEST_SUITE
# The Debian architectures to fetch package lists for (qemu/run narrows it
# to the run's).
GUEST_DEB_ARCHES=(amd64 arm64 armhf)
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# host_deb_arch: the host's Debian architecture (the kernel's build tools,
# linux-kbuild, run on the host).
host_deb_arch() {
	if command -v dpkg >/dev/null 2>&1; then
		dpkg --print-architecture
		return
	fi
	case $(uname -m) in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	armv7l) echo armhf ;;
	*) die "unsupported host architecture $(uname -m) (supported: x86_64, aarch64, armv7l)" ;;
	esac
}

# apt_source_uri PATTERN: the first URI of the host's apt sources that
# serves a suite matching the extended regex PATTERN, or nothing.
apt_source_uri() {
	apt_source_uris "$1" | sed -n 1p
}

# apt_source_uris PATTERN: every such URI, from the deb822 (.sources) and
# the one-line (.list) files.
apt_source_uris() {
	local pattern=$1 f deb822=() oneline=()
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] && deb822+=("$f")
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] && oneline+=("$f")
	done
	# one paragraph per record; a record never spans two files
	[ ${#deb822[@]} = 0 ] || awk -v p="$pattern" '
			BEGIN { RS = ""; FS = "\n" }
			{
				uri = ""; ok = 0
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { split($i, u, " "); uri = u[2] }
					if ($i ~ /^Suites:/) { n = split($i, s, " "); for (j = 2; j <= n; j++) if (s[j] ~ p) ok = 1 }
				}
				if (ok && uri != "") print uri
			}' "${deb822[@]}"
	[ ${#oneline[@]} = 0 ] || awk -v p="$pattern" '
			$1 == "deb" {
				i = 2
				if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
				if ($(i + 1) ~ p) print $i
			}' "${oneline[@]}"
}

# guest_apt_mirrors: sets GUEST_MIRROR and GUEST_SECURITY_MIRROR.
guest_apt_mirrors() {
	GUEST_MIRROR=${IPCON_DEBIAN_MIRROR:-$(apt_source_uri '^(bookworm|trixie|forky|sid|stable|oldstable|testing|unstable)$')}
	[ -n "$GUEST_MIRROR" ] ||
		die "no Debian mirror in this host's apt sources ($(host_name)): set IPCON_DEBIAN_MIRROR to a Debian mirror's URL (one from Debian's mirror list, ending in /debian)"
	GUEST_MIRROR=${GUEST_MIRROR%/}
	GUEST_SECURITY_MIRROR=${IPCON_DEBIAN_SECURITY_MIRROR:-}
	if [ -z "$GUEST_SECURITY_MIRROR" ] && [ -z "${IPCON_DEBIAN_MIRROR:-}" ]; then
		GUEST_SECURITY_MIRROR=$(apt_source_uri '^[a-z]+-security$')
	fi
	GUEST_SECURITY_MIRROR=${GUEST_SECURITY_MIRROR:-$GUEST_MIRROR-security}
	GUEST_SECURITY_MIRROR=${GUEST_SECURITY_MIRROR%/}
}

# host_name: the host's distribution and release, for messages.
host_name() {
	local name=""
	if [ -r /etc/os-release ]; then
		# shellcheck disable=SC1091
		name=$(. /etc/os-release && echo "${PRETTY_NAME:-${ID:-}}")
	fi
	echo "${name:-unknown $(uname -s) host}"
}

# guest_apt_configure: write the configuration (once per run).
guest_apt_configure() {
	[ -z "${GUEST_APT_CONF:-}" ] || return 0
	if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
		die "this host ($(host_name)) has no apt-get or dpkg-deb, which fetch and unpack the guests' Debian packages: install them (Fedora: 'dnf install apt dpkg'; openSUSE: 'zypper install dpkg apt')"
	fi
	if [ ! -r "$DEBIAN_KEYRING" ]; then
		apt_install debian-archive-keyring
		[ -r "$DEBIAN_KEYRING" ] ||
			die "no $DEBIAN_KEYRING after installing debian-archive-keyring"
	fi
	guest_apt_mirrors
	local host_arch e arches
	host_arch=$(host_deb_arch)
	arches=$(printf '%s\n' "${GUEST_DEB_ARCHES[@]}" "$host_arch" | awk '!seen[$0]++')
	mkdir -p "$GUEST_APT"/etc/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d} \
		"$GUEST_APT"/state/lists/partial "$GUEST_APT"/cache/archives/partial "$GUEST_APT"/log
	: >"$GUEST_APT/state/status"
	: >"$GUEST_APT/etc/apt.conf"
	cp "$DEBIAN_KEYRING" "$GUEST_APT/debian-archive-keyring.gpg"
	{
		echo "Dir::Etc \"$GUEST_APT/etc/\";"
		echo "Dir::State \"$GUEST_APT/state/\";"
		echo "Dir::State::status \"$GUEST_APT/state/status\";"
		echo "Dir::Cache \"$GUEST_APT/cache/\";"
		echo 'Dir::Cache::srcpkgcache "";'
		echo "Dir::Log \"$GUEST_APT/log/\";"
		echo "APT::Architecture \"$host_arch\";"
		echo "APT::Architectures {"
		for e in $arches; do echo "  \"$e\";"; done
		echo "};"
		echo 'Acquire::Languages "none";'
		echo 'Acquire::Retries "3";'
		# root's apt downloads as the _apt user, which cannot write into a
		# cache under root's home; the archive's signatures are checked
		# either way.
		if [ "$(id -u)" = 0 ]; then echo 'APT::Sandbox::User "root";'; fi
	} >"$GUEST_APT/apt.conf"
	local opts
	opts="arch=$(echo "$arches" | paste -sd,) signed-by=$GUEST_APT/debian-archive-keyring.gpg"
	{
		for e in "" -updates -backports; do
			echo "deb [$opts] $GUEST_MIRROR $GUEST_SUITE$e main"
		done
		echo "deb [$opts] $GUEST_SECURITY_MIRROR $GUEST_SUITE-security main"
	} >"$GUEST_APT/etc/sources.list"
	GUEST_APT_CONF=$GUEST_APT/apt.conf
}

# guest_apt CMD ARGS...: run an apt command (apt-get, apt-cache) with the
# harness's own configuration.
guest_apt() {
	guest_apt_configure
	APT_CONFIG=$GUEST_APT_CONF "$@"
}

GUEST_APT_UPDATED=0
# guest_apt_update: refresh the package lists once per run. A mirror in the
# middle of a sync fails an index now and then: retry, and if it still
# fails, go on with the lists of an earlier run (say so), or stop.
guest_apt_update() {
	[ "$GUEST_APT_UPDATED" = 0 ] || return 0
	GUEST_APT_UPDATED=1
	guest_apt_configure
	local try logfile=$GUEST_APT/update.log
	for try in 1 2; do
		if [ "$try" = 1 ]; then
			log "apt-get update: Debian $GUEST_SUITE, for the guests ($GUEST_MIRROR)"
		else
			log "apt-get update: Debian $GUEST_SUITE, for the guests (try $try)"
		fi
		if guest_apt apt-get -q update >"$logfile" 2>&1 && ! grep -q '^E:' "$logfile"; then
			# build apt's package cache now, so look-ups running side by
			# side (guest_prefetch) only read it
			guest_apt apt-cache stats >/dev/null
			return 0
		fi
		[ "$try" = 2 ] || sleep 5
	done
	grep -E '^(E|W|Err):' "$logfile" | tail -n 3 >&2
	if ls "$GUEST_APT"/state/lists/*_Packages* >/dev/null 2>&1; then
		log "warning: updating the guests' package lists failed twice; going on with the lists apt has (the failed ones missing, or from an earlier run)"
		guest_apt apt-cache stats >/dev/null
	else
		die "cannot fetch Debian $GUEST_SUITE's package lists from $GUEST_MIRROR (log: $logfile): check the network, or set IPCON_DEBIAN_MIRROR to a reachable Debian mirror"
	fi
}

# guest_pkg_version PKG: the version 'apt-get download PKG' would fetch, or
# empty.
guest_pkg_version() {
	guest_apt_update
	guest_apt apt-cache show --no-all-versions "$1" 2>/dev/null |
		awk '/^Version:/ && !v {v = $2} END {print v}'
}

# guest_download DIR LOGFILE PKG...: download the packages (PKG:ARCH=VER
# and the like) into DIR.
guest_download() {
	local dir=$1 logfile=$2
	shift 2
	guest_apt_update
	mkdir -p "$dir"
	(cd "$dir" && run_quiet "$logfile" guest_apt apt-get -q download "$@")
}
