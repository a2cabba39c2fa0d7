SUMMARY = "ipcon: the kernel module, its policy, the tool, libipcon and the examples"
DESCRIPTION = "Everything a device needs for ipcon IPC: the ipcon kernel \
               module (loaded at boot), the policy loaded right after it \
               (/etc/ipcon/policy), the ipcon command-line tool, the C \
               library libipcon and the example programs. Add it to \
               IMAGE_INSTALL."
HOMEPAGE = "https://github.com/ipcon-rs/ipcon"
BUGTRACKER = "https://github.com/ipcon-rs/ipcon/issues"
SECTION = "base"

# The kernel module is built for the machine's kernel, so this group is
# machine-specific too (it must be set before the inherit).
PACKAGE_ARCH = "${MACHINE_ARCH}"

inherit packagegroup

RDEPENDS:${PN} = "\
    ipcon \
    ipcon-examples \
    ipcon-policy \
    kernel-module-ipcon \
    libipcon \
    libipcon-examples \
"
