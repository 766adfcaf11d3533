package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The certificate scenarios (issue #25): servers whose chains real
// clients refuse, and stapled OCSP. Each has four verifying clients, in
// this order (Expect's names): openssl s_client TLS 1.3 ("main") and TLS
// 1.2 ("tls12") with -verify_return_error, curl ("curl") and gnutls-cli
// ("gnutls"), then headless Chromium ("chromium") where installed, each
// trusting only the CA file the scenario names and writing the key log,
// so that TLS 1.3 certificates can be read.
func init() {
	Scenarios = append(Scenarios, certScenarios...)
	Scenarios = append(Scenarios, firefoxScenarios...)
}

// certConns bounds the connections a certificate scenario's clients
// open: four, and Chromium's (one or two).
const certConns = 8

// certClients runs the four clients against a server that serves
// shop.test, trusting ca; status: each asks for a stapled OCSP response
// (s_client -status, curl --cert-status; gnutls-cli always asks).
func (r *Run) certClients(ca string, status bool) {
	for _, v := range []string{"-tls1_3", "-tls1_2"} {
		args := r.opensslClient(v, "-verify_return_error", "-CAfile", ca, "-verify_hostname", serverName, "-ign_eof")
		if status {
			args = append(args, "-status")
		}
		r.client(httpGet, 5*time.Second, args...)
	}
	curl := []string{"env", "SSLKEYLOGFILE=" + r.Keys, "curl", "-sS", "--http1.1", "--cacert", ca, "-o", "/dev/null", "-w", "%{http_code} %{ssl_verify_result}\n", "-m", "5", "--resolve", serverName + ":443:" + serverAddr}
	if status {
		curl = append(curl, "--cert-status")
	}
	r.client("", 8*time.Second, append(curl, "https://"+serverName+"/")...)
	gnutls := []string{"env", "SSLKEYLOGFILE=" + r.Keys, "gnutls-cli", "--x509cafile", ca, "--verify-hostname", serverName, "-p", fmt.Sprint(port), "--sni-hostname", serverName, serverAddr}
	r.clientSlow([]string{httpGet}, 500*time.Millisecond, 2*time.Second, 8*time.Second, gnutls...)
	r.chromium(ca)
}

// chromium loads https://shop.test/ in headless Chromium trusting ca (an
// NSS database in its own HOME, as Chromium on Linux reads user roots),
// writing the key log. Every other name resolves to nothing, so that no
// packet leaves for a DNS server or an AIA URL. Skipped when Chromium is
// not installed (the manifest then lists no Chromium client).
func (r *Run) chromium(ca string) {
	if _, err := exec.LookPath("chromium"); err != nil {
		return
	}
	home := filepath.Join(r.Tmp, "chromium-home")
	db := "sql:" + filepath.Join(home, ".pki", "nssdb")
	if err := os.MkdirAll(filepath.Join(home, ".pki", "nssdb"), 0o700); err != nil {
		r.Clients = append(r.Clients, Result{Cmd: "chromium", Exit: -2, Stderr: err.Error()})
		return
	}
	for _, c := range [][]string{{"certutil", "-d", db, "-N", "--empty-password"}, {"certutil", "-d", db, "-A", "-n", "netlab CA", "-t", "C,,", "-i", ca}} {
		if _, err := run(c[0], c[1:]...); err != nil {
			r.Clients = append(r.Clients, Result{Cmd: "chromium", Exit: -2, Stderr: err.Error()})
			return
		}
	}
	r.client("", 40*time.Second, "env", "HOME="+home, "SSLKEYLOGFILE="+r.Keys, "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(home, "profile"), "--host-resolver-rules=MAP "+serverName+" "+serverAddr+", MAP * ~NOTFOUND",
		"--enable-logging=stderr", "--v=0", "--dump-dom", "https://"+serverName+"/")
}

// certServer is openssl s_server -www for the four clients with set's
// leaf and the CAs it sends (none when set.CAs is "").
func (r *Run) certServer(set certSet, extra ...string) error {
	args := []string{"openssl", "s_server", "-accept", fmt.Sprint(port), "-cert", set.Leaf, "-key", set.Key}
	if set.CAs != "" {
		args = append(args, "-cert_chain", set.CAs)
	}
	args = append(args, "-www", "-naccept", fmt.Sprint(certConns))
	return r.server(port, append(args, extra...)...)
}

// certNginx is nginx with TLS 1.2 and 1.3 serving set's chain, stapling
// the DER OCSP response in staple when it is not "" (ssl_stapling_file:
// no responder is asked).
func (r *Run) certNginx(set certSet, staple string) error {
	conf := nginxConf(r.Tmp, set)
	conf = replaceOnce(conf, "ssl_protocols TLSv1.3;", "ssl_protocols TLSv1.2 TLSv1.3;")
	if staple != "" {
		conf = replaceOnce(conf, "location /", fmt.Sprintf("ssl_stapling on;\n        ssl_stapling_file %s;\n        location /", staple))
	}
	file := filepath.Join(r.Tmp, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return err
	}
	return r.server(port, "nginx", "-e", "stderr", "-p", r.Tmp, "-c", file)
}

// replaceOnce replaces the one occurrence of old in s.
func replaceOnce(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("netlab: no " + old + " in the nginx configuration")
	}
	return strings.Replace(s, old, new, 1)
}

