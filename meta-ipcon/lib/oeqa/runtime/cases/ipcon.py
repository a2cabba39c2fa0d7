# SPDX-License-Identifier: MIT
#
# ipcon checks for "bitbake <image> -c testimage": the module is loaded at
# boot, the policy of /etc/ipcon/policy is in force, the ipcon tool talks to
# it, and the ipcon ptest passes.

from oeqa.runtime.case import OERuntimeTestCase
from oeqa.core.decorator.depends import OETestDepends
from oeqa.runtime.decorator.package import OEHasPackage


def policy_rules(text):
    """The rules of a policy file (or of 'ipcon policy show'), as token
    tuples: comments, blank lines and spacing do not count."""
    rules = []
    for line in text.splitlines():
        tokens = line.split('#', 1)[0].split()
        if tokens:
            rules.append(tuple(tokens))
    return rules


class IpconTest(OERuntimeTestCase):

    def run_ok(self, cmd, timeout=None):
        status, output = self.target.run(cmd, timeout)
        self.assertEqual(status, 0, msg="'%s' failed (%d):\n%s" % (cmd, status, output))
        return output

    @OETestDepends(['ssh.SSHTest.test_ssh'])
    @OEHasPackage(['kernel-module-ipcon'])
    def test_ipcon_module_autoloaded(self):
        # KERNEL_MODULE_AUTOLOAD: loaded at boot, not by a test.
        self.run_ok('test -d /sys/module/ipcon')
        self.run_ok('grep -qx ipcon /etc/modules-load.d/ipcon.conf')
        self.run_ok('grep -qx live /sys/module/ipcon/initstate')

    @OETestDepends(['ipcon.IpconTest.test_ipcon_module_autoloaded'])
    @OEHasPackage(['ipcon-policy'])
    def test_ipcon_policy_loaded(self):
        # ipcon-policy loaded /etc/ipcon/policy at boot: the policy in force
        # (read back from the module, as root) is the file's, and the boot
        # script or unit that loaded it succeeded.
        installed = self.run_ok('cat /etc/ipcon/policy')
        shown = self.run_ok('ipcon policy show')
        self.assertEqual(policy_rules(shown), policy_rules(installed),
                         msg='policy in force:\n%s\n/etc/ipcon/policy:\n%s' % (shown, installed))
        status, _ = self.target.run('test -d /run/systemd/system')
        if status == 0:
            self.run_ok('systemctl is-active ipcon-policy.service')
        else:
            self.run_ok('ls /etc/rcS.d/S*ipcon-policy')

    @OETestDepends(['ipcon.IpconTest.test_ipcon_module_autoloaded'])
    @OEHasPackage(['ipcon'])
    def test_ipcon_cli(self):
        out = self.run_ok('ipcon --help')
        self.assertIn('usage', out.lower())
        # The tool resolves the family and lists (at least) nothing.
        self.run_ok('ipcon list')
        # Bad input is a named error with status 2, never a crash.
        status, out = self.target.run('ipcon no-such-command')
        self.assertEqual(status, 2, msg=out)

    @OETestDepends(['ipcon.IpconTest.test_ipcon_module_autoloaded'])
    @OEHasPackage(['ipcon-ptest'])
    def test_ipcon_ptest(self):
        out = self.run_ok('ptest-runner -t 600 ipcon', timeout=900)
        passed = [l for l in out.splitlines() if l.startswith('PASS: ')]
        failed = [l for l in out.splitlines() if l.startswith(('FAIL: ', 'ERROR: '))]
        self.assertFalse(failed, msg=out)
        self.assertGreater(len(passed), 50, msg=out)

    @OETestDepends(['ipcon.IpconTest.test_ipcon_module_autoloaded'])
    @OEHasPackage(['libipcon-examples'])
    def test_libipcon_c_example(self):
        # A C program of the image (built against libipcon by the recipe;
        # nothing is compiled on the target) serves a request from another
        # and from the ipcon tool.
        self.run_ok('rm -f /tmp/rpc_server_c.out; '
                    '/usr/libexec/ipcon/examples/rpc_server_c --count 2 >/tmp/rpc_server_c.out 2>&1 &')
        out = self.run_ok('/usr/libexec/ipcon/examples/rpc_client_c "40 2"')
        self.assertEqual(out.strip(), 'rpc_client_c: 40 2 = 42')
        out = self.run_ok('ipcon call example.sum "2 2"')
        self.assertTrue(out.strip().endswith(': 4'), msg=out)
        self.run_ok('for i in 1 2 3 4 5 6 7 8 9 10; do pidof rpc_server_c >/dev/null || exit 0; sleep 1; done; exit 1')
        out = self.run_ok('cat /tmp/rpc_server_c.out')
        self.assertIn('"40 2" -> "42"', out)

    @OETestDepends(['ipcon.IpconTest.test_ipcon_module_autoloaded'])
    @OEHasPackage(['libipcon-ptest'])
    def test_libipcon_ptest(self):
        out = self.run_ok('ptest-runner -t 120 libipcon', timeout=300)
        self.assertIn('PASS: ipcon-c-test-static', out)
        self.assertNotIn('FAIL: ', out)
