package decoder

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/ocsp"
)

// ocspFixture is a CA and a leaf, and OCSP responses about the leaf made
// by golang.org/x/crypto/ocsp.
func ocspFixture(t *testing.T, extra ...pkix.Extension) (ca, leaf *x509.Certificate, key *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "OCSP test CA"}, NotBefore: t0, NotAfter: t0.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(der)
	lt := &x509.Certificate{SerialNumber: big.NewInt(0x4242), Subject: pkix.Name{CommonName: "shop.test"}, DNSNames: []string{"shop.test"},
		NotBefore: t0, NotAfter: t0.Add(90 * 24 * time.Hour), ExtraExtensions: extra}
	der, err = x509.CreateCertificate(rand.Reader, lt, ca, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ = x509.ParseCertificate(der)
	return ca, leaf, key
}

func TestParseOCSPResponse(t *testing.T) {
	ca, leaf, key := ocspFixture(t)
	make := func(r ocsp.Response) []byte {
		r.SerialNumber, r.ThisUpdate, r.NextUpdate = leaf.SerialNumber, t0, t0.Add(7*24*time.Hour)
		der, err := ocsp.CreateResponse(ca, ca, r, key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	for _, tc := range []struct {
		name string
		der  []byte
		want OCSPResponse
	}{
		{"good", make(ocsp.Response{Status: ocsp.Good}), OCSPResponse{Status: "good", Serial: "4242"}},
		{"revoked", make(ocsp.Response{Status: ocsp.Revoked, RevokedAt: t0.Add(-time.Hour), RevocationReason: ocsp.KeyCompromise}),
			OCSPResponse{Status: "revoked", Serial: "4242", RevokedAt: t0.Add(-time.Hour), RevocationReason: "keyCompromise"}},
		{"unknown", make(ocsp.Response{Status: ocsp.Unknown}), OCSPResponse{Status: "unknown", Serial: "4242"}},
		// RFC 6960 §4.2.1: a response with no status of the certificate.
		{"tryLater", ocsp.TryLaterErrorResponse, OCSPResponse{Error: "response status try later"}},
		{"garbage", []byte{0x30, 0x03, 0x0a, 0x01}, OCSPResponse{Error: "x"}},
	} {
		got := ParseOCSPResponse(tc.der)
		if got.Status != tc.want.Status || got.Serial != tc.want.Serial || got.RevocationReason != tc.want.RevocationReason || !got.RevokedAt.Equal(tc.want.RevokedAt) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
		if (got.Error != "") != (tc.want.Error != "") || tc.want.Error != "x" && got.Error != tc.want.Error {
			t.Errorf("%s: error %q, want %q", tc.name, got.Error, tc.want.Error)
		}
		if got.Status != "" && (!got.ThisUpdate.Equal(t0) || !got.NextUpdate.Equal(t0.Add(7*24*time.Hour)) || got.Responder != "CN=OCSP test CA") {
			t.Errorf("%s: this %v next %v responder %q", tc.name, got.ThisUpdate, got.NextUpdate, got.Responder)
		}
	}
}

// certificateStatus is a CertificateStatus body (RFC 6066 §8).
func certificateStatus(typ uint8, resp []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(resp) })
	return b.BytesOrPanic()
}

func TestReadCertificateStatus(t *testing.T) {
	resp := []byte{0x30, 0x03, 0x0a, 0x01, 0x00}
	if der, ok := readCertificateStatus(certificateStatus(1, resp)); !ok || string(der) != string(resp) {
		t.Errorf("ocsp: %x %v", der, ok)
	}
	for name, b := range map[string][]byte{
		"ocsp_multi (RFC 6961)": certificateStatus(2, resp),
		"empty response":        certificateStatus(1, nil),
		"trailing byte":         append(certificateStatus(1, resp), 0),
		"short":                 certificateStatus(1, resp)[:6],
		"nothing":               nil,
	} {
		if _, ok := readCertificateStatus(b); ok {
			t.Errorf("%s: read", name)
		}
	}
}

// tls13Certificate is a TLS 1.3 Certificate message (RFC 8446 §4.4.2)
// whose entries have the extensions given.
func tls13Certificate(certs [][]byte, exts [][]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typeCertificate)
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {}) // certificate_request_context
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for i, c := range certs {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c) })
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(exts[i]) })
			}
		})
	})
	return b.BytesOrPanic()
}

func extension(typ uint16, data []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint16(typ)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(data) })
	return b.BytesOrPanic()
}

func TestCertificateEntryStatus(t *testing.T) {
	resp := []byte{0x30, 0x03, 0x0a, 0x01, 0x00}
	sct := extension(18, []byte{0, 0})
	staple := extension(extStatusRequest, certificateStatus(1, resp))
	cert := []byte{0x30, 0x00}
	for _, tc := range []struct {
		name   string
		exts   [][]byte
		ok     bool
		status bool
	}{
		{"staple on the leaf, after an SCT list", [][]byte{append(sct, staple...), nil}, true, true},
		{"no extensions", [][]byte{nil, nil}, true, false},
		// Only the leaf's counts (RFC 8446 §4.4.2.1 allows them on others).
		{"staple on the intermediate only", [][]byte{nil, staple}, true, false},
		{"malformed staple", [][]byte{extension(extStatusRequest, []byte{1, 0, 0}), nil}, false, false},
		{"extension overruns", [][]byte{staple[:len(staple)-1], nil}, false, false},
	} {
		var m certificateMsg
		ok := m.unmarshal(tls13Certificate([][]byte{cert, cert}, tc.exts), true)
		if ok != tc.ok || (m.status != nil) != tc.status {
			t.Errorf("%s: ok %v status %x, want ok %v status %v", tc.name, ok, m.status, tc.ok, tc.status)
		}
		if tc.status && string(m.status) != string(resp) {
			t.Errorf("%s: status %x", tc.name, m.status)
		}
	}
}

