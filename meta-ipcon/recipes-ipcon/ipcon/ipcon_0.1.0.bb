SUMMARY = "ipcon: packet IPC over Generic Netlink, the tool and the examples"
DESCRIPTION = "The ipcon command-line tool (list, resolve, send, call, \
               serve, publish, listen, monitor, policy) and the Rust \
               crate's example programs, for the ipcon kernel module. The \
               -ptest package runs the ipcon integration suite on the \
               target."
HOMEPAGE = "https://github.com/ipcon-rs/ipcon"
BUGTRACKER = "https://github.com/ipcon-rs/ipcon/issues"
SECTION = "utils"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE-MIT;md5=d2892261d47dff1a7d2d38210a188718 \
                    file://LICENSE-APACHE;md5=3b83ef96387f14655fc854ddc3c6bd57"
CVE_PRODUCT = "ipcon-rs:ipcon"

require conf/include/ipcon-src.inc

PV .= "${IPCON_PV_SUFFIX}"

# The ipcon repository at the pinned commit (see ipcon-src.inc), this
# recipe's own files, and the crates of Cargo.lock (ipcon-crates.inc).
SRC_URI = "${IPCON_SRC_URI} \
           file://run-ptest \
           file://ipcon-check-toolchain \
           "
require ${BPN}-crates.inc

S = "${IPCON_UNPACKDIR}/ipcon-src"

inherit cargo cargo-update-recipe-crates ptest-cargo

IPCON_EXAMPLES = "rpc_server rpc_client pubsub watch_peers poll_loop fixed_buffers threaded_server tokio_daemon smol_daemon"
IPCON_EXAMPLES_DIR = "${libexecdir}/${BPN}/examples"

# A Rust or a Cargo.lock this build cannot handle fails here, naming the fix,
# instead of deep inside cargo.
do_configure:prepend() {
    sh ${IPCON_UNPACKDIR}/ipcon-check-toolchain ${CARGO_LOCK_PATH} ${CARGO_MANIFEST_PATH}
}

# The programs, as Cargo.toml's profiles build them: the tool (package
# ipcon-cli) and the examples (the async ones with the crate's tokio and
# async-io features) with the release profile (do_compile), the programs
# of the tests package (the integration suite, the benchmark, the
# zero-allocation proof, the fuzzer and the stress program) with the
# "ptest" profile (do_compile_ptest), which unwinds on panic so that a
# failing test is reported and the suite goes on (a release build aborts
# at the first panic). The crate's unit tests come from ptest-cargo.bbclass
# (do_compile_ptest_cargo). Not in CARGO_BUILD_FLAGS: ptest-cargo adds
# those to its "cargo build --tests", and would then take the programs for
# test binaries. qemu/lib/host.sh builds the test VMs' programs with these
# same arguments.
IPCON_CARGO_TARGETS = "-p ipcon-cli -p ipcon --bins --examples --features ipcon/tokio,ipcon/async-io"
IPCON_PTEST_CARGO_TARGETS = "-p ipcon-vmtests --bins"
IPCON_PTEST_PROGRAMS = "ipcon-vmtests ipcon-bench ipcon-zero-alloc ipcon-fuzz ipcon-stress"
IPCON_PTEST_PROFILE = "ptest"

do_compile() {
    oe_cargo_build ${IPCON_CARGO_TARGETS}
}

# CARGO_BUILD_FLAGS with the ptest profile in place of --release.
IPCON_PTEST_CARGO_FLAGS = "${@' '.join(f for f in d.getVar('CARGO_BUILD_FLAGS').split() if f != '--release')} \
                           --profile ${IPCON_PTEST_PROFILE}"

# ptest-cargo's unit test build, "cargo build --tests ${CARGO_BUILD_FLAGS}",
# with the ptest profile in place of --release as well: test binaries
# unwind on panic whatever the profile says, and release's fat LTO and
# single codegen unit, run again for each of the seven test binaries, made
# this the slowest compile of the recipe; with the ptest profile, the
# dependencies it builds are those do_compile_ptest then reuses.
CARGO_BUILD_FLAGS:remove:task-compile-ptest-cargo = "--release"
CARGO_BUILD_FLAGS:append:task-compile-ptest-cargo = " --profile ${IPCON_PTEST_PROFILE}"

do_compile_ptest() {
    export RUSTFLAGS="${RUSTFLAGS}"
    bbnote "${CARGO} build ${IPCON_PTEST_CARGO_FLAGS} ${PACKAGECONFIG_CONFARGS} ${IPCON_PTEST_CARGO_TARGETS}"
    "${CARGO}" build ${IPCON_PTEST_CARGO_FLAGS} ${PACKAGECONFIG_CONFARGS} ${IPCON_PTEST_CARGO_TARGETS}
}

do_install() {
    install -d ${D}${bindir} ${D}${IPCON_EXAMPLES_DIR}
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/ipcon ${D}${bindir}/ipcon
    for example in ${IPCON_EXAMPLES}; do
        install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/examples/$example ${D}${IPCON_EXAMPLES_DIR}/
    done
}

# run-ptest is installed by ptest.bbclass; ptest-cargo.bbclass then appends
# the crate's unit test binaries to it.
do_install_ptest() {
    for program in ${IPCON_PTEST_PROGRAMS}; do
        install -m 0755 ${B}/target/${RUST_HOST_SYS}/${IPCON_PTEST_PROFILE}/$program ${D}${PTEST_PATH}/
    done
    sed -i -e 's,@IPCON_EXAMPLES_DIR@,${IPCON_EXAMPLES_DIR},' ${D}${PTEST_PATH}/run-ptest
}

PACKAGES =+ "${PN}-examples"
FILES:${PN}-examples += "${IPCON_EXAMPLES_DIR}"

# The suite runs the examples (the C ones of libipcon too) and the C
# library's test program, and "unshare -n/-U/-r/-p/-f" for its namespace
# tests (openembedded-core's busybox has no unshare); the rest it runs
# (modprobe, rmmod, mount, dirname) are busybox's default applets.
# qemu/lib/guest_userland.py checks this list against what the suite runs.
RDEPENDS:${PN}-ptest += "${PN}-examples libipcon-examples libipcon-ptest util-linux-unshare"
# The module is machine-specific and this recipe is not: a recommendation
# keeps kernel-module-ipcon out of this recipe's task signatures (an
# RDEPENDS would tie ipcon to each MACHINE's kernel). packagegroup-ipcon
# installs it; run-ptest fails, naming it, when it is missing.
RRECOMMENDS:${PN}-ptest += "kernel-module-ipcon"
