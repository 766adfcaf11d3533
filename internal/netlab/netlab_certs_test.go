//go:build netlab

package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The certificate scenarios' checks (issue #25): with the key log tshark
// reads each connection's server Certificate (TLS 1.3's is encrypted) and
// must find the fault as designed, and the alert each client sent.
func init() {
	for name, check := range certChecks {
		checks[name] = check
	}
}

// The certificate scenarios' TCP streams, in the order the clients run.
const (
	streamTLS13 = iota
	streamTLS12
	streamCurl
	streamGnuTLS
	streamChromium // and after: Chromium's connections
)

// rowsKeys is rows with tshark decrypting by the key log.
func (c *capt) rowsKeys(filter string, fields ...string) [][]string {
	c.t.Helper()
	rows, err := tsharkFieldsKeys(c.file, c.keys, filter, append([]string{"frame.number"}, fields...)...)
	if err != nil {
		c.t.Fatal(err)
	}
	return rows
}

// serverCert is what tshark reads, with the key log, of the server's
// Certificate message in a stream: the certificates' lengths, their
// validity (notBefore, notAfter of each, in order), the printable strings
// of their names, their EKUs and DNS names, and the capture time of the
// frame.
type serverCert struct {
	lengths, times, names, ekus, dns []string
	at                               time.Time
}

func (c *capt) serverCert(stream int) *serverCert {
	c.t.Helper()
	rows := c.rowsKeys(fmt.Sprintf("tcp.stream == %d && %s && tls.handshake.type == 11", stream, fromServer),
		"tls.handshake.certificate_length", "x509af.utcTime", "x509sat.printableString", "x509ce.KeyPurposeId", "x509ce.dNSName", "frame.time_epoch")
	if len(rows) != 1 {
		c.t.Fatalf("%s stream %d: %d frames with the server's Certificate, want 1", c.file, stream, len(rows))
	}
	r := rows[0]
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	var sec, nsec int64
	fmt.Sscanf(r[6], "%d.%d", &sec, &nsec)
	return &serverCert{lengths: split(r[1]), times: split(r[2]), names: split(r[3]), ekus: split(r[4]), dns: split(r[5]), at: time.Unix(sec, nsec)}
}

// expired are the indexes of the certificates whose notAfter is before
// the frame's time.
func (sc *serverCert) expired() []int {
	var out []int
	for i := 1; i < len(sc.times); i += 2 {
		t, err := time.Parse("2006-01-02 15:04:05 (UTC)", sc.times[i])
		if err != nil || t.Before(sc.at) {
			out = append(out, i/2)
		}
	}
	return out
}

// certStreams are the four command-line clients' streams.
var certStreams = []int{streamTLS13, streamTLS12, streamCurl, streamGnuTLS}

// certBase: in both captures, each client's ClientHello names shop.test,
// streams 0, 2 and 3 are TLS 1.3 and stream 1 TLS 1.2, and the server's
// Certificate holds n certificates, none of them expired unless expired
// says which.
func certBase(x *capt, n int, expired ...int) {
	x.t.Helper()
	for _, st := range certStreams {
		on := fmt.Sprintf("tcp.stream == %d && ", st)
		x.want(on+clientHi+" && tls.handshake.extensions_server_name == \"shop.test\"", 1, 1)
		if st == streamTLS12 {
			x.want(on+serverHi+" && tls.handshake.extensions.supported_version == 0x0304", 0, 0)
			x.want(on+"tls.handshake.type == 14", 1, 1)
		} else {
			x.want(on+serverHi+" && tls.handshake.extensions.supported_version == 0x0304", 1, 1)
			x.want(on+fromServer+" && tls.handshake.type == 11", 0, 0) // encrypted
		}
		sc := x.serverCert(st)
		if len(sc.lengths) != n {
			x.t.Errorf("%s stream %d: the server's Certificate holds %d certificates, want %d", x.file, st, len(sc.lengths), n)
		}
		if got := fmt.Sprint(sc.expired()); got != fmt.Sprint(expired) && !(len(expired) == 0 && got == "[]") {
			x.t.Errorf("%s stream %d: certificates expired at the capture's time %s, want %v", x.file, st, got, expired)
		}
	}
}

// clientAlert: the client of stream sent one fatal alert desc (read with
// the key log: TLS 1.3 clients may send it encrypted).
func clientAlert(x *capt, stream, desc int) {
	x.t.Helper()
	x.wantKeys(fmt.Sprintf("tcp.stream == %d && %s && tls.alert_message.level == 2 && tls.alert_message.desc == %d", stream, fromClient, desc), 1, 1)
}

// noFinished: the client of stream never sent its Finished.
func noFinished(x *capt, stream int) {
	x.t.Helper()
	x.wantKeys(fmt.Sprintf("tcp.stream == %d && %s && tls.handshake.type == 20", stream, fromClient), 0, 0)
}

