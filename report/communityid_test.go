package report

import (
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// communityIDVectors are the spec's published baselines, from
// github.com/corelight/community-id-spec, baseline/baseline_deflt.json
// (seed 0) and baseline/baseline_seed1.json (seed 1), computed by the
// spec's reference community-id.py on its pcaps/*.pcap: every TCP, UDP and
// SCTP entry and one portless RSVP (proto 46) entry, in both directions.
// The ICMP and ICMPv6 entries are left out: the spec maps their type and
// code to ports in a way CommunityID does not implement.
var communityIDVectors = []struct {
	proto        uint8
	saddr, daddr string
	sport, dport uint16
	seed0, seed1 string
}{
	// pcaps/ipv6.pcap: TCP over IPv6.
	{6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	{6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
	// pcaps/sctp.pcap: equal ports, so only the addresses order the tuple.
	{132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	{132, "192.168.170.56", "192.168.170.8", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
	// pcaps/tcp.pcap: TCP over IPv4.
	{6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	{6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
	// pcaps/udp.pcap: UDP over IPv4.
	{17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	{17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
	// pcaps/rsvp.pcap: a protocol without ports (the baseline has null ports).
	{46, "10.1.12.1", "10.1.12.2", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
	{46, "10.1.12.2", "10.1.12.1", 0, 0, "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
}

func TestCommunityIDSpecVectors(t *testing.T) {
	for _, v := range communityIDVectors {
		a := netip.AddrPortFrom(netip.MustParseAddr(v.saddr), v.sport)
		b := netip.AddrPortFrom(netip.MustParseAddr(v.daddr), v.dport)
		for _, c := range []struct {
			seed uint16
			want string
		}{{0, v.seed0}, {1, v.seed1}} {
			if got := CommunityID(a, b, v.proto, c.seed); got != c.want {
				t.Errorf("CommunityID(%v, %v, %d, seed %d) = %s, want %s", a, b, v.proto, c.seed, got, c.want)
			}
		}
	}
}

// Addresses given as v4-in-v6 hash as the IPv4 ones, and a flow gets the
// same ID in both directions.
func TestCommunityIDUnmapAndSymmetry(t *testing.T) {
	a := netip.MustParseAddrPort("192.168.1.52:54585")
	b := netip.MustParseAddrPort("8.8.8.8:53")
	ma := netip.AddrPortFrom(netip.AddrFrom16(a.Addr().As16()), a.Port())
	mb := netip.AddrPortFrom(netip.AddrFrom16(b.Addr().As16()), b.Port())
	const want = "1:d/FP5EW3wiY1vCndhwleRRKHowQ=" // baseline_deflt.json, pcaps/udp.pcap
	for _, got := range []string{
		CommunityID(a, b, 17, 0), CommunityID(b, a, 17, 0),
		CommunityID(ma, mb, 17, 0), CommunityID(mb, ma, 17, 0), CommunityID(ma, b, 17, 0),
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	// Same address: the smaller port goes first.
	x := netip.MustParseAddrPort("10.0.0.1:1000")
	y := netip.MustParseAddrPort("10.0.0.1:2000")
	if CommunityID(x, y, 6, 0) != CommunityID(y, x, 6, 0) {
		t.Error("same-address flow hashes differently in its two directions")
	}
}

// TestCommunityIDCorpus compares CommunityID with the Community IDs that
// other projects' expected outputs in ../shared/captures carry. Of the
// corpus, only Suricata's suricata-verify/tests/community-id-ipv6/test.yaml
// does (eve.json tls and flow events of two TCP/IPv6 flows: 4 checks); no
// Zeek baseline there has a community_id field. The test walks every
// suricata-verify test.yaml, so that others added later are compared too.
//
// The seed is in each test's suricata.yaml, which the corpus does not copy:
// suricataSeed reads it when there, else uses suricataSeeds, else
// Suricata's default, 0.
func TestCommunityIDCorpus(t *testing.T) {
	dir := testenv.NeedShared(t, "..")
	var compared int
	sv := filepath.Join(dir, "suricata-verify", "tests")
	err := filepath.WalkDir(sv, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "test.yaml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if !strings.Contains(string(data), "community_id") {
			return nil
		}
		var test struct {
			Checks []struct {
				Filter struct {
					Match map[string]any `yaml:"match"`
				} `yaml:"filter"`
			} `yaml:"checks"`
		}
		if err := yaml.Unmarshal(data, &test); err != nil {
			t.Errorf("%s: %v", p, err)
			return nil
		}
		seed := suricataSeed(t, filepath.Dir(p))
		for i, c := range test.Checks {
			m := c.Filter.Match
			want, ok := m["community_id"].(string)
			if !ok {
				continue
			}
			a, b, proto, ok := suricataTuple(m)
			if !ok {
				t.Errorf("%s: check %d has community_id %s but no usable 5-tuple: %v", p, i, want, m)
				continue
			}
			compared++
			if got := CommunityID(a, b, proto, seed); got != want {
				t.Errorf("%s: check %d: CommunityID(%v, %v, %d, seed %d) = %s, Suricata says %s", p, i, a, b, proto, seed, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if compared == 0 {
		t.Fatal("no Community ID found in the corpus's suricata-verify tests (community-id-ipv6 should have some)")
	}
	t.Logf("compared %d Community IDs with Suricata's", compared)
}

// suricataSeeds are the community-id-seed settings of the suricata-verify
// tests whose suricata.yaml the corpus lacks, read from upstream
// (github.com/OISF/suricata-verify, tests/<name>/suricata.yaml).
var suricataSeeds = map[string]uint16{
	"community-id-ipv6": 7,
}

// suricataSeed is the Community ID seed of the suricata-verify test in dir.
func suricataSeed(t *testing.T, dir string) uint16 {
	t.Helper()
	if data, err := os.ReadFile(filepath.Join(dir, "suricata.yaml")); err == nil {
		var conf struct {
			Outputs []map[string]struct {
				Seed *uint16 `yaml:"community-id-seed"`
			} `yaml:"outputs"`
		}
		if err := yaml.Unmarshal(data, &conf); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
		for _, o := range conf.Outputs {
			if e, ok := o["eve-log"]; ok && e.Seed != nil {
				return *e.Seed
			}
		}
		return 0
	}
	return suricataSeeds[filepath.Base(dir)]
}

// suricataTuple is the 5-tuple of an eve.json match.
func suricataTuple(m map[string]any) (a, b netip.AddrPort, proto uint8, ok bool) {
	port := func(k string) (uint16, bool) {
		n, ok := m[k].(int)
		return uint16(n), ok && n >= 0 && n <= 0xffff
	}
	src, err1 := netip.ParseAddr(stringOf(m["src_ip"]))
	dst, err2 := netip.ParseAddr(stringOf(m["dest_ip"]))
	sp, ok1 := port("src_port")
	dp, ok2 := port("dest_port")
	switch stringOf(m["proto"]) {
	case "TCP":
		proto = 6
	case "UDP":
		proto = 17
	case "SCTP":
		proto = 132
	default:
		return a, b, 0, false
	}
	if err1 != nil || err2 != nil || !ok1 || !ok2 {
		return a, b, 0, false
	}
	return netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp), proto, true
}

func stringOf(v any) string {
	s, _ := v.(string)
	return s
}

func BenchmarkCommunityID(b *testing.B) {
	for _, bc := range []struct{ name, a, c string }{
		{"IPv4", "192.168.1.52:54585", "8.8.8.8:53"},
		{"IPv6", "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943", "[2607:f8b0:400c:c03::1a]:25"},
	} {
		x, y := netip.MustParseAddrPort(bc.a), netip.MustParseAddrPort(bc.c)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				CommunityID(x, y, 6, 0)
			}
		})
	}
}

// CommunityID runs once per connection: it allocates the string alone.
func TestCommunityIDAllocs(t *testing.T) {
	x := netip.MustParseAddrPort("[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943")
	y := netip.MustParseAddrPort("[2607:f8b0:400c:c03::1a]:25")
	if n := testing.AllocsPerRun(100, func() { CommunityID(y, x, 6, 0) }); n > 1 {
		t.Errorf("CommunityID allocates %v times per call, want 1 (the string)", n)
	}
}
