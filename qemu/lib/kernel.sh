# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# Target kernels: pick a Debian kernel line's newest ABI that has the image
# and headers at the identical version, download them with the harness's own
# apt configuration (guestapt.sh) and unpack them into the cache (nothing is
# installed on the host), then build the module against those headers.

# Debian architecture and kernel flavour for a harness arch.
deb_arch() {
	case $1 in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	armv7) echo armhf ;;
	esac
}
kernel_flavour() {
	case $1 in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	armv7) echo armmp ;;
	esac
}

# The kernel's ARCH= for a harness arch.
kernel_arch() {
	case $1 in
	x86_64) echo x86_64 ;;
	aarch64) echo arm64 ;;
	armv7) echo arm ;;
	esac
}

# select_kernel LINE ARCH: sets KABI (e.g. 6.1.0-56-amd64) and KVER (the
# Debian package version) for the newest ABI of LINE with image and headers
# at the same version.
select_kernel() {
	local line=$1 arch=$2 flavour pattern abi img hdr
	flavour=$(kernel_flavour "$arch")
	case $line in
	6.1) pattern="^linux-image-6\.1\.0-[0-9]+-$flavour\$" ;;
	6.12) pattern="^linux-image-6\.12\.[0-9]+\+deb12-$flavour\$" ;;
	*) die "unknown kernel line '$line' (known: 6.1, 6.12)" ;;
	esac
	guest_apt_update
	KABI="" KVER=""
	for img in $(guest_apt apt-cache pkgnames linux-image- | grep -E "$pattern" | sort -rV); do
		abi=${img#linux-image-}
		hdr=linux-headers-$abi
		local vi vh
		vi=$(guest_pkg_version "$img:$(deb_arch "$arch")")
		vh=$(guest_pkg_version "$hdr:$(deb_arch "$arch")")
		if [ -n "$vi" ] && [ "$vi" = "$vh" ]; then
			KABI=$abi KVER=$vi
			break
		fi
		vlog "skipping $abi: image $vi, headers ${vh:-missing}"
	done
	[ -n "$KABI" ] || die "no Debian $line kernel with matching image and headers for $arch in Debian $GUEST_SUITE (check 'APT_CONFIG=${DEBIAN_APT_CONF[$GUEST_SUITE]} apt-cache search linux-image-$line')"
}

