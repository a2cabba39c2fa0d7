# SPDX-License-Identifier: MIT OR Apache-2.0
# shellcheck shell=bash
# libipcon, the C library, for the guest: built as its recipe builds it
# (meta-ipcon/recipes-ipcon/libipcon): the library with cargo and laid out
# as cargo-c installs it (libipcon/install-c-library), then the C examples
# and the C test compiled against that installed tree through its
# pkg-config file, with -Wall -Wextra -Werror: the test linked once with
# the shared library and once with the static one.

# Where libipcon-ptest installs the C test programs.
LIBIPCON_PTEST_DIR=/usr/lib/libipcon/ptest
LIBIPCON_LAYER_FILES=$IPCON_ROOT/meta-ipcon/recipes-ipcon/libipcon/files
C_FLAGS=(-O2 -Wall -Wextra -Werror)
declare -A CLIB_BUILT=()

# clib_dir ARCH: the installed tree (stage) and the C programs (bin) of ARCH.
clib_dir() {
	echo "$IPCON_ROOT/target/libipcon-$1"
}

# recipe_c_examples: LIBIPCON_EXAMPLES of the libipcon recipe.
recipe_c_examples() {
	python3 "$IPCON_ROOT/qemu/lib/guest_userland.py" recipe-var LIBIPCON_EXAMPLES --recipe \
		meta-ipcon/recipes-ipcon/libipcon/libipcon_0.1.0.bb
}

# build_c_library ARCH: the library and the C programs for ARCH, once per run.
build_c_library() {
	local arch=$1 dir stage bin cc e log
	[ -n "${CLIB_BUILT[$arch]:-}" ] && return 0
	dir=$(clib_dir "$arch")
	stage=$dir/stage bin=$dir/bin
	log "building libipcon and its C programs as the libipcon recipe does ($arch)"
	guest_cargo "$arch" "$IPCON_CACHE/libipcon-build-$arch.log" build --release --locked -p libipcon
	rm -rf "$dir" && mkdir -p "$bin"
	"$IPCON_ROOT/libipcon/install-c-library" "$GUEST_TARGET_DIR/release" "$stage" /usr
	check_c_exports "$arch" "$stage"
	local pc=(env "PKG_CONFIG_LIBDIR=$stage/usr/lib/pkgconfig" "PKG_CONFIG_SYSROOT_DIR=$stage" pkg-config)
	local cflags libs private
	read -r -a cflags <<<"$("${pc[@]}" --cflags ipcon)" || true
	read -r -a libs <<<"$("${pc[@]}" --libs ipcon)" || true
	# the static library in place of -lipcon, then what it needs
	read -r -a private <<<"$("${pc[@]}" --static --libs-only-l ipcon | sed 's/-lipcon\b//')" || true
	[ ${#libs[@]} -gt 0 ] || die "pkg-config finds no ipcon in $stage/usr/lib/pkgconfig"
	cc=$(cross_prefix "$arch")gcc
	log=$IPCON_CACHE/libipcon-c-$arch
	for e in $(recipe_c_examples); do
		run_quiet "$log-$e.log" "$cc" "${C_FLAGS[@]}" "${cflags[@]}" \
			"$IPCON_ROOT/libipcon/examples/$e.c" "${libs[@]}" -o "$bin/${e}_c"
	done
	run_quiet "$log-test.log" "$cc" "${C_FLAGS[@]}" "${cflags[@]}" \
		"$IPCON_ROOT/libipcon/tests/ipcon_c_test.c" "${libs[@]}" -lpthread -o "$bin/ipcon-c-test"
	run_quiet "$log-test-static.log" "$cc" "${C_FLAGS[@]}" "${cflags[@]}" \
		"$IPCON_ROOT/libipcon/tests/ipcon_c_test.c" "$stage/usr/lib/libipcon.a" "${private[@]}" \
		-o "$bin/ipcon-c-test-static"
	# the harness's benchmark (qemu/lib/bench.sh), not a package's
	run_quiet "$log-compare.log" "$cc" "${C_FLAGS[@]}" "${cflags[@]}" \
		"$IPCON_ROOT/libipcon/bench/ipcon_compare.c" "${libs[@]}" -o "$bin/ipcon-compare"
	local so
	so=$(find "$stage/usr/lib" -name 'libipcon.so.*.*.*' | head -n 1)
	FOOTPRINT_LINES+=("$(printf '%-8s %-38s %9s bytes' "$arch" "$(basename "$so") (C library)" \
		"$(stripped_size "$arch" "$so")")")
	CLIB_BUILT[$arch]=1
}

# check_c_exports ARCH STAGE: the shared library's soname is
# libipcon.so.MAJOR.MINOR (0.x) and it exports ipcon_* functions only.
check_c_exports() {
	local arch=$1 stage=$2 so soname exported others
	so=$(find "$stage/usr/lib" -name 'libipcon.so.*.*.*' | head -n 1)
	[ -n "$so" ] || die "install-c-library installed no libipcon.so.X.Y.Z in $stage/usr/lib"
	soname=$("$(cross_prefix "$arch")readelf" -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
	[[ $soname =~ ^libipcon\.so\.[0-9]+(\.[0-9]+)?$ ]] || die "$so: soname '$soname', want libipcon.so.N"
	[ -e "$stage/usr/lib/$soname" ] || die "$so: no $soname link next to it"
	exported=$("$(cross_prefix "$arch")nm" -D --defined-only "$so" | awk '{ print $3 }')
	others=$(grep -v '^ipcon_' <<<"$exported" || true)
	[ -z "$others" ] || die "$so exports more than ipcon_*: $(echo "$others" | tr '\n' ' ')"
	vlog "$so: soname $soname, exports $(wc -l <<<"$exported") ipcon_* symbols"
}

# install_c_library ROOT ARCH: what the libipcon packages install: the
# shared library (libipcon), the C examples (libipcon-examples, next to
# the Rust ones) and the C test with its run-ptest (libipcon-ptest).
install_c_library() {
	local root=$1 arch=$2 dir e
	dir=$(clib_dir "$arch")
	[ -n "${CLIB_BUILT[$arch]:-}" ] || die "install_c_library: libipcon was not built for $arch"
	cp -a "$dir"/stage/usr/lib/libipcon.so.* "$root/usr/lib/"
	for e in $(recipe_c_examples); do
		cp "$dir/bin/${e}_c" "$root$EXAMPLES_DIR/"
	done
	mkdir -p "$root$LIBIPCON_PTEST_DIR"
	cp "$dir/bin/ipcon-c-test" "$dir/bin/ipcon-c-test-static" "$root$LIBIPCON_PTEST_DIR/"
	cp "$LIBIPCON_LAYER_FILES/run-ptest" "$root$LIBIPCON_PTEST_DIR/"
}

# c_examples_of ARCH: the built C examples of ARCH, one path a line (for
# the 32-bit programs an aarch64 test VM runs again in /compat32).
c_examples_of() {
	local e
	for e in $(recipe_c_examples); do
		echo "$(clib_dir "$1")/bin/${e}_c"
	done
}

# install_c_library_compat ROOT: the armv7 shared library where the 32-bit
# loader of an aarch64 guest looks first (the multiarch directory), for
# the 32-bit C examples in /compat32.
install_c_library_compat() {
	local root=$1
	[ -n "${CLIB_BUILT[armv7]:-}" ] || die "install_c_library_compat: libipcon was not built for armv7"
	mkdir -p "$root/usr/lib/arm-linux-gnueabihf"
	cp -a "$(clib_dir armv7)"/stage/usr/lib/libipcon.so.* "$root/usr/lib/arm-linux-gnueabihf/"
}
