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
# The Debian architectures to fetch package lists for (qemu/run narrows it
# to the run's).
GUEST_DEB_ARCHES=(amd64 arm64 armhf)
DEBIAN_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# The host's apt configuration directory, read for its Debian mirror
# (another one only in the harness's own check of that reading).
HOST_APT_ETC=${HOST_APT_ETC:-/etc/apt}

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
	for f in "$HOST_APT_ETC"/sources.list.d/*.sources; do
		[ -r "$f" ] && deb822+=("$f")
	done
	for f in "$HOST_APT_ETC"/sources.list "$HOST_APT_ETC"/sources.list.d/*.list; do
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

declare -A DEBIAN_APT_CONF=() DEBIAN_APT_UPDATED=()

# debian_apt_dir SUITE: where the configuration for SUITE lives.
debian_apt_dir() {
	echo "$IPCON_CACHE/apt/$1"
}

# debian_apt_configure SUITE: write the configuration for Debian SUITE
# (once per run).
debian_apt_configure() {
	local suite=$1 dir
	[ -z "${DEBIAN_APT_CONF[$suite]:-}" ] || return 0
	if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
		die "this host ($(host_name)) has no apt-get or dpkg-deb, which fetch and unpack the guests' Debian packages: install them (Fedora: 'dnf install apt dpkg'; openSUSE: 'zypper install dpkg apt')"
	fi
	if [ ! -r "$DEBIAN_KEYRING" ]; then
		apt_install debian-archive-keyring
		[ -r "$DEBIAN_KEYRING" ] ||
			die "no $DEBIAN_KEYRING after installing debian-archive-keyring"
	fi
	[ -n "${GUEST_MIRROR:-}" ] || guest_apt_mirrors
	local host_arch e arches
	dir=$(debian_apt_dir "$suite")
	host_arch=$(host_deb_arch)
	arches=$(printf '%s\n' "${GUEST_DEB_ARCHES[@]}" "$host_arch" | awk '!seen[$0]++')
	mkdir -p "$dir"/etc/{apt.conf.d,preferences.d,sources.list.d,trusted.gpg.d} \
		"$dir"/state/lists/partial "$dir"/cache/archives/partial "$dir"/log
	: >"$dir/state/status"
	: >"$dir/etc/apt.conf"
	cp "$DEBIAN_KEYRING" "$dir/debian-archive-keyring.gpg"
	{
		echo "Dir::Etc \"$dir/etc/\";"
		echo "Dir::State \"$dir/state/\";"
		echo "Dir::State::status \"$dir/state/status\";"
		echo "Dir::Cache \"$dir/cache/\";"
		echo 'Dir::Cache::srcpkgcache "";'
		echo "Dir::Log \"$dir/log/\";"
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
	} >"$dir/apt.conf"
	local opts
	opts="arch=$(echo "$arches" | paste -sd,) signed-by=$dir/debian-archive-keyring.gpg"
	{
		for e in "" -updates -backports; do
			echo "deb [$opts] $GUEST_MIRROR $suite$e main"
		done
		echo "deb [$opts] $GUEST_SECURITY_MIRROR $suite-security main"
	} >"$dir/etc/sources.list"
	DEBIAN_APT_CONF[$suite]=$dir/apt.conf
}

# debian_apt SUITE CMD ARGS...: run an apt command (apt-get, apt-cache)
# with the harness's configuration for Debian SUITE.
debian_apt() {
	local suite=$1
	shift
	debian_apt_configure "$suite"
	APT_CONFIG=${DEBIAN_APT_CONF[$suite]} "$@"
}

# debian_apt_update SUITE: refresh SUITE's package lists once per run. A
# mirror in the middle of a sync fails an index now and then: retry, and if
# it still fails, go on with the lists apt has (say so), or stop.
debian_apt_update() {
	local suite=$1 try logfile
	[ -z "${DEBIAN_APT_UPDATED[$suite]:-}" ] || return 0
	DEBIAN_APT_UPDATED[$suite]=1
	debian_apt_configure "$suite"
	logfile=$(debian_apt_dir "$suite")/update.log
	for try in 1 2; do
		if [ "$try" = 1 ]; then
			log "apt-get update: Debian $suite, for the guests ($GUEST_MIRROR)"
		else
			log "apt-get update: Debian $suite, for the guests (try $try)"
		fi
		if debian_apt "$suite" apt-get -q update >"$logfile" 2>&1 && ! grep -q '^E:' "$logfile"; then
			# build apt's package cache now, so look-ups running side by
			# side (prefetch.sh) only read it
			debian_apt "$suite" apt-cache stats >/dev/null
			return 0
		fi
		[ "$try" = 2 ] || sleep 5
	done
	grep -E '^(E|W|Err):' "$logfile" | tail -n 3 >&2
	if ls "$(debian_apt_dir "$suite")"/state/lists/*_Packages* >/dev/null 2>&1; then
		log "warning: updating Debian $suite's package lists failed twice; going on with the lists apt has (the failed ones missing, or from an earlier run)"
		debian_apt "$suite" apt-cache stats >/dev/null
	else
		die "cannot fetch Debian $suite's package lists from $GUEST_MIRROR (log: $logfile): check the network, or set IPCON_DEBIAN_MIRROR to a reachable Debian mirror"
	fi
}

# debian_download SUITE DIR LOGFILE PKG...: download the packages
# (PKG:ARCH=VER and the like) from Debian SUITE into DIR.
debian_download() {
	local suite=$1 dir=$2 logfile=$3
	shift 3
	debian_apt_update "$suite"
	mkdir -p "$dir"
	(cd "$dir" && run_quiet "$logfile" debian_apt "$suite" apt-get -q download "$@")
}

# The guests' suite: guest_apt CMD ARGS..., guest_apt_update,
# guest_download DIR LOGFILE PKG..., as above for Debian bookworm.
guest_apt() {
	debian_apt "$GUEST_SUITE" "$@"
}
guest_apt_update() {
	debian_apt_update "$GUEST_SUITE"
}
guest_download() {
	debian_download "$GUEST_SUITE" "$@"
}

# libc_suite: the Debian release whose C library the guests get: the
# host's own on Debian 12 and 13, since the programs are linked against it
# (linked on Debian 13, Rust's std binds even its weak references to
# pidfd_spawnp and pidfd_getpid to glibc 2.39, and the program would not
# start with Debian 12's 2.36), the guests' suite on other hosts.
libc_suite() {
	local codename
	codename=$(host_codename)
	case $codename in
	bookworm | trixie) echo "$codename" ;;
	*) echo "$GUEST_SUITE" ;;
	esac
}

# guest_pkg_version PKG: the version 'apt-get download PKG' would fetch from
# the guests' suite, or empty.
guest_pkg_version() {
	guest_apt_update
	guest_apt apt-cache show --no-all-versions "$1" 2>/dev/null |
		awk '/^Version:/ && !v {v = $2} END {print v}'
}

# mirrors_of ETC [VAR=VALUE...]: "GUEST_MIRROR GUEST_SECURITY_MIRROR" as
# guest_apt_mirrors finds them for the apt sources in ETC and the given
# environment.
mirrors_of() {
	(
		HOST_APT_ETC=$1
		shift
		# shellcheck disable=SC2163 # VAR=VALUE words, exported as given
		[ $# = 0 ] || export "$@"
		unset GUEST_MIRROR
		guest_apt_mirrors
		echo "$GUEST_MIRROR $GUEST_SECURITY_MIRROR"
	)
}

# check_mirror_detection: the harness's check of guest_apt_mirrors on
# made-up apt sources: deb822 files (one paragraph per source, records
# never spanning files), one-line files with options, a host without a
# Debian mirror, the overrides.
check_mirror_detection() {
	local etc got
	etc=$(mktemp -d)
	mkdir -p "$etc/sources.list.d"
	printf 'Types: deb\nURIs: http://m.example/debian/\nSuites: trixie trixie-updates\nComponents: main\n\nTypes: deb\nURIs: http://s.example/debian-security\nSuites: trixie-security\nComponents: main\n' \
		>"$etc/sources.list.d/debian.sources"
	printf 'Types: deb\nURIs: http://b.example/debian\nSuites: trixie-backports\nComponents: main\n' \
		>"$etc/sources.list.d/backports.sources"
	got=$(mirrors_of "$etc")
	[ "$got" = "http://m.example/debian http://s.example/debian-security" ] || die "deb822: got '$got'"
	rm "$etc"/sources.list.d/*
	printf '# a comment\ndeb [arch=amd64 signed-by=/k.gpg] http://o.example/debian bookworm main\ndeb http://o.example/debian-security bookworm-security main\n' \
		>"$etc/sources.list"
	got=$(mirrors_of "$etc")
	[ "$got" = "http://o.example/debian http://o.example/debian-security" ] || die "one-line: got '$got'"
	got=$(mirrors_of "$etc" IPCON_DEBIAN_MIRROR=http://x.example/debian/)
	[ "$got" = "http://x.example/debian http://x.example/debian-security" ] || die "override: got '$got'"
	printf 'deb http://archive.example/ubuntu noble main\n' >"$etc/sources.list"
	expect_failure "no Debian mirror in this host's apt sources" mirrors_of "$etc"
	rm -rf "$etc"
}
