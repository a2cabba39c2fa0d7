# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The guest root: a static busybox, the guest init and demo script, the
# freshly built module and the static test programs, packed as a newc
# initramfs. Rebuilt per run.

# fetch_busybox ARCH: a static busybox for ARCH from Debian; sets BUSYBOX.
fetch_busybox() {
	local arch=$1 darch dir
	darch=$(deb_arch "$arch")
	dir=$IPCON_CACHE/busybox/$darch
	BUSYBOX=$dir/root/bin/busybox
	[ -x "$BUSYBOX" ] && return 0
	ensure_foreign_arch "$darch"
	apt_update_once
	mkdir -p "$dir"
	log "downloading busybox-static ($darch)"
	(cd "$dir" && run_quiet "$dir/download.log" apt-get download "busybox-static:$darch") ||
		die "downloading busybox-static:$darch failed"
	dpkg -x "$dir"/busybox-static_*.deb "$dir/root"
	[ -x "$BUSYBOX" ] || die "busybox-static:$darch has no bin/busybox"
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

# build_initramfs OUT MODE ARCH [EXTRAS]: pack busybox, the init, the module and the
# guest programs (GUEST_BINS, GUEST_NAMES; unit test binaries in
# GUEST_UNIT_TESTS) into the cpio archive OUT, laid out as the packages
# install them: the module from the modules_install staging root
# (KMOD_ROOT), indexed by depmod and named in modules-load.d (what
# KERNEL_MODULE_AUTOLOAD installs), with the boot policy of ipcon-policy
# (install_policy). The programs in COMPAT_BINS (if any) go
# to /compat32: 32-bit builds that the aarch64 guest runs again, to prove a
# 32-bit process and a 64-bit kernel agree. EXTRAS: what the guest runs
# besides the mode (the fuzzer, the stress run: see reliability.sh).
COMPAT_BINS=()
build_initramfs() {
	local out=$1 mode=$2 arch=$3 extras=${4:-}
	local root i
	root=$(dirname "$out")/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,lib,etc/modules-load.d,usr/bin}
	mkdir -p "$root$EXAMPLES_DIR" "$root$PTEST_DIR"
	cp "$BUSYBOX" "$root/bin/busybox"
	cp "$IPCON_ROOT/qemu/guest/init" "$root/init"
	chmod 755 "$root/init"
	cp "$IPCON_ROOT/qemu/guest/demo" "$root/bin/ipcon-demo"
	cp -a "$KMOD_ROOT/lib/modules" "$root/lib/"
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
	install_ptest "$root" "${GUEST_UNIT_TESTS[@]}"
	install_policy "$root"
	if [ ${#COMPAT_BINS[@]} -gt 0 ]; then
		mkdir -p "$root/compat32"
		cp "${COMPAT_BINS[@]}" "$root/compat32/"
		cp "$IPCON_ROOT/qemu/guest/demo" "$root/compat32/ipcon-demo"
	fi
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet --owner=0:0) >"$out"
	vlog "initramfs $(du -h "$out" | cut -f1) at $out"
}
