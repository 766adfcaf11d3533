package report

import (
	"path/filepath"
	"strings"
	"testing"
)

// decryptCases are the captures made with key logs (testenv.KeyLogOf finds each
// one's), with what the keys must show: independent of the goldens.
var decryptCases = []struct {
	file     string
	stream   int
	status   string
	alpn     string // the chosen ALPN (TLS 1.3: from EncryptedExtensions)
	certs    int    // server certificates read
	clients  int    // client certificates read
	finished string // TLS 1.2: both Finished checked
	ticket   bool   // a ticket lifetime read
	alert    string // the alerts read, "from:description,..."
}{
	{"keys-tls13-aes128.pcap", 0, "decrypted", "http/1.1", 2, 0, "", false, "client:close_notify,server:close_notify"},
	{"keys-tls13-aes256.pcap", 0, "decrypted", "http/1.1", 2, 0, "", false, "client:close_notify,server:close_notify"},
	{"keys-tls13-chacha.pcap", 0, "decrypted", "http/1.1", 2, 0, "", false, "client:close_notify,server:close_notify"},
	{"keys-tls13-hrr.pcap", 0, "decrypted", "http/1.1", 2, 0, "", false, "client:close_notify,server:close_notify"},
	{"keys-tls13-mtls.pcap", 0, "decrypted", "http/1.1", 2, 2, "", false, "client:close_notify,server:close_notify"},
	{"keys-tls13-client-rejects-cert.pcap", 0, "decrypted", "http/1.1", 2, 0, "", false, "client:bad_certificate"},
	{"keys-tls13-tickets.pcap", 0, "decrypted", "http/1.1", 2, 0, "", true, "client:close_notify,server:close_notify"},
	{"keys-tls13-tickets.pcap", 1, "decrypted", "http/1.1", 0, 0, "", true, "client:close_notify,server:close_notify"},
	{"keys-tls13-dsb.pcapng", 0, "decrypted", "http/1.1", 2, 0, "", false, "client:close_notify,server:close_notify"},
	{"keys-tls13-wrong-keys.pcap", 0, "wrong_keys", "", 0, 0, "", false, ""},
	{"keys-tls12-gcm.pcap", 0, "decrypted", "http/1.1", 2, 0, "verified,verified", false, "client:close_notify,server:close_notify"},
	{"keys-tls12-aes256gcm.pcap", 0, "decrypted", "http/1.1", 2, 0, "verified,verified", false, "client:close_notify,server:close_notify"},
	{"keys-tls12-chacha.pcap", 0, "decrypted", "http/1.1", 2, 0, "verified,verified", false, "client:close_notify,server:close_notify"},
	{"keys-tls12-cbc.pcap", 0, "decrypted", "http/1.1", 2, 0, "verified,verified", false, "client:close_notify,server:close_notify"},
	{"keys-tls12-cbc-sha256.pcap", 0, "decrypted", "http/1.1", 2, 0, "verified,verified", false, "client:close_notify,server:close_notify"},
	{"keys-tls12-rsa.pcap", 0, "decrypted", "http/1.1", 2, 0, "verified,verified", false, "client:close_notify,server:close_notify"},
	{"keys-tls12-resume-ticket.pcap", 1, "decrypted", "http/1.1", 0, 0, "verified,verified", true, "client:close_notify,server:close_notify"}, // resumed, and given a new ticket
	// Real stacks (testdata/netlab), at the client and at the server.
	{"netlab/openssl-tls13-keylog.client.pcap", 0, "decrypted", "", 2, 0, "", true, "server:close_notify,client:close_notify"},
	{"netlab/openssl-tls12-keylog.server.pcap", 0, "decrypted", "", 2, 0, "verified,verified", true, "server:close_notify,client:close_notify"}, // CBC with encrypt_then_mac
	{"netlab/openssl-tls12-gcm-keylog.client.pcap", 0, "decrypted", "", 2, 0, "verified,verified", true, "server:close_notify,client:close_notify"},
	{"netlab/curl-nginx-keylog.client.pcap", 0, "decrypted", "http/1.1", 2, 0, "", true, "client:close_notify"},
	{"netlab/gnutls-keylog.server.pcap", 0, "decrypted", "", 2, 0, "", true, "server:close_notify"},
	{"netlab/gnutls-keylog.server.pcap", 1, "decrypted", "", 2, 0, "verified,verified", true, "server:close_notify"},
	{"netlab/python-tls13-keylog.server.pcap", 0, "decrypted", "", 2, 2, "", false, "server:close_notify"}, // mutual TLS
	{"netlab/openssl-keyupdate.client.pcap", 0, "decrypted", "", 2, 0, "", true, "server:close_notify,client:close_notify"},
	// Without keys, or with keys for other connections only.
	{"tls13-full.pcap", 0, "no_keys", "", 0, 0, "", false, ""},
	{"after-handshake.pcap", 0, "no_keys", "", 0, 0, "", false, ""},
}

func TestDecryption(t *testing.T) {
	for _, tc := range decryptCases {
		var c *Connection
		for _, x := range connections(t, filepath.Join(testdata, tc.file)) {
			if x.Stream == tc.stream {
				c = x
			}
		}
		if c == nil || c.Decryption == nil {
			t.Errorf("%s stream %d: no connection, or no decryption object", tc.file, tc.stream)
			continue
		}
		d := c.Decryption
		if d.Status != tc.status {
			t.Errorf("%s stream %d: decryption %s (%s), want %s", tc.file, tc.stream, d.Status, d.Reason, tc.status)
		}
		alpn := ""
		if c.ServerHello != nil {
			alpn = c.ServerHello.ALPN
		}
		fin := ""
		if d.Finished != nil {
			fin = strings.Join(d.Finished[:], ",")
		}
		var alerts []string
		for _, a := range c.Alerts {
			if !a.Encrypted {
				alerts = append(alerts, a.From+":"+a.Description)
			}
		}
		alert := strings.Join(alerts, ",")
		if alpn != tc.alpn || len(c.Certificates) != tc.certs || len(c.ClientCertificates) != tc.clients || fin != tc.finished ||
			(c.SessionTicket != nil) != tc.ticket || alert != tc.alert {
			t.Errorf("%s stream %d: alpn %q, %d certificates, %d client certificates, finished %q, ticket %v, alert %q; want %q, %d, %d, %q, %v, %q",
				tc.file, tc.stream, alpn, len(c.Certificates), len(c.ClientCertificates), fin, c.SessionTicket != nil, alert,
				tc.alpn, tc.certs, tc.clients, tc.finished, tc.ticket, tc.alert)
		}
		if tc.status == "wrong_keys" && !strings.Contains(d.Reason, "does not open") {
			t.Errorf("%s: wrong_keys reason %q", tc.file, d.Reason)
		}
	}
}
