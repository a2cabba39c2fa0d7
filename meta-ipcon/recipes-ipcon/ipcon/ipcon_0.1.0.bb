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
CVE_PRODUCT = "ipcon"

require conf/include/ipcon-src.inc
require ${BPN}-crates.inc

PV .= "${IPCON_PV_SUFFIX}"

# The ipcon checkout this layer sits in (see ipcon-src.inc): the workspace
# (the crate carries its own copy of the UAPI header for its ABI test). A
# recipe, not a bbappend, takes files from outside its layer on purpose.
# nooelint: oelint.vars.fileextrapaths,oelint.vars.outofcontext
FILESEXTRAPATHS:prepend := "${THISDIR}/../../..:"
IPCON_LOCAL_SRC_URI = "file://Cargo.toml;subdir=ipcon-src \
                       file://Cargo.lock;subdir=ipcon-src \
                       file://ipcon;subdir=ipcon-src \
                       file://ipcon-cli;subdir=ipcon-src \
                       file://tests;subdir=ipcon-src \
                       file://LICENSE-MIT;subdir=ipcon-src \
                       file://LICENSE-APACHE;subdir=ipcon-src \
                       "
SRC_URI += "${IPCON_SRC_URI} \
            file://run-ptest \
            file://ipcon-check-toolchain \
            "

S = "${IPCON_UNPACKDIR}/ipcon-src"

inherit cargo cargo-update-recipe-crates ptest-cargo

IPCON_EXAMPLES = "rpc_server rpc_client pubsub watch_peers poll_loop fixed_buffers threaded_server tokio_daemon smol_daemon"
# The examples of the async integrations need their crate features.
IPCON_CARGO_FEATURES = "ipcon/tokio ipcon/async-io"
IPCON_EXAMPLES_DIR = "${libexecdir}/${BPN}/examples"

# A Rust or a Cargo.lock this build cannot handle fails here, naming the fix,
# instead of deep inside cargo.
do_configure:prepend() {
    sh ${IPCON_UNPACKDIR}/ipcon-check-toolchain ${CARGO_LOCK_PATH} ${CARGO_MANIFEST_PATH}
}

# The workspace's programs: the tool (package ipcon-cli), the integration
# suite, the benchmark, the zero-allocation proof, the fuzzer and the
# stress program (bins), and the crate's examples. Not in
# CARGO_BUILD_FLAGS: ptest-cargo adds those to its "cargo build --tests",
# and would then take the programs for test binaries.
do_compile() {
    oe_cargo_build --bins --examples --features "${IPCON_CARGO_FEATURES}"
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
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/ipcon-vmtests ${D}${PTEST_PATH}/
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/ipcon-bench ${D}${PTEST_PATH}/
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/ipcon-zero-alloc ${D}${PTEST_PATH}/
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/ipcon-fuzz ${D}${PTEST_PATH}/
    install -m 0755 ${B}/target/${CARGO_TARGET_SUBDIR}/ipcon-stress ${D}${PTEST_PATH}/
    sed -i -e 's,@IPCON_EXAMPLES_DIR@,${IPCON_EXAMPLES_DIR},' ${D}${PTEST_PATH}/run-ptest
}

PACKAGES =+ "${PN}-examples"
FILES:${PN}-examples += "${IPCON_EXAMPLES_DIR}"

RDEPENDS:${PN}-ptest += "${PN}-examples kernel-module-ipcon"
