# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# The debug kernels: Debian's 6.1 source (the same version as the selected
# stock kernel) built from tinyconfig plus qemu/config/guest.config,
# guest-ARCH.config and debug.config, so the suite, the fuzzer and the
# stress run also go under KASAN, kmemleak, lockdep, atomic-sleep checks
# and the hung task and RCU stall detectors, on x86_64, aarch64 and armv7
# (32-bit bugs differ). Built once per source version, arch and config,
# then cached (about 6 minutes an arch on 2 cores; the ARM ones are
# cross-compiled).

# The options that must survive olddefconfig, or the debug run would check
# nothing while looking green (or tests would fail for want of a feature:
# the namespaces the tests unshare, the memory cgroup they read, the
# console and results UARTs, the power-off that ends QEMU).
DEBUG_REQUIRED="CONFIG_KASAN CONFIG_KASAN_GENERIC CONFIG_DEBUG_KMEMLEAK CONFIG_PROVE_LOCKING
CONFIG_PROVE_RCU CONFIG_DEBUG_ATOMIC_SLEEP CONFIG_DEBUG_LIST CONFIG_UBSAN CONFIG_SLUB
CONFIG_MODULES CONFIG_MODULE_UNLOAD CONFIG_NET_NS
CONFIG_DEBUG_FS CONFIG_MULTIUSER CONFIG_FUTEX CONFIG_USER_NS CONFIG_PID_NS CONFIG_CGROUPS
CONFIG_MEMCG CONFIG_MEMCG_KMEM CONFIG_DETECT_HUNG_TASK CONFIG_RCU_STALL_COMMON
CONFIG_COMPAT_32BIT_TIME"

# debug_required_arch ARCH: what the arch's guest adds to DEBUG_REQUIRED.
debug_required_arch() {
	case $1 in
	x86_64) echo CONFIG_SERIAL_8250_CONSOLE CONFIG_ACPI ;;
	aarch64) echo CONFIG_SERIAL_AMBA_PL011_CONSOLE CONFIG_ARM_PSCI_FW CONFIG_COMPAT ;;
	armv7) echo CONFIG_MMU CONFIG_ARCH_VIRT CONFIG_SERIAL_AMBA_PL011_CONSOLE CONFIG_ARM_PSCI_FW \
		CONFIG_AEABI CONFIG_VFPv3 CONFIG_NEON ;;
	esac
}

# debug_image ARCH: the make target of the boot image, and its path in
# the build tree.
debug_image() {
	case $1 in
	x86_64) echo "bzImage arch/x86/boot/bzImage" ;;
	aarch64) echo "Image arch/arm64/boot/Image" ;;
	armv7) echo "zImage arch/arm/boot/zImage" ;;
	esac
}

# check_debug_config ARCH CONFIG: every option DEBUG_REQUIRED and the arch
# name is set in CONFIG.
check_debug_config() {
	local opt missing=""
	for opt in $DEBUG_REQUIRED $(debug_required_arch "$1"); do
		grep -q "^$opt=y" "$2" || missing="$missing $opt"
	done
	[ -z "$missing" ] || die "the $1 debug kernel config lacks:$missing (see $2)"
}

# debug_kernel_prepare ARCH: the tools and the source a debug kernel build
# needs (installed and downloaded before the build, which may run in the
# background: ahead.sh).
debug_kernel_prepare() {
	local arch=$1
	apt_install flex bison libelf-dev libssl-dev bc
	ensure_cross_gcc "$arch"
	select_kernel 6.1 "$arch"
	fetch_linux_source "$KVER"
}

