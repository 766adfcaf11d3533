package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Firefox ESR as the client of a certificate scenario (issue #25): a
// fresh profile whose NSS database trusts only the root the scenario
// names (and Firefox's built-in roots, which no lab certificate chains
// to), kept off the network by its prefs, with every name resolving to
// the lab's server. netlab.py drives it by Marionette and reads the
// error its page names (SEC_ERROR_UNKNOWN_ISSUER, ...), which the
// manifest keeps as the client's own words. Firefox writes the key log
// named by SSLKEYLOGFILE.

// firefoxPrefs keep Firefox's own traffic out of the captures: with
// every name resolving to the server, any request of its background
// services would reach the lab's server.
var firefoxPrefs = []struct {
	name  string
	value any
}{
	{"network.dns.forceResolve", serverAddr},
	{"network.trr.mode", 5}, // no DNS over HTTPS
	{"network.dns.disablePrefetch", true},
	{"network.prefetch-next", false},
	{"network.http.speculative-parallel-limit", 0},
	{"network.http.http3.enable", false},
	{"browser.urlbar.speculativeConnect.enabled", false},
	{"network.captive-portal-service.enabled", false},
	{"network.connectivity-service.enabled", false},
	{"toolkit.telemetry.enabled", false},
	{"toolkit.telemetry.server", ""},
	{"datareporting.healthreport.uploadEnabled", false},
	{"datareporting.policy.dataSubmissionEnabled", false},
	{"datareporting.usage.uploadEnabled", false},
	{"browser.ping-centre.telemetry", false},
	{"browser.safebrowsing.malware.enabled", false},
	{"browser.safebrowsing.phishing.enabled", false},
	{"browser.safebrowsing.downloads.enabled", false},
	{"browser.safebrowsing.blockedURIs.enabled", false},
	{"browser.safebrowsing.update.enabled", false},
	{"app.update.enabled", false},
	{"app.update.auto", false},
	{"app.normandy.enabled", false},
	// Honoured only with MOZ_REMOTE_SETTINGS_DEVTOOLS=1 in the
	// environment: without it Firefox fetches its remote settings from
	// firefox.settings.services.mozilla.com, here the lab's server.
	{"services.settings.server", "data:,"},
	// No intermediates preloaded from Mozilla's remote settings, no CRLite:
	// the chain is judged on what the server sent.
	{"security.remote_settings.intermediates.enabled", false},
	{"security.remote_settings.crlite_filters.enabled", false},
	{"security.certerrors.mitm.priming.enabled", false},
	// No OCSP requests to the leaves' responder URL (no such host).
	{"security.OCSP.enabled", 0},
	{"browser.region.network.url", ""},
	{"browser.region.update.enabled", false},
	{"geo.provider.network.url", ""},
	{"extensions.update.enabled", false},
	{"extensions.getAddons.cache.enabled", false},
	{"extensions.blocklist.enabled", false},
	{"media.gmp-manager.url", ""},
	{"dom.push.connection.enabled", false},
	{"browser.newtabpage.enabled", false},
	{"browser.startup.page", 0},
	{"browser.startup.homepage_override.mstone", "ignore"},
	{"browser.shell.checkDefaultBrowser", false},
	{"browser.aboutwelcome.enabled", false},
	{"marionette.port", 2828},
}

// userJS is firefoxPrefs as a profile's user.js.
func userJS() string {
	var b strings.Builder
	for _, p := range firefoxPrefs {
		v := fmt.Sprint(p.value)
		if s, ok := p.value.(string); ok {
			v = fmt.Sprintf("%q", s)
		}
		fmt.Fprintf(&b, "user_pref(%q, %s);\n", p.name, v)
	}
	return b.String()
}

// firefox loads https://shop.test/ in headless Firefox trusting ca.
func (r *Run) firefox(ca string) {
	fail := func(err error) {
		r.Clients = append(r.Clients, Result{Cmd: "firefox-esr", Exit: -2, Stderr: err.Error()})
	}
	if _, err := exec.LookPath("firefox-esr"); err != nil {
		fail(err)
		return
	}
	home := filepath.Join(r.Tmp, "firefox-home")
	profile := filepath.Join(home, "profile")
	if err := os.MkdirAll(profile, 0o700); err != nil {
		fail(err)
		return
	}
	db := "sql:" + profile
	for _, c := range [][]string{{"certutil", "-N", "-d", db, "--empty-password"}, {"certutil", "-A", "-d", db, "-n", "labroot", "-t", "C,,", "-i", ca}} {
		if _, err := run(c[0], c[1:]...); err != nil {
			fail(err)
			return
		}
	}
	if err := os.WriteFile(filepath.Join(profile, "user.js"), []byte(userJS()), 0o600); err != nil {
		fail(err)
		return
	}
	r.client("", 60*time.Second, append([]string{"env", "HOME=" + home, "MOZ_REMOTE_SETTINGS_DEVTOOLS=1", "SSLKEYLOGFILE=" + r.Keys}, r.py("firefox", profile, "https://"+serverName+"/", "40")...)...)
}

// nodeClient is Node.js's https.get of https://shop.test/ (at the
// server's address, SNI shop.test) trusting ca besides its own roots
// (NODE_EXTRA_CA_CERTS), writing the key log from the agent's keylog
// events. Node's TLS client checks the chain only after OpenSSL's
// handshake is done, so that it closes without an alert.
const nodeClient = `const https = require("https"), fs = require("fs");
const agent = new https.Agent({ keepAlive: false });
agent.on("keylog", (line) => fs.appendFileSync(process.env.KEYLOG, line));
const req = https.get({ host: process.argv[1], servername: process.argv[2], headers: { Host: process.argv[2] }, path: "/", agent }, (res) => {
  console.log("node: " + res.statusCode);
  res.resume();
  res.on("end", () => process.exit(0));
});
req.on("error", (e) => { console.error("node: " + e.code + ": " + e.message); process.exit(1); });
req.setTimeout(5000, () => req.destroy(new Error("timeout")));
`

// node runs nodeClient trusting ca.
func (r *Run) node(ca string) {
	r.client("", 10*time.Second, "env", "NODE_EXTRA_CA_CERTS="+ca, "KEYLOG="+r.Keys, "node", "-e", nodeClient, serverAddr, serverName)
}
