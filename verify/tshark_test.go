package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// tsharkView is what tshark says about one TCP stream.
type tsharkView struct {
	clientPort  string
	sni         *string
	suites      []string // offered
	versions    []string // supported_versions offered
	alpnOffered []string
	chosenSuite string
	version     string
	alpnChosen  string
	certs       []string // SHA-256 of the server's chain
	clientCerts []string
	serials     []string
	validity    []string
	ticket      string
	alerts      []string // "client:fatal:handshake_failure"
	ja3, ja3s   string
	sawHello    bool
	sawServer   bool
}

var alertLevels = map[string]string{"1": "warning", "2": "fatal"}

// readTShark groups what tshark sees in a file by stream (one cached
// tshark run, shared with the tests of other packages).
func readTShark(t *testing.T, file, keylog string) (map[int]*tsharkView, error) {
	var extra []string
	if keylog != "" {
		abs, _ := filepath.Abs(keylog)
		extra = []string{"-o", "tls.keylog_file:" + abs}
	}
	frames, err := testenv.TSharkHandshakesWith(t, file, extra...)
	if err != nil {
		return nil, err
	}
	views := map[int]*tsharkView{}
	for _, l := range frames {
		if len(l["tcp.stream"]) == 0 {
			continue
		}
		if !l.Has("tls.record.content_type", "22") && !l.Has("tls.record.content_type", "21") {
			continue // an SSLv2 record: not compared field by field
		}
		stream, _ := strconv.Atoi(l["tcp.stream"][0])
		v := views[stream]
		if v == nil {
			v = &tsharkView{}
			views[stream] = v
		}
		types := l["tls.handshake.type"]
		has := func(t string) bool {
			for _, x := range types {
				if x == t {
					return true
				}
			}
			return false
		}
		port := first(l["tcp.srcport"])
		switch {
		case has("1") && !v.sawHello:
			v.sawHello = true
			v.clientPort = port
			sni := first(l["tls.handshake.extensions_server_name"])
			v.sni = &sni
			v.suites = l["tls.handshake.ciphersuite"]
			v.versions = l["tls.handshake.extensions.supported_version"]
			v.alpnOffered = l["tls.handshake.extensions_alpn_str"]
			v.ja3 = first(l["tls.handshake.ja3_full"])
		case has("2"):
			v.sawServer = true
			if v.clientPort == "" {
				// No ClientHello seen: the client is the other port.
				v.clientPort = "!" + port
			}
			v.chosenSuite = first(l["tls.handshake.ciphersuite"])
			v.version = first(l["tls.handshake.version"])
			if sv := l["tls.handshake.extensions.supported_version"]; len(sv) > 0 {
				v.version = sv[len(sv)-1]
			}
			v.alpnChosen = first(l["tls.handshake.extensions_alpn_str"])
			v.ja3s = first(l["tls.handshake.ja3s_full"])
		}
		if has("8") && v.alpnChosen == "" {
			// TLS 1.3 chooses ALPN in EncryptedExtensions (tshark reads it decrypted).
			v.alpnChosen = first(l["tls.handshake.extensions_alpn_str"])
		}
		fromClient := port == v.clientPort || (strings.HasPrefix(v.clientPort, "!") && port != v.clientPort[1:])
		if has("11") {
			var sums []string
			for _, h := range l["tls.handshake.certificate"] {
				der, _ := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
				s := sha256.Sum256(der)
				sums = append(sums, hex.EncodeToString(s[:]))
			}
			if fromClient {
				v.clientCerts = sums
			} else if v.certs == nil {
				v.certs = sums
				for _, s := range l["x509af.serialNumber"] {
					v.serials = append(v.serials, strings.TrimLeft(strings.ReplaceAll(s, ":", ""), "0"))
				}
				// Validity only when every time is a UTCTime, in order.
				if ts := l["x509af.utcTime"]; len(ts) == 2*len(sums) && len(l["x509af.generalizedTime"]) == 0 {
					for _, t := range ts {
						v.validity = append(v.validity, strings.TrimSuffix(t, " (UTC)"))
					}
				}
			}
		}
		if has("4") {
			if h := l["tls.handshake.session_ticket_lifetime_hint"]; len(h) > 0 {
				v.ticket = h[len(h)-1]
			}
		}
		levels, descs := l["tls.alert_message.level"], l["tls.alert_message.desc"]
		for i := range descs {
			if i >= len(levels) {
				break
			}
			from := "server"
			if fromClient {
				from = "client"
			}
			d, _ := strconv.Atoi(descs[i])
			v.alerts = append(v.alerts, from+":"+alertLevels[levels[i]]+":"+decoder.AlertName(uint8(d)))
		}
	}
	return views, nil
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func hexNumber(s string) uint16 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 16)
	return uint16(n)
}
