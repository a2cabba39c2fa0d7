# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The guest root, packed as a newc initramfs and rebuilt per run: what an
# image with meta-ipcon's packages (packagegroup-ipcon, ipcon-ptest) has, no
# more: Debian's static busybox with only the applets of
# openembedded-core's default busybox (qemu/guest/busybox-applets), the
# files of the packages the recipes pull in (util-linux's unshare, taken
# from Debian: qemu/lib/guest_userland.py), the ipcon packages' files where
# they install them (the module, the programs built as the recipe builds
# them, run-ptest, the policy and its boot script), and the C library the
# programs link to (Debian's). Plus the harness's own: its init (which
# plays the image's boot and ptest-runner) and demo script.

# fetch_busybox ARCH: a static busybox for ARCH from Debian; sets BUSYBOX.
fetch_busybox() {
	local arch=$1 darch dir
	darch=$(deb_arch "$arch")
	dir=$IPCON_CACHE/busybox/$darch
	BUSYBOX=$dir/root/bin/busybox
	[ -x "$BUSYBOX" ] && return 0
	log "downloading busybox-static ($darch)"
	guest_download "$dir" "$dir/download.log" "busybox-static:$darch" ||
		die "downloading busybox-static:$darch failed"
	dpkg -x "$dir"/busybox-static_*.deb "$dir/root"
	[ -x "$BUSYBOX" ] || die "busybox-static:$darch has no bin/busybox"
}

# fetch_debs NAME ARCH PKG...: Debian packages of the guests' suite for
# ARCH, downloaded once and unpacked together into the cache; sets
# DEBS_ROOT (their root).
fetch_debs() {
	fetch_debs_from "$GUEST_SUITE" "$@"
}

# fetch_libc ARCH: the C library the guest's programs run with: that of the
# Debian release they were linked against (libc_suite); sets DEBS_ROOT.
fetch_libc() {
	fetch_debs_from "$(libc_suite)" libc "$1" libc6 libgcc-s1
}