# fetch_kernel ARCH: download and unpack image, headers and kbuild for
# $KABI/$KVER into $KROOT; sets KROOT, KIMAGE (vmlinuz), KHEADERS.
fetch_kernel() {
	local arch=$1 darch dir
	darch=$(deb_arch "$arch")
	KROOT=$IPCON_CACHE/kernel/$KABI/root
	KIMAGE=$KROOT/boot/vmlinuz-$KABI
	KHEADERS=$KROOT/usr/src/linux-headers-$KABI
	if [ -f "$KROOT/.complete" ]; then
		vlog "kernel $KABI already unpacked in $KROOT"
		return 0
	fi
	dir=$IPCON_CACHE/kernel/$KABI/debs
	rm -rf "$dir" "$KROOT"
	mkdir -p "$dir" "$KROOT"
	local common kbuild kline
	common=$(guest_apt apt-cache show --no-all-versions "linux-headers-$KABI:$darch" |
		awk -F', ' '/^Depends:/ {for (i = 1; i <= NF; i++) if ($i ~ /linux-headers-.*-common/) print $i}' |
		sed 's/^Depends: //; s/ .*//' | sed -n 1p)
	kbuild=$(guest_apt apt-cache show --no-all-versions "linux-headers-$KABI:$darch" |
		grep -o 'linux-kbuild-[^ ,]*' | sed -n 1p)
	if [ -z "$common" ] || [ -z "$kbuild" ]; then die "cannot read the dependencies of linux-headers-$KABI"; fi
	kline=${kbuild#linux-kbuild-}
	log "downloading Debian kernel $KABI ($KVER)"
	guest_download "$dir" "$dir/download.log" \
		"linux-image-$KABI:$darch=$KVER" "linux-headers-$KABI:$darch=$KVER" \
		"$common=$KVER" "$kbuild:$(host_deb_arch)=$KVER" || die "downloading kernel $KABI failed"
	local deb
	for deb in "$dir"/*.deb; do
		dpkg -x "$deb" "$KROOT"
	done
	# The headers include the -common tree by absolute path: point it here.
	sed -i "s|^include /usr/src/|include $KROOT/usr/src/|" "$KHEADERS/Makefile"
	[ -d "$KROOT/usr/lib/linux-kbuild-$kline" ] || die "linux-kbuild-$kline missing in $KROOT"
	[ -f "$KIMAGE" ] || die "no kernel image at $KIMAGE"
	touch "$KROOT/.complete"
}

# kernel_cc ARCH: the C compiler to build modules for the kernel in
# $KHEADERS with, the kernel's own gcc major version (from its
# CONFIG_CC_VERSION_TEXT): a Debian 13 host builds for Debian 12's kernels
# with its gcc-12, as Debian built them, installed if missing. Sets
# KERNEL_CC.
kernel_cc() {
	local arch=$1 cross text major have
	cross=$(cross_prefix "$arch")
	text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' \
		"$KHEADERS/include/config/auto.conf")
	[ -n "$text" ] || die "no CONFIG_CC_VERSION_TEXT in $KHEADERS/include/config/auto.conf"
	major=$(awk '{print $NF}' <<<"$text" | cut -d. -f1)
	KERNEL_CC=${cross}gcc
	have=$("$KERNEL_CC" -dumpfullversion 2>/dev/null | cut -d. -f1 || true)
	[ "$have" = "$major" ] && return 0
	KERNEL_CC=${cross}gcc-$major
	command -v "$KERNEL_CC" >/dev/null 2>&1 || apt_install "gcc-$major${cross:+-${cross%-}}"
	command -v "$KERNEL_CC" >/dev/null 2>&1 ||
		die "no $KERNEL_CC (the kernel $KABI was built by $text): install gcc-$major${cross:+-${cross%-}}"
}

# build_module ARCH OUTDIR: build ipcon.ko against $KHEADERS into a copy of
# the module source in OUTDIR (the source tree stays clean), the way
# module.bbclass does: through the module's Makefile with KERNEL_SRC, then
# "make modules_install" with MODLIB into a staging root. Sets KMOD (the
# built module) and KMOD_ROOT (the staging root: lib/modules/<kernel>/...).
build_module() {
	local arch=$1 out=$2 karch cross
	karch=$(kernel_arch "$arch")
	cross=$(cross_prefix "$arch")
	ensure_cross_gcc "$arch"
	rm -rf "$out" && mkdir -p "$out/src"
	cp -a "$IPCON_ROOT/ipcon-kmod/." "$out/src/"
	kernel_cc "$arch"
	log "building ipcon.ko for $KABI (W=1, sparse; $KERNEL_CC)"
	run_quiet "$out/build.log" make -C "$out/src" KERNEL_SRC="$KHEADERS" \
		ARCH="$karch" CROSS_COMPILE="$cross" CC="$KERNEL_CC" W=1 C=2
	if grep -E 'warning:|error:' "$out/build.log" >&2; then
		die "the module build has warnings (W=1 and sparse must be clean; log: $out/build.log)"
	fi
	KMOD=$out/src/ipcon.ko
	local vermagic
	vermagic=$(modinfo -F vermagic "$KMOD" | awk '{print $1}')
	[ "$vermagic" = "$KABI" ] || die "ipcon.ko vermagic '$vermagic' does not match kernel $KABI"
	KMOD_ROOT=$out/root
	run_quiet "$out/install.log" make -C "$out/src" KERNEL_SRC="$KHEADERS" \
		ARCH="$karch" CROSS_COMPILE="$cross" CC="$KERNEL_CC" DEPMOD=echo \
		MODLIB="$KMOD_ROOT/lib/modules/$KABI" modules_install
	[ -n "$(find "$KMOD_ROOT/lib/modules/$KABI" -name 'ipcon.ko*')" ] ||
		die "make modules_install put no ipcon.ko under $KMOD_ROOT/lib/modules/$KABI (log: $out/install.log)"
}
