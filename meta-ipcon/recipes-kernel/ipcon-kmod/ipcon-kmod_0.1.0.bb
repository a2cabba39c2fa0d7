SUMMARY = "ipcon kernel module: packet IPC over Generic Netlink"
DESCRIPTION = "The ipcon broker: registers the Generic Netlink family IPCON \
               with system-wide service names, named multicast groups, \
               unicast and multicast relayed by the kernel with the sender \
               stamped by the kernel, events when peers, services and \
               groups come and go, a policy of who may own, send to and \
               join which names, and per-user limits."
HOMEPAGE = "https://github.com/ipcon-rs/ipcon"
BUGTRACKER = "https://github.com/ipcon-rs/ipcon/issues"
SECTION = "kernel/modules"
LICENSE = "GPL-2.0-only"
LIC_FILES_CHKSUM = "file://COPYING;md5=b234ee4d69f5fce4486a80fdaf4a4263"
CVE_PRODUCT = "ipcon-rs:ipcon"

require conf/include/ipcon-src.inc

PV .= "${IPCON_PV_SUFFIX}"

# The ipcon repository at the pinned commit (see ipcon-src.inc).
SRC_URI = "${IPCON_SRC_URI}"

S = "${IPCON_UNPACKDIR}/ipcon-src/ipcon-kmod"

inherit module

# The inherit of module.bbclass will automatically name module packages with
# "kernel-module-" prefix as required by the oe-core build environment.
RPROVIDES:${PN} += "kernel-module-ipcon"

# Loaded at boot (/etc/modules-load.d/ipcon.conf). Module options (the
# per-user limits) go in /etc/modprobe.d/ipcon.conf when module_conf_ipcon
# is set, for example module_conf_ipcon = "options ipcon max_services=32"
# in local.conf.
KERNEL_MODULE_AUTOLOAD += "ipcon"
KERNEL_MODULE_PROBECONF += "ipcon"
