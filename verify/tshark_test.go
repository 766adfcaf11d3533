package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// tsharkFields are read per frame; multi-valued fields come as arrays.
var tsharkFields = []string{
	"tcp.stream", "tcp.srcport", "tls.handshake.type", "tls.handshake.extensions_server_name",
	"tls.handshake.ciphersuite", "tls.handshake.version", "tls.handshake.extensions.supported_version",
	"tls.handshake.extensions_alpn_str", "tls.handshake.certificate", "x509af.serialNumber", "x509af.utcTime",
	"x509af.generalizedTime", "tls.handshake.session_ticket_lifetime_hint", "tls.alert_message.level",
	"tls.alert_message.desc", "tls.handshake.ja3_full", "tls.handshake.ja3s_full", "tls.record.content_type",
}

type frame map[string][]string

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

// readTShark runs tshark over a file and groups what it sees by stream.
func readTShark(tshark, file string) (map[int]*tsharkView, error) {
	args := append(testenv.TSharkArgs(file), "-Y", "tcp && (tls.handshake or tls.alert_message)", "-T", "json", "--no-duplicate-keys")
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command(tshark, args...).Output()
	if err != nil && len(out) == 0 {
		return nil, fmt.Errorf("tshark %s: %v", filepath.Base(file), err)
	}
	var frames []struct {
		Source struct {
			Layers frame `json:"layers"`
		} `json:"_source"`
	}
	if err := json.Unmarshal(out, &frames); err != nil {
		// A damaged file can end the JSON array early: keep what parsed.
		trimmed := strings.TrimRight(string(out), " \n,")
		if i := strings.LastIndex(trimmed, "\n  }"); i > 0 {
			json.Unmarshal([]byte(trimmed[:i+4]+"\n]"), &frames)
		}
	}
	views := map[int]*tsharkView{}
	for _, fr := range frames {
		l := fr.Source.Layers
		if len(l["tcp.stream"]) == 0 {
			continue
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