// certExpect is what tlsscope must say of the five clients' connections
// (main, tls12, curl, gnutls, chromium), the same from both sides: each
// "outcome" or "outcome finding,finding".
func certExpect(each ...string) map[string]ClientServer {
	m := map[string]ClientServer{}
	for i, e := range each {
		f := strings.Fields(e)
		v := Vantage{Outcome: f[0]}
		if len(f) > 1 {
			v.Findings = strings.Split(f[1], ",")
		}
		m[[]string{"main", "tls12", "curl", "gnutls", "chromium"}[i]] = ClientServer{v, v}
	}
	return m
}

// certCauses is what tlsscope must say of the five clients' connections
// (main, tls12, curl, gnutls, chromium), the same from both sides, judged
// against the lab's root: the validation status, the finding, and how each
// verdict begins (its first word is the outcome).
func certCauses(status, finding string, verdicts ...string) map[string]ClientServer {
	m := map[string]ClientServer{}
	for i, verdict := range verdicts {
		v := Vantage{Outcome: strings.TrimSuffix(strings.Fields(verdict)[0], ":"), Status: status, Verdict: verdict}
		if finding != "" {
			v.Findings = []string{finding}
		}
		m[[]string{"main", "tls12", "curl", "gnutls", "chromium"}[i]] = ClientServer{v, v}
	}
	return m
}

