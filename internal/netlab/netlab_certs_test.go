//go:build netlab

package main

import (
	"fmt"
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

var certChecks = map[string]func(c, s *capt){}
