package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tlsscope/tlsscope/internal/testenv"
	"github.com/tlsscope/tlsscope/report"
)

// suricataTest is the part of a suricata-verify test.yaml read here.
type suricataTest struct {
	Pcap   string `yaml:"pcap"`
	Checks []struct {
		Filter *struct {
			Count *int                   `yaml:"count"`
			Match map[string]interface{} `yaml:"match"`
		} `yaml:"filter"`
	} `yaml:"checks"`
}

// suricataCaptures maps each test.yaml to its capture, from MANIFEST.md.
func suricataCaptures(t *testing.T) map[string]string {
	data, err := os.ReadFile(filepath.Join(shared, "MANIFEST.md"))
	if err != nil {
		t.Fatal(err)
	}
	rowRE := regexp.MustCompile("^\\| \\d+ \\| `([^`]+)` \\|")
	suriRE := regexp.MustCompile("suricata `([^`]+test\\.yaml)`")
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, s := range suriRE.FindAllStringSubmatch(line, -1) {
			out[filepath.Join(shared, "suricata-verify/tests", s[1])] = filepath.Join(shared, m[1])
		}
	}
	return out
}

// opensslDN prints an RFC 4514 name the way Suricata does (OpenSSL's
// one-line form): least specific first, ", " between RDNs.
func opensslDN(s string) string {
	var rdns []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ',':
			rdns = append(rdns, s[start:i])
			start = i + 1
		}
	}
	rdns = append(rdns, s[start:])
	for i, j := 0, len(rdns)-1; i < j; i, j = i+1, j-1 {
		rdns[i], rdns[j] = rdns[j], rdns[i]
	}
	out := strings.ReplaceAll(strings.Join(rdns, ", "), "\\", "")
	// Suricata names the e-mail attribute "Email".
	return strings.ReplaceAll(out, "emailAddress=", "Email=")
}

func suricataVersion(v string) string {
	switch v {
	case "TLS 1.0":
		return "TLSv1"
	case "SSL 3.0":
		return "SSLv3"
	case "SSL 2.0":
		return "SSLv2"
	}
	return v
}

func normSerial(s string) string {
	return strings.TrimLeft(strings.ToUpper(strings.ReplaceAll(s, ":", "")), "0")
}

// suricataValue is what tlsscope says for a Suricata EVE tls field; ok is
// false for fields not compared.
func suricataValue(c *report.Connection, field string) (string, bool) {
	var leaf *report.Certificate
	if len(c.Certificates) > 0 {
		leaf = &c.Certificates[0]
	}
	switch field {
	case "tls.sni":
		if c.ClientHello == nil {
			return "", true
		}
		return c.ClientHello.SNI, true
	case "tls.version":
		return suricataVersion(c.Version), true
	case "tls.session_resumed":
		return fmt.Sprint(c.Outcome == "resumed"), true
	case "tls.subject", "tls.issuerdn", "tls.serial", "tls.notbefore", "tls.notafter":
		if leaf == nil {
			return "", true
		}
		switch field {
		case "tls.subject":
			return opensslDN(leaf.Subject), true
		case "tls.issuerdn":
			return opensslDN(leaf.Issuer), true
		case "tls.serial":
			return normSerial(leaf.Serial), true
		case "tls.notbefore":
			return strings.TrimSuffix(leaf.NotBefore, "Z"), true
		default:
			return strings.TrimSuffix(leaf.NotAfter, "Z"), true
		}
	}
	return "", false
}

// TestSuricataBaselines checks the tls event filters of suricata-verify's
// test.yaml files: as many of our connections must match each filter's
// fields as the count it expects.
func TestSuricataBaselines(t *testing.T) {
	testenv.NeedShared(t, "..")
	ex := readExceptions(t, "baseline_exceptions.tsv")
	byField := map[string]*tally{}
	tests := suricataCaptures(t)
	names := make([]string, 0, len(tests))
	for n := range tests {
		names = append(names, n)
	}
	sort.Strings(names)
	checked := 0
	for _, yml := range names {
		data, err := os.ReadFile(yml)
		if err != nil {
			t.Fatal(err)
		}
		var st suricataTest
		if err := yaml.Unmarshal(data, &st); err != nil {
			t.Fatalf("%s: %v", yml, err)
		}
		capture := tests[yml]
		conns := ours(t, capture)
		var tlsConns []*report.Connection
		for _, c := range conns {
			if c.ClientHello != nil || c.ServerHello != nil {
				tlsConns = append(tlsConns, c)
			}
		}
		rel, _ := filepath.Rel(filepath.Join(shared, "suricata-verify/tests"), yml)
		for i, ch := range st.Checks {
			f := ch.Filter
			if f == nil || f.Count == nil || f.Match["event_type"] != "tls" {
				continue
			}
			var fields []string
			for k := range f.Match {
				if k != "event_type" {
					if _, ok := suricataValue(&report.Connection{}, k); ok {
						fields = append(fields, k)
					}
				}
			}
			if len(fields) == 0 {
				continue
			}
			sort.Strings(fields)
			matched := 0
			for _, c := range tlsConns {
				all := true
				for _, k := range fields {
					want := fmt.Sprint(f.Match[k])
					got, _ := suricataValue(c, k)
					if k == "tls.serial" {
						want = normSerial(want)
					}
					all = all && got == want
				}
				if all {
					matched++
				}
			}
			label := "suricata " + strings.Join(fields, "+")
			id := fmt.Sprintf("check %d", i)
			countField(t, byField, ex, label, rel, id, name(capture), fmt.Sprint(*f.Count), fmt.Sprint(matched))
			checked++
		}
	}
	writeTally(t, "Suricata baselines (connections matching each tls filter)", byField)
	if checked < 10 {
		t.Errorf("only %d suricata checks compared", checked)
	}
}
