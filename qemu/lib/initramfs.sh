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

# build_initramfs OUT MODE ARCH FILE...: pack busybox, the init, the module
# and FILEs (installed into /bin) into the cpio archive OUT. The programs in
# COMPAT_BINS (if any) go to /compat32: 32-bit builds that the aarch64 guest
# runs again, to prove a 32-bit process and a 64-bit kernel agree.
COMPAT_BINS=()
build_initramfs() {
	local out=$1 mode=$2 arch=$3
	shift 3
	local root
	root=$(dirname "$out")/root
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,lib/modules,etc}
	cp "$BUSYBOX" "$root/bin/busybox"
	cp "$IPCON_ROOT/qemu/guest/init" "$root/init"
	chmod 755 "$root/init"
	cp "$IPCON_ROOT/qemu/guest/demo" "$root/bin/ipcon-demo"
	cp "$KMOD" "$root/lib/modules/ipcon.ko"
	echo "$mode" >"$root/etc/ipcon-mode"
	case $arch in
	armv7) echo 32 ;;
	*) echo 64 ;;
	esac >"$root/etc/ipcon-word-bits"
	local f
	for f in "$@"; do
		cp "$f" "$root/bin/"
	done
	if [ ${#COMPAT_BINS[@]} -gt 0 ]; then
		mkdir -p "$root/compat32"
		cp "${COMPAT_BINS[@]}" "$root/compat32/"
		cp "$IPCON_ROOT/qemu/guest/demo" "$root/compat32/ipcon-demo"
	fi
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet --owner=0:0) >"$out"
	vlog "initramfs $(du -h "$out" | cut -f1) at $out"
}
