SUMMARY = "A test image for ipcon: the ipcon packages, their tests, root without a password"
DESCRIPTION = "core-image-minimal plus packagegroup-ipcon, the ipcon \
               integration tests (ipcon-ptest, run by ptest-runner) and an \
               SSH server, so that 'bitbake ipcon-test-image -c testimage' \
               runs the ipcon oeqa checks. For development and CI only: \
               root logs in over SSH without a password. A product adds \
               packagegroup-ipcon to its own image instead."
HOMEPAGE = "https://github.com/ipcon-rs/ipcon"
BUGTRACKER = "https://github.com/ipcon-rs/ipcon/issues"
SECTION = "images"
LICENSE = "MIT"

inherit core-image

# ipcon-ptest exists when DISTRO_FEATURES has ptest (the kas files add it).
IMAGE_INSTALL = "\
    packagegroup-core-boot \
    packagegroup-ipcon \
    ${@bb.utils.contains('DISTRO_FEATURES', 'ptest', 'ipcon-ptest ptest-runner', '', d)} \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"

# testimage logs in over SSH as root without a password: what makes this a
# test image, never to be shipped.
# nooelint: oelint.var.badimagefeature.allow-empty-password,oelint.var.badimagefeature.allow-root-login,oelint.var.badimagefeature.empty-root-password
IMAGE_FEATURES += "ssh-server-dropbear allow-empty-password empty-root-password allow-root-login"

# testimage: the boot checks, then ours (lib/oeqa/runtime/cases/ipcon.py).
TEST_SUITES = "ping ssh ipcon"