var certScenarios = []Scenario{
	{
		Name:   "cert-missing-intermediate",
		Notes:  "OpenSSL (s_client, curl) sends unknown_ca, gnutls-cli bad_certificate, Chromium certificate_unknown (after trying the AIA URL, which resolves to nothing) and opens a second connection that ends alike. OpenSSL's TLS 1.3 alert goes in the clear.",
		Doc:    "openssl s_server -www sends its leaf (shop.test, issued by \"tlsscope certlab intermediate\", whose AIA caIssuers names a URL no one fetches) without the intermediate; the clients trust only the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certServer(r.Lab.LeafOnly) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certExpect("failed", "failed", "failed", "failed", "failed"),
	},
	{
		Name:   "cert-untrusted-root",
		Notes:  "The same alerts as for a missing intermediate: OpenSSL's unknown_ca (\"self-signed certificate in certificate chain\"), gnutls-cli's bad_certificate, Chromium's certificate_unknown.",
		Doc:    "nginx (TLS 1.2 and 1.3) sends the whole chain, leaf, intermediate and root \"tlsscope certlab root\"; the clients trust only another root (\"tlsscope certlab other root\").",
		Stacks: []string{"nginx", "openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certNginx(r.Lab.FullChain, "") },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.OtherRoot, false)
		},
		Expect: certExpect("failed", "failed", "failed", "failed", "failed"),
	},
	{
		Name:   "cert-expired-intermediate",
		Notes:  "OpenSSL sends certificate_expired; gnutls-cli bad_certificate; Chromium certificate_unknown.",
		Doc:    "openssl s_server -www sends a leaf valid at the capture's time and its issuer \"tlsscope certlab expired intermediate\", which expired 30 days before the capture; the clients trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certServer(r.Lab.ExpiredIssuer) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certExpect("failed certificate_expired", "failed certificate_expired", "failed certificate_expired", "failed certificate_expired", "failed certificate_expired"),
	},
	{
		Name:   "cert-wrong-usage",
		Notes:  "OpenSSL sends unsupported_certificate (\"unsuitable certificate purpose\"); gnutls-cli bad_certificate; Chromium certificate_unknown.",
		Doc:    "nginx (TLS 1.2 and 1.3) sends a leaf for shop.test whose extended key usage is clientAuth only, and its intermediate; the clients trust the lab's root.",
		Stacks: []string{"nginx", "openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certNginx(r.Lab.ClientAuth, "") },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certExpect("failed", "failed", "failed", "failed", "failed"),
	},
	{
		Name:   "cert-name-mismatch",
		Notes:  "s_client sends bad_certificate; curl checks the name only after its handshake, which completes, then closes (exit 60); gnutls-cli bad_certificate; Chromium certificate_unknown.",
		Doc:    "openssl s_server -www sends a leaf for other.test only (and its intermediate) to clients that ask for shop.test (SNI, and -verify_hostname / --verify-hostname); the clients trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certServer(r.Lab.OtherName) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certExpect("failed name_mismatch", "failed name_mismatch", "complete name_mismatch", "failed name_mismatch", "failed name_mismatch"),
	},
	{
		Name:   "cert-ocsp-good",
		Notes:  "All five take it. nginx rather than s_server: Chromium, which completes here, loads s_server -www's long status page, and the capture would pass 60 KB.",
		Doc:    "nginx (TLS 1.2 and 1.3, ssl_stapling_file) staples a good OCSP response for its leaf (made by openssl ocsp, signed by the intermediate, nextUpdate in 7 days) to the clients that ask (s_client -status, curl --cert-status, gnutls-cli, Chromium); the clients trust the lab's root.",
		Stacks: []string{"nginx", "openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certNginx(r.Lab.Good, r.Lab.OCSPGood) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, true)
		},
		Expect: certExpect("complete", "complete", "complete", "complete", "complete"),
	},
	{
		Name:   "cert-ocsp-revoked",
		Notes:  "s_client prints the revoked status and goes on; curl completes its handshake, then refuses (exit 91, \"SSL certificate revocation reason: keyCompromise\"); gnutls-cli (bad_certificate) and Chromium (certificate_unknown) refuse in the handshake.",
		Doc:    "openssl s_server -www -status_file staples an OCSP response saying its leaf is revoked (keyCompromise, made by openssl ocsp) to the clients that ask for it; the clients trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certServer(r.Lab.Good, "-status_file", r.Lab.OCSPRevoked) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, true)
		},
		Expect: certExpect("complete ocsp_revoked", "complete ocsp_revoked", "complete ocsp_revoked", "failed ocsp_revoked", "failed ocsp_revoked"),
	},
	{
		Name:   "cert-ocsp-stale",
		Notes:  "s_client takes it; curl completes its handshake, then refuses (exit 91, \"OCSP response has expired\"); gnutls-cli refuses in the handshake (bad_certificate); Chromium takes it.",
		Doc:    "openssl s_server -www -status_file staples a good OCSP response for its leaf whose nextUpdate was 3 days before the capture (thisUpdate 10 days before; made by golang.org/x/crypto/ocsp, as openssl ocsp dates only ahead) to the clients that ask for it; the clients trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certServer(r.Lab.Good, "-status_file", r.Lab.OCSPStale) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, true)
		},
		Expect: certExpect("complete ocsp_stale", "complete ocsp_stale", "complete ocsp_stale", "failed ocsp_stale", "complete ocsp_stale"),
	},
	{
		Name:   "cert-ocsp-not-stapled",
		Notes:  "s_client says \"OCSP response: no response sent\" and goes on; curl completes its handshake, then refuses (exit 91, \"No OCSP response received\"); only gnutls-cli honours must-staple in the handshake (bad_certificate); Chromium takes it.",
		Doc:    "openssl s_server -www without a status file sends a leaf carrying the TLS Feature extension status_request (must-staple, RFC 7633) and its intermediate; the clients ask for a staple that never comes (s_client -status, curl --cert-status, gnutls-cli); they trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Setup:  func(r *Run) error { return r.certServer(r.Lab.MustStaple) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, true)
		},
		Expect: certExpect("complete ocsp_not_stapled", "complete ocsp_not_stapled", "complete ocsp_not_stapled", "failed ocsp_not_stapled", "complete ocsp_not_stapled"),
	},
	{
		Name:   "cert-not-yet-valid",
		Notes:  "OpenSSL (s_client, curl) sends bad_certificate (\"certificate is not yet valid\"); gnutls-cli bad_certificate (\"The certificate chain uses not yet valid certificate\"); Chromium certificate_unknown (ERR_CERT_DATE_INVALID).",
		Doc:    "openssl s_server -www sends a leaf for shop.test valid only from 30 days after the capture, and its intermediate; the clients trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Roots:  "lab",
		Setup:  func(r *Run) error { return r.certServer(r.Lab.NotYetValid) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certCauses("not_yet_valid", "certificate_not_yet_valid",
			`failed: client alert bad_certificate: the server's certificate "shop.test" is valid only from `,
			`failed: client alert bad_certificate: the server's certificate "shop.test" is valid only from `,
			`failed: client alert bad_certificate: the server's certificate "shop.test" is valid only from `,
			`failed: client alert bad_certificate: the server's certificate "shop.test" is valid only from `,
			`failed: client alert certificate_unknown: the server's certificate "shop.test" is valid only from `),
	},
	{
		Name:   "cert-bad-signature",
		Notes:  "OpenSSL (s_client, curl) sends decrypt_error (s_client: \"certificate signature failure\"; curl exits 35: \"asn1 encoding routines::EVP lib\"); gnutls-cli bad_certificate (\"The signature in the certificate is invalid\"); Chromium certificate_unknown (ERR_CERT_AUTHORITY_INVALID).",
		Doc:    "openssl s_server -www sends a leaf for shop.test whose signature (by the intermediate, its last byte flipped) does not verify with the intermediate's key, and the intermediate; the clients trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Roots:  "lab",
		Setup:  func(r *Run) error { return r.certServer(r.Lab.BadSignature) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certCauses("bad_signature", "bad_signature",
			`failed: client alert decrypt_error: the server's certificate "shop.test" does not verify with the key of its issuer`,
			`failed: client alert decrypt_error: the server's certificate "shop.test" does not verify with the key of its issuer`,
			`failed: client alert decrypt_error: the server's certificate "shop.test" does not verify with the key of its issuer`,
			`failed: client alert bad_certificate: the server's certificate "shop.test" does not verify with the key of its issuer`,
			`failed: client alert certificate_unknown: the server's certificate "shop.test" does not verify with the key of its issuer`),
	},
	{
		Name:   "cert-self-signed",
		Notes:  "OpenSSL (s_client, curl) sends unknown_ca (\"self-signed certificate\"); gnutls-cli bad_certificate (\"The certificate issuer is unknown\"); Chromium certificate_unknown (ERR_CERT_AUTHORITY_INVALID).",
		Doc:    "openssl s_server -www sends a self-signed leaf for shop.test (no CA, not in the clients' store) alone; the clients trust the lab's root.",
		Stacks: []string{"openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Roots:  "lab",
		Setup:  func(r *Run) error { return r.certServer(r.Lab.SelfSigned) },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certCauses("self_signed", "self_signed",
			`failed: client alert unknown_ca: the server's certificate "shop.test" is self-signed`,
			`failed: client alert unknown_ca: the server's certificate "shop.test" is self-signed`,
			`failed: client alert unknown_ca: the server's certificate "shop.test" is self-signed`,
			`failed: client alert bad_certificate: the server's certificate "shop.test" is self-signed`,
			`failed: client alert certificate_unknown: the server's certificate "shop.test" is self-signed`),
	},
	{
		Name:   "cert-expires-soon",
		Notes:  "All five take it. nginx rather than s_server, as for cert-ocsp-good: Chromium loads the page.",
		Doc:    "nginx (TLS 1.2 and 1.3) sends a leaf for shop.test that expires 10 days after the capture, and its intermediate; the clients trust the lab's root.",
		Stacks: []string{"nginx", "openssl", "curl", "gnutls", "chromium"},
		KeyLog: true,
		Roots:  "lab",
		Setup:  func(r *Run) error { return r.certNginx(r.Lab.ExpiresSoon, "") },
		Traffic: func(r *Run) {
			r.certClients(r.Lab.Root, false)
		},
		Expect: certCauses("valid", "certificate_expires_soon", "complete", "complete", "complete", "complete", "complete"),
	},
}

// firefoxScenario: Firefox ESR headless alone as the client (firefox.go)
// of nginx (TLS 1.2 and 1.3) serving the certificate lab's chains; each
// pins tlsscope's validation status and the cause its verdict names.
func firefoxScenario(name, doc, notes string, set func(*certLab) certSet, root func(*certLab) string, roots string, want Vantage) Scenario {
	return Scenario{
		Name: name, Doc: doc, Notes: notes,
		Stacks: []string{"nginx", "firefox"},
		KeyLog: true,
		Roots:  roots,
		Setup:  func(r *Run) error { return r.certNginx(set(r.Lab), "") },
		Traffic: func(r *Run) {
			r.firefox(root(r.Lab))
		},
		Expect: map[string]ClientServer{"firefox": {want, want}},
	}
}

func labRoot(l *certLab) string   { return l.Root }
func otherRoot(l *certLab) string { return l.OtherRoot }

// firefoxScenarios are Firefox's, and one of Node.js, which refuses a
// chain by closing the connection.
var firefoxScenarios = []Scenario{
	firefoxScenario("cert-firefox-missing-intermediate",
		"nginx sends the leaf for shop.test without its intermediate (\"tlsscope certlab intermediate\"; AIA caIssuers names a URL Firefox does not fetch); Firefox's profile trusts the lab's root.",
		"Firefox sends unknown_ca (encrypted, TLS 1.3) and shows SEC_ERROR_UNKNOWN_ISSUER; it fetches no AIA URL.",
		func(l *certLab) certSet { return l.LeafOnly }, labRoot, "lab",
		Vantage{Outcome: "failed", Findings: []string{"chain_incomplete"}, Status: "missing_intermediate",
			Verdict: `failed: client alert unknown_ca: the server sent no intermediate for its leaf (issuer "tlsscope certlab intermediate")`}),
	firefoxScenario("cert-firefox-untrusted-root",
		"nginx sends the whole chain, leaf, intermediate and root \"tlsscope certlab root\"; Firefox's profile trusts only another root (\"tlsscope certlab other root\"). tlsscope judges against a store without roots.",
		"Firefox sends unknown_ca and shows SEC_ERROR_UNKNOWN_ISSUER, as for a missing intermediate.",
		func(l *certLab) certSet { return l.FullChain }, otherRoot, "empty",
		Vantage{Outcome: "failed", Findings: []string{"untrusted_root"}, Status: "untrusted_root",
			Verdict: `failed: client alert unknown_ca: the server's certificate 2 ("tlsscope certlab root") ends the chain and is no root of the store`}),
	firefoxScenario("cert-firefox-expired-intermediate",
		"nginx sends a leaf valid at the capture's time and its issuer \"tlsscope certlab expired intermediate\", which expired 30 days before the capture; Firefox's profile trusts the lab's root.",
		"Firefox sends unknown_ca (not certificate_expired) and shows SEC_ERROR_EXPIRED_ISSUER_CERTIFICATE.",
		func(l *certLab) certSet { return l.ExpiredIssuer }, labRoot, "lab",
		Vantage{Outcome: "failed", Findings: []string{"certificate_expired"}, Status: "expired",
			Verdict: `failed: client alert unknown_ca: the server's certificate 1 ("tlsscope certlab expired intermediate") expired on `}),
	firefoxScenario("cert-firefox-name-mismatch",
		"nginx sends a leaf for other.test only (and its intermediate) to Firefox, which asks for shop.test; its profile trusts the lab's root.",
		"Firefox sends bad_certificate and shows SSL_ERROR_BAD_CERT_DOMAIN.",
		func(l *certLab) certSet { return l.OtherName }, labRoot, "lab",
		Vantage{Outcome: "failed", Findings: []string{"name_mismatch"}, Status: "name_mismatch",
			Verdict: `failed: client alert bad_certificate: the server's certificate "other.test" does not cover "shop.test"`}),
	firefoxScenario("cert-firefox-valid",
		"nginx sends the leaf for shop.test and its intermediate; Firefox's profile trusts the lab's root, and Firefox loads the page.",
		"Firefox loads the page (\"ok\") and closes with close_notify; it asks for a staple nginx does not send.",
		func(l *certLab) certSet { return l.Good }, labRoot, "lab",
		Vantage{Outcome: "complete", Status: "valid", Verdict: "complete"}),
	{
		Name:   "cert-node-missing-intermediate",
		Notes:  "Node (TLS 1.3) reads the server's flight and closes (FIN) without an alert or its Finished (\"UNABLE_TO_VERIFY_LEAF_SIGNATURE\"); s_server answers decode_error, and Node's stack a reset.",
		Doc:    "openssl s_server -www sends its leaf for shop.test without the intermediate to Node.js (https.get, the lab's root added by NODE_EXTRA_CA_CERTS, the key log from the agent's keylog events).",
		Stacks: []string{"openssl", "node"},
		KeyLog: true,
		Roots:  "lab",
		Setup:  func(r *Run) error { return r.certServer(r.Lab.LeafOnly) },
		Traffic: func(r *Run) {
			r.node(r.Lab.Root)
		},
		Expect: map[string]ClientServer{"node": {nodeWant, nodeWant}},
	},
}

// nodeWant: Node's OpenSSL reads the server's flight, Node refuses the
// chain and closes (FIN) without an alert and without its Finished.
var nodeWant = Vantage{Outcome: "closed", Findings: []string{"chain_incomplete"}, Status: "missing_intermediate",
	Verdict: `closed by client after Finished: the server sent no intermediate for its leaf (issuer "tlsscope certlab intermediate")`}