// staple: the server of stream stapled one OCSP response with certStatus
// (0 good, 1 revoked), in the clear for TLS 1.2 (CertificateStatus,
// type 22) and inside the encrypted Certificate for TLS 1.3.
func staple(x *capt, stream, certStatus int) {
	x.t.Helper()
	on := fmt.Sprintf("tcp.stream == %d && %s && ", stream, fromServer)
	x.wantKeys(on+fmt.Sprintf("ocsp.certStatus == %d", certStatus), 1, 1)
	if stream == streamTLS12 {
		x.want(on+"tls.handshake.type == 22", 1, 1)
	} else {
		x.want(on+"ocsp", 0, 0)
		x.wantKeys(on+"tls.handshake.type == 11 && tls.handshake.extensions_status_request_type == 1", 1, 1)
	}
}

// alerts are the fatal alerts the five clients sent, in stream order
// (s_client TLS 1.3, s_client TLS 1.2, curl, gnutls-cli, Chromium; 0:
// none, the handshake completed), as OpenSSL maps its verify errors
// (unknown_ca 48, certificate_expired 45, unsupported_certificate 43,
// bad_certificate 42 for a name mismatch), GnuTLS says bad_certificate
// (42) for all, Chromium certificate_unknown (46). curl checks the name
// and the staple only after its handshake.
func certAlerts(alerts ...int) func(x *capt) {
	return func(x *capt) {
		x.t.Helper()
		streams := append(append([]int{}, certStreams...), streamChromium)
		for i, a := range alerts {
			st := streams[i]
			if st == streamChromium && x.count("tcp.stream == 4") == 0 {
				x.t.Logf("%s: no Chromium connection", x.file)
				continue
			}
			if a == 0 {
				x.wantKeys(fmt.Sprintf("tcp.stream == %d && tls.alert_message.level == 2", st), 0, 0)
				x.wantKeys(fmt.Sprintf("tcp.stream == %d && %s && tls.handshake.type == 20", st, fromClient), 1, 1)
				continue
			}
			clientAlert(x, st, a)
			noFinished(x, st)
		}
	}
}

// certCase: both captures hold n certificates per Certificate (expired:
// which are expired), the alerts, and more.
func certCase(n int, expired []int, alerts []int, more ...func(x *capt)) func(c, s *capt) {
	return func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			certBase(x, n, expired...)
			certAlerts(alerts...)(x)
			for _, m := range more {
				m(x)
			}
		}
	}
}

// names: every server Certificate of the command-line clients' streams
// holds the printable string want (a CN) / the EKU / the DNS name.
func certHas(what string, get func(*serverCert) []string, want string, has bool) func(x *capt) {
	return func(x *capt) {
		x.t.Helper()
		for _, st := range certStreams {
			got := get(x.serverCert(st))
			found := false
			for _, g := range got {
				found = found || g == want
			}
			if found != has {
				x.t.Errorf("%s stream %d: %s %v, want %q present %v", x.file, st, what, got, want, has)
			}
		}
	}
}

func names(sc *serverCert) []string { return sc.names }
func ekus(sc *serverCert) []string  { return sc.ekus }
func dns(sc *serverCert) []string   { return sc.dns }

// staples: the command-line clients' servers stapled certStatus; the
// ClientHellos ask (status_request, extension 5).
func staples(certStatus int) func(x *capt) {
	return func(x *capt) {
		x.t.Helper()
		for _, st := range certStreams {
			x.want(fmt.Sprintf("tcp.stream == %d && %s && tls.handshake.extension.type == 5", st, clientHi), 1, 1)
			staple(x, st, certStatus)
		}
	}
}

// noStaple: asked for, never sent.
func noStaple(x *capt) {
	x.t.Helper()
	for _, st := range certStreams {
		x.want(fmt.Sprintf("tcp.stream == %d && %s && tls.handshake.extension.type == 5", st, clientHi), 1, 1)
	}
	x.wantKeys(fromServer+" && (ocsp || tls.handshake.type == 22 || tls.handshake.extensions_status_request_type)", 0, 0)
}

// staleNextUpdate: the staple's nextUpdate was before the frame that
// carried it, in every stream.
func staleNextUpdate(stale bool) func(x *capt) {
	return func(x *capt) {
		x.t.Helper()
		for _, st := range certStreams {
			rows := x.rowsKeys(fmt.Sprintf("tcp.stream == %d && ocsp.nextUpdate", st), "ocsp.nextUpdate", "frame.time_epoch")
			if len(rows) != 1 {
				x.t.Errorf("%s stream %d: %d frames with nextUpdate", x.file, st, len(rows))
				continue
			}
			next, err1 := time.Parse("Jan _2, 2006 15:04:05.000000000 MST", rows[0][1])
			at, err2 := strconv.ParseFloat(rows[0][2], 64)
			if err1 != nil || err2 != nil || (float64(next.Unix()) < at) != stale {
				x.t.Errorf("%s stream %d: nextUpdate %s, frame at %s: want stale %v", x.file, st, rows[0][1], rows[0][2], stale)
			}
		}
	}
}