func TestMustStaple(t *testing.T) {
	for _, tc := range []struct {
		name  string
		value []byte
		want  bool
	}{
		{"status_request", []byte{0x30, 0x03, 0x02, 0x01, 0x05}, true},
		{"status_request_v2 and status_request", []byte{0x30, 0x06, 0x02, 0x01, 0x11, 0x02, 0x01, 0x05}, true},
		{"status_request_v2 only", []byte{0x30, 0x03, 0x02, 0x01, 0x11}, false},
		{"not a sequence", []byte{0x02, 0x01, 0x05}, false},
	} {
		_, leaf, _ := ocspFixture(t, pkix.Extension{Id: oidTLSFeature, Value: tc.value})
		if got := mustStaple(leaf); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if got := ParseCertificate(leaf.Raw).MustStaple; got != tc.want {
			t.Errorf("%s: Certificate.MustStaple %v, want %v", tc.name, got, tc.want)
		}
	}
}

// certificateStatusRevoked is the server's CertificateStatus message (TLS
// 1.2, handshake type 22, header included) of stream 1 of
// testdata/netlab/cert-ocsp-revoked.client.pcap, in frames 33 and 35
// (reassembled from the records of the server's flight): openssl
// s_server -status_file with a response made by openssl ocsp. tshark
// 4.0.17 reads it as certStatus revoked (1), revocationReason
// keyCompromise (1), thisUpdate 2026-12-08 00:42:39 UTC, nextUpdate
// 2026-12-15 00:42:39 UTC, signed by the lab's intermediate.
var certificateStatusRevoked = mustHex("1600032d01000329308203250a0100a082031e3082031a06092b06010505073001010482030b308203073081d3a144304231183016060355040a130f746c7373636f7065206e65746c6162312630240603550403131d746c7373636f706520636572746c616220696e7465726d656469617465180f32303236313230383030343233395a307a3078303a300906052b0e03021a0500041432715a45c925c7b5a2e04c1b4a8b6c6dc4b227320414df0e4c17b4911901c5d315a9d7bf6d922e2f3f8a020130a116180f32303236313230373030343233395aa0030a0101180f32303236313230383030343233395aa011180f32303236313231353030343233395a300a06082a8648ce3d0403020348003045022100d149f0028703685631787caa85b3bc789601d325e33f69343a09d409b17e65f802201d58eb3f99e122ca795497343ab55f2ea9c1d8eb32d4f556980d86eb613fe6a1a08201d7308201d3308201cf30820174a003020102020121300a06082a8648ce3d040302303a31183016060355040a130f746c7373636f7065206e65746c6162311e301c06035504031315746c7373636f706520636572746c616220726f6f74301e170d3235313230383030343233395a170d3331313230373030343233395a304231183016060355040a130f746c7373636f7065206e65746c6162312630240603550403131d746c7373636f706520636572746c616220696e7465726d6564696174653059301306072a8648ce3d020106082a8648ce3d030107034200046f8c292c5e08b48b29445467a4f05c6496ce479f4138827a04336afdefcd603b40a007349dd8e84f2f84c46a152c05b5b69d2962d97823193f0e2be8c5185c8ea3633061300e0603551d0f0101ff040403020186300f0603551d130101ff040530030101ff301d0603551d0e04160414c149716a0d54cf2e0a34284fe9e432cc908a934b301f0603551d230418301680143908eda1e39c0856b501479906b41d786421ef04300a06082a8648ce3d0403020349003046022100cf2db1a8eac11b907e043e9fe21b75b439ad5ff409bc7dad65196c3d6ff04e6d022100a2ff43981cab90b23e86b4215ff1521a18ccebc27b632321488eb743a2daf27a")

func TestCertificateStatusFromOpenSSL(t *testing.T) {
	msg := certificateStatusRevoked
	if msg[0] != typeCertificateStatus {
		t.Fatalf("type %d", msg[0])
	}
	der, ok := readCertificateStatus(msg[4:])
	if !ok {
		t.Fatal("CertificateStatus not read")
	}
	r := ParseOCSPResponse(der)
	this := time.Date(2026, 12, 8, 0, 42, 39, 0, time.UTC)
	if r.Error != "" || r.Status != "revoked" || r.RevocationReason != "keyCompromise" || r.Serial != "30" ||
		!r.ThisUpdate.Equal(this) || !r.NextUpdate.Equal(this.Add(7*24*time.Hour)) {
		t.Errorf("%+v", r)
	}
	if r.Responder != "CN=tlsscope certlab intermediate,O=tlsscope netlab" {
		t.Errorf("responder %q", r.Responder)
	}
	// Every truncation is refused or read as an error, never a panic.
	for n := 4; n < len(msg); n += 7 {
		if der, ok := readCertificateStatus(msg[4:n]); ok {
			if r := ParseOCSPResponse(der); r.Status != "" {
				t.Errorf("truncated to %d: status %q", n, r.Status)
			}
		}
	}
}
