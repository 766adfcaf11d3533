package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
)

// The lab: three namespaces in a line, client — router — server. Names
// carry the tlsl- prefix so that a leftover of an earlier run is found and
// removed, and nothing of the host's is ever touched: the veth pairs are
// made inside the namespaces, never in the host's own.
const (
	nsClient = "tlsl-c"
	nsRouter = "tlsl-r"
	nsServer = "tlsl-s"

	vethClient   = "c0" // in tlsl-c, peer of rc
	vethRouterC  = "rc" // in tlsl-r, toward the client
	vethRouterS  = "rs" // in tlsl-r, toward the server
	vethServer   = "s0" // in tlsl-s, peer of rs
	clientAddr   = "10.81.1.2"
	routerCAddr  = "10.81.1.1"
	routerSAddr  = "10.81.2.1"
	serverAddr   = "10.81.2.2"
	serverName   = "shop.test"
	namePrefix   = "tlsl-"
	defaultMTU   = 1500
	captureSnap  = "0"
	routerHopTTL = 63 // what the server's packets carry at the client
)

// Fixed MAC addresses, so that two runs differ only where the stacks do.
var macs = map[string]string{
	vethClient:  "02:81:01:00:00:02",
	vethRouterC: "02:81:01:00:00:01",
	vethRouterS: "02:81:02:00:00:01",
	vethServer:  "02:81:02:00:00:02",
}

// run runs a command and returns its standard output; a failure carries
// the standard error too, which is where ip and iptables say what was
// wrong (and where tshark warns that it runs as root).
func run(name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()+out.String()))
	}
	return out.String(), nil
}

// in runs a command inside a namespace.
func in(ns string, args ...string) (string, error) {
	return run("ip", append([]string{"netns", "exec", ns}, args...)...)
}

// mustAll runs each command in turn and stops at the first error.
func mustAll(cmds ...[]string) error {
	for _, c := range cmds {
		if _, err := run(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// teardown deletes every namespace with the prefix: this run's, or an
// earlier run's that died before it could clean up. Deleting a namespace
// takes its veth ends, addresses and iptables rules with it.
func teardown() {
	out, _ := run("ip", "netns", "list")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], namePrefix) {
			run("ip", "netns", "del", f[0])
		}
	}
}

// setupLab makes the three namespaces, links them, addresses them, routes
// through the router and turns off the offloads that would make captures
// show giant segments. IPv6 is off so that no router solicitation or MLD
// report lands in a capture.
func setupLab() error {
	teardown()
	var cmds [][]string
	for _, ns := range []string{nsClient, nsRouter, nsServer} {
		cmds = append(cmds, []string{"ip", "netns", "add", ns})
	}
	for _, ns := range []string{nsClient, nsRouter, nsServer} {
		cmds = append(cmds,
			[]string{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
			[]string{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"},
			[]string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	cmds = append(cmds,
		[]string{"ip", "-n", nsClient, "link", "add", "name", vethClient, "type", "veth", "peer", "name", vethRouterC, "netns", nsRouter},
		[]string{"ip", "-n", nsServer, "link", "add", "name", vethServer, "type", "veth", "peer", "name", vethRouterS, "netns", nsRouter})
	for _, x := range [][3]string{{nsClient, vethClient, clientAddr}, {nsRouter, vethRouterC, routerCAddr}, {nsRouter, vethRouterS, routerSAddr}, {nsServer, vethServer, serverAddr}} {
		cmds = append(cmds,
			[]string{"ip", "-n", x[0], "link", "set", x[1], "address", macs[x[1]]},
			[]string{"ip", "-n", x[0], "addr", "add", x[2] + "/24", "dev", x[1]},
			[]string{"ip", "-n", x[0], "link", "set", x[1], "up"})
	}
	cmds = append(cmds,
		[]string{"ip", "-n", nsClient, "route", "add", "default", "via", routerCAddr},
		[]string{"ip", "-n", nsServer, "route", "add", "default", "via", routerSAddr},
		[]string{"ip", "netns", "exec", nsRouter, "sysctl", "-qw", "net.ipv4.ip_forward=1"})
	if err := mustAll(cmds...); err != nil {
		return err
	}
	return offloadsOff()
}

// offloadsOff turns off segmentation and receive offloads and checksum
// offload on all four veth ends: with them on, a capture holds 64 KB
// "segments" and unfinished checksums that no wire ever carried.
func offloadsOff() error {
	for _, x := range [][2]string{{nsClient, vethClient}, {nsRouter, vethRouterC}, {nsRouter, vethRouterS}, {nsServer, vethServer}} {
		if _, err := in(x[0], "ethtool", "-K", x[1], "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"); err != nil {
			return err
		}
	}
	return nil
}

// setMTU sets an interface's MTU in a namespace.
func setMTU(ns, dev string, mtu int) error {
	_, err := run("ip", "-n", ns, "link", "set", dev, "mtu", fmt.Sprint(mtu))
	return err
}

// iptables adds one rule in the router and returns it as written, for the
// manifest.
func iptables(rule ...string) (string, error) {
	_, err := in(nsRouter, append([]string{"iptables"}, rule...)...)
	return "iptables " + strings.Join(rule, " "), err
}