// leafDates: in every stream of the command-line clients, the leaf's
// notBefore and notAfter against the frame's time are as ok says.
func leafDates(what string, ok func(notBefore, notAfter, at time.Time) bool) func(x *capt) {
	return func(x *capt) {
		x.t.Helper()
		for _, st := range certStreams {
			sc := x.serverCert(st)
			if len(sc.times) < 2 {
				x.t.Errorf("%s stream %d: leaf validity %v", x.file, st, sc.times)
				continue
			}
			from, err1 := time.Parse("2006-01-02 15:04:05 (UTC)", sc.times[0])
			until, err2 := time.Parse("2006-01-02 15:04:05 (UTC)", sc.times[1])
			if err1 != nil || err2 != nil || !ok(from, until, sc.at) {
				x.t.Errorf("%s stream %d: leaf valid %s to %s, frame at %s: want %s", x.file, st, sc.times[0], sc.times[1], sc.at.UTC(), what)
			}
		}
	}
}

const (
	decryptError           = 51
	unknownCA              = 48
	certificateExpired     = 45
	unsupportedCertificate = 43
	badCertificate         = 42
	certificateUnknown     = 46
)

var certChecks = map[string]func(c, s *capt){
	// One certificate: the leaf without its issuer.
	"cert-missing-intermediate": certCase(1, nil, []int{unknownCA, unknownCA, unknownCA, badCertificate, certificateUnknown},
		certHas("names", names, "tlsscope certlab intermediate", true), certHas("names", names, "tlsscope certlab root", false)),
	// Three: the root is sent, and is not the one the clients trust.
	"cert-untrusted-root": certCase(3, nil, []int{unknownCA, unknownCA, unknownCA, badCertificate, certificateUnknown},
		certHas("names", names, "tlsscope certlab root", true), certHas("names", names, "tlsscope certlab other root", false)),
	// The intermediate (certificate 1) expired before the capture.
	"cert-expired-intermediate": certCase(2, []int{1}, []int{certificateExpired, certificateExpired, certificateExpired, badCertificate, certificateUnknown},
		certHas("names", names, "tlsscope certlab expired intermediate", true)),
	"cert-wrong-usage": certCase(2, nil, []int{unsupportedCertificate, unsupportedCertificate, unsupportedCertificate, badCertificate, certificateUnknown},
		certHas("EKUs", ekus, "1.3.6.1.5.5.7.3.2", true), certHas("EKUs", ekus, "1.3.6.1.5.5.7.3.1", false)),
	"cert-name-mismatch": certCase(2, nil, []int{badCertificate, badCertificate, 0, badCertificate, certificateUnknown},
		certHas("DNS names", dns, "other.test", true), certHas("DNS names", dns, "shop.test", false)),
	"cert-ocsp-good":    certCase(2, nil, []int{0, 0, 0, 0, 0}, staples(0), staleNextUpdate(false)),
	"cert-ocsp-revoked": certCase(2, nil, []int{0, 0, 0, badCertificate, certificateUnknown}, staples(1)),
	// Chromium takes the stale response.
	"cert-ocsp-stale": certCase(2, nil, []int{0, 0, 0, badCertificate, 0}, staples(0), staleNextUpdate(true)),
	// Only GnuTLS honours must-staple.
	"cert-ocsp-not-stapled": certCase(2, nil, []int{0, 0, 0, badCertificate, 0}, noStaple),
	// The leaf is valid only from after the capture.
	"cert-not-yet-valid": certCase(2, nil, []int{badCertificate, badCertificate, badCertificate, badCertificate, certificateUnknown},
		certHas("names", names, "tlsscope certlab intermediate", true),
		leafDates("notBefore after the frame", func(from, _, at time.Time) bool { return from.After(at) })),
	// OpenSSL says decrypt_error for a signature that does not verify.
	"cert-bad-signature": certCase(2, nil, []int{decryptError, decryptError, decryptError, badCertificate, certificateUnknown},
		certHas("names", names, "tlsscope certlab intermediate", true), certHas("DNS names", dns, "shop.test", true)),
	// One certificate, issued by itself: no lab CA is named.
	"cert-self-signed": certCase(1, nil, []int{unknownCA, unknownCA, unknownCA, badCertificate, certificateUnknown},
		certHas("names", names, "tlsscope certlab intermediate", false), certHas("names", names, "tlsscope certlab root", false),
		certHas("DNS names", dns, "shop.test", true)),
	// Valid, for 10 more days: within 30 of the capture.
	"cert-expires-soon": certCase(2, nil, []int{0, 0, 0, 0, 0},
		leafDates("notAfter within 30 days after the frame", func(from, until, at time.Time) bool {
			return from.Before(at) && until.After(at) && until.Before(at.Add(30*24*time.Hour))
		})),
}

