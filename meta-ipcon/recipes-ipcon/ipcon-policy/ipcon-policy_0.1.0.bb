SUMMARY = "ipcon: the policy file and the boot script that loads it"
DESCRIPTION = "Installs /etc/ipcon/policy, the ipcon security policy (who \
               may own, send to and join which names), and loads it into \
               the ipcon kernel module at boot before the services start: \
               a systemd unit, or a sysvinit script in rcS."
HOMEPAGE = "https://github.com/ipcon-rs/ipcon"
BUGTRACKER = "https://github.com/ipcon-rs/ipcon/issues"
SECTION = "base"
LICENSE = "MIT"
# The SPDX line of the boot script: these files are the layer's own.
LIC_FILES_CHKSUM = "file://ipcon-policy.init;beginline=2;endline=2;md5=b2dccaa94b3629a08bfb4f983cad6f89"

# Where SRC_URI unpacks: UNPACKDIR, or WORKDIR on releases before styhead
# (5.1), which have no UNPACKDIR (as in ipcon-src.inc; the files of this
# recipe come from its own directory).
IPCON_UNPACKDIR = "${@d.getVar('UNPACKDIR') or d.getVar('WORKDIR')}"

# The file installed as /etc/ipcon/policy, found like any file:// source:
# a name in FILESPATH (a product's bbappend adds its own directory with
# FILESEXTRAPATHS) or an absolute path. The default, files/policy, allows
# everything, as the module does with no policy, and carries a commented
# example; a product ships "default deny" (see the layer's README.md).
IPCON_POLICY_FILE ?= "policy"

SRC_URI = "file://${IPCON_POLICY_FILE} \
           file://ipcon-policy.init \
           file://ipcon-policy.service \
           "

S = "${IPCON_UNPACKDIR}"

inherit allarch systemd update-rc.d

# rcS: after modutils.sh (S06) has loaded the module from
# /etc/modules-load.d, before the rest of rcS and every runlevel service.
INITSCRIPT_NAME = "ipcon-policy"
INITSCRIPT_PARAMS = "start 07 S ."

# Before sysinit.target: see the unit file.
SYSTEMD_SERVICE:${PN} = "ipcon-policy.service"

do_configure[noexec] = "1"
do_compile[noexec] = "1"

# Both boot scripts are installed; systemd.bbclass keeps the one the
# distro's init manager uses.
do_install() {
    install -d ${D}${sysconfdir}/ipcon ${D}${sysconfdir}/init.d ${D}${systemd_system_unitdir}
    install -m 0644 ${IPCON_UNPACKDIR}/${IPCON_POLICY_FILE} ${D}${sysconfdir}/ipcon/policy
    sed -e 's,@BINDIR@,${bindir},g' -e 's,@SYSCONFDIR@,${sysconfdir},g' \
        ${IPCON_UNPACKDIR}/ipcon-policy.init >${D}${sysconfdir}/init.d/ipcon-policy
    chmod 0755 ${D}${sysconfdir}/init.d/ipcon-policy
    sed -e 's,@BINDIR@,${bindir},g' -e 's,@SYSCONFDIR@,${sysconfdir},g' \
        ${IPCON_UNPACKDIR}/ipcon-policy.service >${D}${systemd_system_unitdir}/ipcon-policy.service
    chmod 0644 ${D}${systemd_system_unitdir}/ipcon-policy.service
}

# The tool loads the policy; the module itself comes with packagegroup-ipcon
# (or loads on demand when the tool asks for the ipcon family).
RDEPENDS:${PN} = "ipcon"
