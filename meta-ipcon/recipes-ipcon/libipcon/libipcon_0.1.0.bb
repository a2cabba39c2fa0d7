SUMMARY = "libipcon: the C library of ipcon, packet IPC over Generic Netlink"
DESCRIPTION = "The C interface of the ipcon Rust crate (one implementation \
               of the protocol): open a peer, register services and \
               groups, send, publish, join, receive kernel-stamped \
               messages and events, and the policy calls. The -examples \
               package has C example programs, the -ptest package the \
               library's C test program."
HOMEPAGE = "https://github.com/ipcon-rs/ipcon"
BUGTRACKER = "https://github.com/ipcon-rs/ipcon/issues"
SECTION = "libs"
LICENSE = "MIT | Apache-2.0"
LIC_FILES_CHKSUM = "file://LICENSE-MIT;md5=d2892261d47dff1a7d2d38210a188718 \
                    file://LICENSE-APACHE;md5=3b83ef96387f14655fc854ddc3c6bd57"
CVE_PRODUCT = "ipcon-rs:ipcon"

require conf/include/ipcon-src.inc

PV .= "${IPCON_PV_SUFFIX}"

# The ipcon repository at the pinned commit (see ipcon-src.inc), this
# recipe's run-ptest, and the crates of Cargo.lock (the ipcon recipe's
# list: one workspace, one Cargo.lock).
SRC_URI = "${IPCON_SRC_URI} \
           file://run-ptest \
           "
require recipes-ipcon/ipcon/ipcon-crates.inc

S = "${IPCON_UNPACKDIR}/ipcon-src"

# cargo_c: cargo-c builds the library (libipcon/Cargo.toml's
# [package.metadata.capi] names it libipcon) and installs it with its
# header and ipcon.pc; the C programs are then built against what it
# installed, as a C user of the library would build them.
inherit cargo_c ptest

# The package in the workspace; its Cargo.lock is the workspace's, above it.
CARGO_SRC_DIR = "libipcon"
CARGO_LOCK_PATH = "${S}/Cargo.lock"
# The shared library (cargo_c's default) and the static one (-staticdev):
# cargo_c passes CARGO_BUILD_FLAGS to both cbuild and cinstall.
CARGO_BUILD_FLAGS += "--library-type staticlib"

LIBIPCON_EXAMPLES = "rpc_server rpc_client pubsub watch_peers"
# The examples go where the ipcon recipe's go, with a _c suffix; the
# ipcon suite (ipcon-ptest) runs them.
LIBIPCON_EXAMPLES_DIR = "${libexecdir}/ipcon/examples"
LIBIPCON_CFLAGS = "-Wall -Wextra -Werror -I${D}${includedir}/ipcon"

do_install:append() {
    install -d ${D}${LIBIPCON_EXAMPLES_DIR}
    for example in ${LIBIPCON_EXAMPLES}; do
        ${CC} ${CFLAGS} ${LIBIPCON_CFLAGS} ${S}/libipcon/examples/$example.c \
            ${LDFLAGS} -L${D}${libdir} -lipcon -o ${D}${LIBIPCON_EXAMPLES_DIR}/${example}_c
    done
}

# The C test, linked with the shared library and with the static one.
do_install_ptest() {
    ${CC} ${CFLAGS} ${LIBIPCON_CFLAGS} ${S}/libipcon/tests/ipcon_c_test.c \
        ${LDFLAGS} -L${D}${libdir} -lipcon -lpthread -o ${D}${PTEST_PATH}/ipcon-c-test
    ${CC} ${CFLAGS} ${LIBIPCON_CFLAGS} ${S}/libipcon/tests/ipcon_c_test.c \
        ${LDFLAGS} ${D}${libdir}/libipcon.a -lgcc_s -lpthread -lm -ldl -lc \
        -o ${D}${PTEST_PATH}/ipcon-c-test-static
}

PACKAGES =+ "${PN}-examples"
FILES:${PN}-examples += "${LIBIPCON_EXAMPLES_DIR}"

# The C test needs the module loaded and runs as root; the module is
# machine-specific (see the ipcon recipe), so it is only recommended.
RRECOMMENDS:${PN}-ptest += "kernel-module-ipcon"