// oneClient: the capture holds one TLS connection, stream 0, to
// shop.test, TLS 1.3, whose server Certificate (read with the key log)
// holds n certificates (expired: which are expired), and nothing else:
// no other stream, no DNS, nothing to any other port.
func oneClient(x *capt, n int, expired ...int) {
	x.t.Helper()
	x.want("not arp && not (tcp.port == 443 && tcp.stream == 0)", 0, 0)
	x.want(clientHi, 1, 1)
	x.want(clientHi+" && tls.handshake.extensions_server_name == \"shop.test\"", 1, 1)
	x.want(serverHi+" && tls.handshake.extensions.supported_version == 0x0304", 1, 1)
	x.want(fromServer+" && tls.handshake.type == 11", 0, 0) // encrypted
	sc := x.serverCert(0)
	if len(sc.lengths) != n {
		x.t.Errorf("%s: the server's Certificate holds %d certificates, want %d", x.file, len(sc.lengths), n)
	}
	if got := sc.expired(); fmt.Sprint(got) != fmt.Sprint(expired) && !(len(expired) == 0 && len(got) == 0) {
		x.t.Errorf("%s: certificates expired at the capture's time %v, want %v", x.file, got, expired)
	}
}

// firefoxCase: Firefox's one connection, its server's Certificate of n
// certificates, and the fatal alert Firefox sent (encrypted: TLS 1.3)
// without its Finished; alert 0: none, Firefox sent its Finished, and
// closed with close_notify after the page.
func firefoxCase(n int, expired []int, alert int, more ...func(x *capt)) func(c, s *capt) {
	return func(c, s *capt) {
		for _, x := range []*capt{c, s} {
			oneClient(x, n, expired...)
			x.want(fromClient+" && tls.alert_message", 0, 0) // in clear: none
			if alert == 0 {
				x.wantKeys(fromClient+" && tls.alert_message.level == 2", 0, 0)
				x.wantKeys(fromClient+" && tls.handshake.type == 20", 1, 1)
				x.wantKeys(fromClient+" && tls.alert_message.level == 1 && tls.alert_message.desc == 0", 1, 1)
				x.wantKeys(fromServer+" && http.response.code == 200", 1, -1)
			} else {
				clientAlert(x, 0, alert)
				noFinished(x, 0)
			}
			for _, m := range more {
				m(x)
			}
		}
	}
}

// certHasOne: the one connection's server Certificate holds (or not) the
// printable string / EKU / DNS name want.
func certHasOne(what string, get func(*serverCert) []string, want string, has bool) func(x *capt) {
	return func(x *capt) {
		x.t.Helper()
		if got := get(x.serverCert(0)); slices.Contains(got, want) != has {
			x.t.Errorf("%s: %s %v, want %q present %v", x.file, what, got, want, has)
		}
	}
}

func init() {
	for name, check := range map[string]func(c, s *capt){
		"cert-firefox-missing-intermediate": firefoxCase(1, nil, unknownCA,
			certHasOne("names", names, "tlsscope certlab intermediate", true), certHasOne("names", names, "tlsscope certlab root", false)),
		"cert-firefox-untrusted-root": firefoxCase(3, nil, unknownCA,
			certHasOne("names", names, "tlsscope certlab root", true), certHasOne("names", names, "tlsscope certlab other root", false)),
		// NSS says unknown_ca for an expired issuer too.
		"cert-firefox-expired-intermediate": firefoxCase(2, []int{1}, unknownCA,
			certHasOne("names", names, "tlsscope certlab expired intermediate", true)),
		"cert-firefox-name-mismatch": firefoxCase(2, nil, badCertificate,
			certHasOne("DNS names", dns, "other.test", true), certHasOne("DNS names", dns, "shop.test", false)),
		"cert-firefox-valid": firefoxCase(2, nil, 0,
			certHasOne("DNS names", dns, "shop.test", true)),
		// Node sends no alert and no Finished: its FIN follows the server's
		// flight.
		"cert-node-missing-intermediate": func(c, s *capt) {
			for _, x := range []*capt{c, s} {
				oneClient(x, 1)
				x.wantKeys(fromClient+" && tls.alert_message", 0, 0)
				noFinished(x, 0)
				x.wantKeys(fromServer+" && tls.handshake.type == 20", 1, 1)
				x.want(fromClient+" && tcp.flags.fin == 1", 1, 1)
				x.want(fromClient+" && tcp.len > 0", 1, 1) // the ClientHello alone
			}
		},
	} {
		checks[name] = check
	}
}