# build_debug_kernel ARCH: sets KABI, KVER, KIMAGE, KHEADERS.
build_debug_kernel() {
	local arch=$1
	ahead_wait "debug-$arch"
	select_kernel 6.1 "$arch"
	local ver=$KVER key dir src karch cross target image
	karch=$(kernel_arch "$arch")
	cross=$(cross_prefix "$arch")
	read -r target image < <(debug_image "$arch")
	local fragments=("$IPCON_ROOT/qemu/config/guest.config"
		"$IPCON_ROOT/qemu/config/guest-$arch.config" "$IPCON_ROOT/qemu/config/debug.config")
	# The cache key: the config fragments, so that changing an option
	# builds a new kernel (the list of required options is checked again
	# on every use).
	key=$(cat "${fragments[@]}" | sha256sum | cut -c1-12)
	dir=$IPCON_CACHE/debug-kernel/$ver-$arch-$key
	src=$dir/linux
	KIMAGE=$src/$image
	# shellcheck disable=SC2034 # read by build_module (kernel.sh)
	KHEADERS=$src
	if [ -f "$dir/.complete" ]; then
		check_debug_config "$arch" "$src/.config"
		KABI=$(cat "$dir/.complete")
		KVER="$ver (debug build)"
		return 0
	fi
	debug_kernel_prepare "$arch"
	rm -rf "$dir"
	mkdir -p "$src"
	log "unpacking the kernel source"
	dpkg --fsys-tarfile "$LINUX_SOURCE_DEB" |
		tar -xO --wildcards './usr/src/linux-source-6.1.tar.xz' |
		tar -xJ -C "$src" --strip-components=1
	local kmake=(make -C "$src" ARCH="$karch" CROSS_COMPILE="$cross" LOCALVERSION=-ipcon-debug)
	log "configuring the $arch debug kernel (tinyconfig + guest + debug options)"
	run_quiet "$dir/config.log" "${kmake[@]}" tinyconfig
	run_quiet "$dir/merge.log" env -C "$src" ARCH="$karch" CROSS_COMPILE="$cross" \
		scripts/kconfig/merge_config.sh -m .config "${fragments[@]}"
	run_quiet "$dir/olddefconfig.log" "${kmake[@]}" olddefconfig
	check_debug_config "$arch" "$src/.config"
	log "building the $arch debug kernel (about 6 minutes on 2 cores; log: $dir/build.log)"
	run_quiet "$dir/build.log" "${kmake[@]}" -j"$(nproc)" "$target" modules
	KABI=$(make -s -C "$src" ARCH="$karch" LOCALVERSION=-ipcon-debug kernelrelease)
	KVER="$ver (debug build)"
	[ -f "$KIMAGE" ] || die "the $arch debug kernel build produced no $image"
	echo "$KABI" >"$dir/.complete"
}

# fetch_linux_source VER: Debian's linux-source-6.1 package at VER, in the
# cache; sets LINUX_SOURCE_DEB.
fetch_linux_source() {
	local ver=$1 debs
	debs=$IPCON_CACHE/linux-source/$ver
	if [ ! -f "$debs/.complete" ]; then
		log "downloading linux-source-6.1 ($ver, 140 MB)"
		guest_download "$debs" "$debs/download.log" "linux-source-6.1=$ver" ||
			die "downloading linux-source-6.1=$ver failed"
		touch "$debs/.complete"
	fi
	LINUX_SOURCE_DEB=$(echo "$debs"/linux-source-6.1_*.deb)
	[ -f "$LINUX_SOURCE_DEB" ] || die "no linux-source package in $debs"
}

# fetch_checkpatch: the kernel's checkpatch.pl (and the files it reads) from
# the 6.1 source of the selected stock kernel; sets CHECKPATCH.
fetch_checkpatch() {
	select_kernel 6.1 x86_64 # checkpatch is the same for every arch
	local dir=$IPCON_CACHE/checkpatch/$KVER
	CHECKPATCH=$dir/scripts/checkpatch.pl
	[ -f "$CHECKPATCH" ] && return 0
	fetch_linux_source "$KVER"
	log "unpacking checkpatch.pl from linux-source-6.1 $KVER"
	mkdir -p "$dir"
	dpkg --fsys-tarfile "$LINUX_SOURCE_DEB" |
		tar -xO --wildcards './usr/src/linux-source-6.1.tar.xz' |
		tar -xJ -C "$dir" --strip-components=1 --wildcards \
			'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	[ -f "$CHECKPATCH" ] || die "checkpatch.pl missing from linux-source-6.1 $KVER"
}