# fetch_debs_from SUITE NAME ARCH PKG...: fetch_debs from Debian SUITE.
fetch_debs_from() {
	local suite=$1 name=$2 arch=$3 darch dir deb
	shift 3
	darch=$(deb_arch "$arch")
	dir=$IPCON_CACHE/debs/$suite/$darch/$name
	DEBS_ROOT=$dir/root
	[ -f "$dir/unpacked" ] && return 0
	rm -rf "$dir"
	log "downloading $* ($darch, Debian $suite)"
	debian_download "$suite" "$dir" "$dir/download.log" "${@/%/:$darch}" ||
		die "downloading $*:$darch failed"
	for deb in "$dir"/*.deb; do
		dpkg -x "$deb" "$DEBS_ROOT"
	done
	# Debian 13's packages are merged-/usr (libc6 has its dynamic linker
	# in usr/lib64 only): the links of a merged-/usr system, so that the
	# paths programs name (/lib64/ld-linux-x86-64.so.2) resolve
	local d
	for d in lib lib64; do
		if [ -d "$DEBS_ROOT/usr/$d" ] && [ ! -e "$DEBS_ROOT/$d" ]; then
			ln -s "usr/$d" "$DEBS_ROOT/$d"
		fi
	done
	touch "$dir/unpacked"
}

# on_host ARCH CMD...: run a program built for ARCH here (qemu-user for ARM).
on_host() {
	local arch=$1
	shift
	case $arch in
	x86_64) "$@" ;;
	aarch64) qemu-aarch64 "$@" ;;
	armv7) qemu-arm "$@" ;;
	esac
}

# install_busybox ROOT ARCH: the static busybox as /bin/busybox, and a link
# to it for each applet of openembedded-core's default busybox
# (qemu/guest/busybox-applets, where that busybox installs it) that
# Debian's busybox has; the others are missing from the guest and logged.
install_busybox() {
	local root=$1 arch=$2 path have missing=()
	cp "$BUSYBOX" "$root/bin/busybox"
	[ "$arch" = x86_64 ] || ensure_qemu_user
	have=$(on_host "$arch" "$BUSYBOX" --list) || die "cannot run $BUSYBOX --list"
	while read -r path; do
		case $path in
		"" | "#"*) continue ;;
		esac
		if grep -qxF "$(basename "$path")" <<<"$have"; then
			mkdir -p "$root$(dirname "$path")"
			ln -s /bin/busybox "$root$path"
		else
			missing+=("$(basename "$path")")
		fi
	done <"$IPCON_ROOT/qemu/guest/busybox-applets"
	vlog "applets of openembedded-core's busybox that Debian's lacks (not in the guest): ${missing[*]}"
}

# fetch_guest_debs ARCH: the Debian packages the guest takes files from:
# the C library and the packages the recipes pull in (see below).
fetch_guest_debs() {
	local arch=$1 deb
	fetch_libc "$arch"
	while read -r deb _; do
		fetch_debs "$deb" "$arch" "$deb"
	done < <(python3 "$IPCON_ROOT/qemu/lib/guest_userland.py" debian)
}

# install_pulled_in ROOT ARCH: the files of the packages from other layers
# that the ipcon recipes pull in (guest_userland.py debian: util-linux's
# unshare for util-linux-unshare), from Debian's packages for ARCH.
install_pulled_in() {
	local root=$1 arch=$2 deb path
	while read -r deb path; do
		fetch_debs "$deb" "$arch" "$deb"
		[ -e "$DEBS_ROOT$path" ] || die "Debian's $deb has no $path"
		mkdir -p "$root$(dirname "$path")"
		cp "$DEBS_ROOT$path" "$root$path"
	done < <(python3 "$IPCON_ROOT/qemu/lib/guest_userland.py" debian)
}

# install_shlibs ROOT ARCH FILE...: the shared libraries FILE... need (and
# the ELF interpreter), recursively, from Debian's C library for ARCH
# (fetch_libc), at the paths Debian's dynamic linker looks in (multiarch
# directories, so an aarch64 guest can carry the armv7 libraries too).
install_shlibs() {
	local root=$1 arch=$2
	shift 2
	fetch_libc "$arch"
	python3 "$IPCON_ROOT/qemu/lib/guest_userland.py" shlibs "$root" "$DEBS_ROOT" "$@" >"$root.shlibs-$arch" ||
		die "copying the shared libraries for $arch failed"
	vlog "shared libraries ($arch): $(tr '\n' ' ' <"$root.shlibs-$arch")"
}

# Where the packages of meta-ipcon install things, and so where the guest
# has them: the test VMs exercise the packaging, not only the code.
EXAMPLES_DIR=/usr/libexec/ipcon/examples
PTEST_DIR=/usr/lib/ipcon/ptest
LAYER_FILES=$IPCON_ROOT/meta-ipcon/recipes-ipcon/ipcon/files
POLICY_LAYER_FILES=$IPCON_ROOT/meta-ipcon/recipes-ipcon/ipcon-policy/files

# guest_path PROGRAM: where the ipcon packages install a guest program.
guest_path() {
	case $1 in
	ipcon) echo /usr/bin/ipcon ;;
	examples/*) echo "$EXAMPLES_DIR/${1#examples/}" ;;
	ipcon-vmtests | ipcon-bench | ipcon-zero-alloc | ipcon-fuzz | ipcon-stress) echo "$PTEST_DIR/$1" ;;
	*) die "guest_path: no packaged location for '$1'" ;;
	esac
}

# install_ptest ROOT UNIT_TEST...: run-ptest as ipcon_*.bb installs it
# (ptest.bbclass copies it, do_install_ptest fills in the examples'
# directory), then what ptest-cargo.bbclass appends: each unit test binary
# run in turn, PASS/FAIL per binary, exit with the overall status.
install_ptest() {
	local root=$1 t dest
	shift
	sed -e "s,@IPCON_EXAMPLES_DIR@,$EXAMPLES_DIR," "$LAYER_FILES/run-ptest" >"$root$PTEST_DIR/run-ptest"
	chmod 755 "$root$PTEST_DIR/run-ptest"
	# shellcheck disable=SC2016 # the guest script's own variables
	{
		printf '\necho ""\necho "## starting to run rust tests ##"\n'
		echo 'if [ -z "$rc" ]; then rc=0; fi'
		for t in "$@"; do
			dest=$PTEST_DIR/$(basename "$t")
			cp "$t" "$root$dest"
			printf 'if ! %s \nthen\n    rc=1\n    echo "FAIL: %s"\nelse\n    echo "PASS: %s"\nfi\n' \
				"$dest" "$dest" "$dest"
		done
		echo 'exit $rc'
	} >>"$root$PTEST_DIR/run-ptest"
}

# install_policy ROOT: what the ipcon-policy package installs: the policy
# file as /etc/ipcon/policy (the VM's own, qemu/guest/policy, in the place
# of a product's IPCON_POLICY_FILE) and the layer's boot script, with the
# paths do_install fills in. The guest init runs that script at boot.
install_policy() {
	local root=$1
	mkdir -p "$root/etc/ipcon" "$root/etc/init.d"
	cp "$IPCON_ROOT/qemu/guest/policy" "$root/etc/ipcon/policy"
	sed -e 's,@BINDIR@,/usr/bin,g' -e 's,@SYSCONFDIR@,/etc,g' \
		"$POLICY_LAYER_FILES/ipcon-policy.init" >"$root/etc/init.d/ipcon-policy"
	chmod 755 "$root/etc/init.d/ipcon-policy"
}

# guest_run ROOT ARCH PROGRAM ARGS...: run a program of the guest root on
# this host, with the guest's own libraries: in a chroot for x86_64 (as
# root), else under qemu-user with the root as its prefix.
guest_run() {
	local root=$1 arch=$2 prog=$3
	shift 3
	local env=(env -i "PATH=/usr/sbin:/usr/bin:/sbin:/bin:$EXAMPLES_DIR:$PTEST_DIR")
	case $arch in
	x86_64)
		if [ "$(id -u)" = 0 ]; then
			chroot "$root" "${env[@]}" "$prog" "$@"
		else
			"${env[@]}" qemu-x86_64 -L "$root" "$root$prog" "$@"
		fi
		;;
	aarch64) "${env[@]}" qemu-aarch64 -L "$root" "$root$prog" "$@" ;;
	armv7) "${env[@]}" qemu-arm -L "$root" "$root$prog" "$@" ;;
	esac
}

# guest_has ROOT NAME: the suite finds program NAME in the guest: next to
# itself, or in root's PATH plus the examples' directory (as run-ptest
# sets it).
guest_has() {
	local root=$1 name=$2 dir
	for dir in "$PTEST_DIR" /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin "$EXAMPLES_DIR"; do
		if [ -L "$root$dir/$name" ] || [ -f "$root$dir/$name" ]; then
			return 0
		fi
	done
	return 1
}

# guest_starts ROOT ARCH: the tool, the suite and the programs of the other
# packages start in the guest root (see guest_run).
guest_starts() {
	local root=$1 arch=$2 path
	guest_run "$root" "$arch" /usr/bin/ipcon --help || return 1
	guest_run "$root" "$arch" "$PTEST_DIR/ipcon-vmtests" --list || return 1
	while read -r _ path; do
		guest_run "$root" "$arch" "$path" --version || return 1
	done < <(python3 "$IPCON_ROOT/qemu/lib/guest_userland.py" debian)
}

# check_guest_root ROOT ARCH: before a VM boots, in seconds: the guest's
# programs start with the guest's libraries, and every program the suite
# and run-ptest run by name is found in the guest (root's PATH plus the
# examples' directory, which run-ptest adds).
check_guest_root() {
	local root=$1 arch=$2 prog missing=() log
	ensure_qemu_user
	log=$root.check
	guest_starts "$root" "$arch" >"$log" 2>&1 || {
		tail -n 20 "$log" >&2
		die "the guest's programs do not start with the guest's libraries ($arch; log: $log)"
	}
	while read -r prog; do
		guest_has "$root" "$prog" || missing+=("$prog")
	done < <(python3 "$IPCON_ROOT/qemu/lib/guest_userland.py" programs |
		awk -F'\t' '$2 == "suite" && $1 !~ /\// { print $1 }' | sort -u | grep -vx ipcon-demo)
	[ ${#missing[@]} = 0 ] ||
		die "the guest ($arch) lacks programs the suite runs: ${missing[*]} (see qemu/lib/guest_userland.py check)"
	if [ -d "$root/compat32" ]; then
		guest_run "$root" armv7 /compat32/ipcon-vmtests --list >>"$log" 2>&1 ||
			die "the 32-bit suite does not start with the guest's armv7 libraries (log: $log)"
	fi
}

# build_initramfs OUT MODE ARCH [EXTRAS]: pack the guest root (see the top of this
# file) into the cpio archive OUT: busybox (install_busybox), the init, the
# module from the modules_install staging root (KMOD_ROOT), indexed by
# depmod and named in modules-load.d (what KERNEL_MODULE_AUTOLOAD
# installs), the guest programs (GUEST_BINS, GUEST_NAMES; unit test
# binaries in GUEST_UNIT_TESTS), the boot policy of ipcon-policy
# (install_policy), the other packages the recipes pull in
# (install_pulled_in), libipcon and its C programs (install_c_library),
# the harness's static client (install_tiny) and the shared libraries of all that
# (install_shlibs). The programs in COMPAT_BINS (if any) go to /compat32:
# 32-bit (armv7) builds that the aarch64 guest runs again, to prove a 32-bit
# process and a 64-bit kernel agree; their libraries come along. EXTRAS:
# what the guest runs besides the mode (the fuzzer, the stress run: see
# reliability.sh).
COMPAT_BINS=()
build_initramfs() {
	local out=$1 mode=$2 arch=$3 extras=${4:-}
	local root i elf=()
	root=$(dirname "$out")/root
	rm -rf "$root" "$root".shlibs-* "$root".check
	mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,lib,etc/modules-load.d,usr/bin,usr/sbin}
	mkdir -p "$root$EXAMPLES_DIR" "$root$PTEST_DIR"
	install_busybox "$root" "$arch"
	cp "$IPCON_ROOT/qemu/guest/init" "$root/init"
	chmod 755 "$root/init"
	cp "$IPCON_ROOT/qemu/guest/demo" "$root/bin/ipcon-demo"
	cp -a "$KMOD_ROOT/lib/modules" "$root/lib/"
	if [ "$mode" = bench ]; then install_bench "$root" "$arch"; fi
	# (depmod warns that an out-of-tree staging root has no modules.order:
	# the log keeps that)
	run_quiet "$(dirname "$out")/depmod.log" depmod -b "$root" "$KABI"
	echo ipcon >"$root/etc/modules-load.d/ipcon.conf"
	echo "$mode" >"$root/etc/ipcon-mode"
	write_guest_extras "$root" "$extras"
	case $arch in
	armv7) echo 32 ;;
	*) echo 64 ;;
	esac >"$root/etc/ipcon-word-bits"
	for i in "${!GUEST_NAMES[@]}"; do
		cp "${GUEST_BINS[$i]}" "$root$(guest_path "${GUEST_NAMES[$i]}")"
	done
	install_c_library "$root" "$arch"
	install_tiny "$root" "$arch"
	install_ptest "$root" "${GUEST_UNIT_TESTS[@]}"
	install_policy "$root"
	install_pulled_in "$root" "$arch"
	mapfile -t elf < <(find "$root/usr" -type f)
	install_shlibs "$root" "$arch" "${elf[@]}"
	if [ ${#COMPAT_BINS[@]} -gt 0 ]; then
		mkdir -p "$root/compat32"
		cp "${COMPAT_BINS[@]}" "$root/compat32/"
		cp "$IPCON_ROOT/qemu/guest/demo" "$root/compat32/ipcon-demo"
		install_c_library_compat "$root"
		install_shlibs "$root" armv7 "$root"/compat32/*
	fi
	check_guest_root "$root" "$arch"
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet --owner=0:0) >"$out"
	vlog "initramfs $(du -h "$out" | cut -f1) at $out"
}
