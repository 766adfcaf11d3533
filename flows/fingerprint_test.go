package flows

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestJA3MatchesTShark compares JA3 and JA3S with tshark's on every TCP
// ClientHello and ServerHello of the generated captures and of the corpus.
func TestJA3MatchesTShark(t *testing.T) {
	testenv.TShark(t)
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	corpus := testenv.CorpusIfPresent(t, "..")
	files = append(files, corpus...)
	testenv.PrefetchHandshakes(t, files)
	compared, agreed := 0, 0
	for _, f := range files {
		frames, err := testenv.TSharkHandshakes(t, f)
		if err != nil {
			continue
		}
		results, _ := analyze(t, f)
		ours := map[int]map[string]bool{}
		for _, r := range results {
			if r.Transport != TransportTCP {
				continue // QUIC: udp.stream numbers
			}
			set := map[string]bool{}
			for _, ch := range []*decoder.ClientHello{r.HS.ClientHello, r.HS.RetryClientHello} {
				if ch != nil {
					full, _ := ch.JA3()
					set[full] = true
				}
			}
			// A ServerHello its client never received is still the server's.
			for _, sh := range []*decoder.ServerHello{r.HS.ServerHello, r.HS.HelloRetryRequest, r.HS.UndeliveredServerHello} {
				if sh != nil && !sh.SSLv2 {
					full, _ := sh.JA3S()
					set[full] = true
				}
			}
			ours[r.Stream] = set
		}
		for _, fr := range frames {
			if !fr.Has("tls.handshake.type", "1") && !fr.Has("tls.handshake.type", "2") {
				continue
			}
			stream, _ := strconv.Atoi(fr.First("tcp.stream"))
			for _, fp := range append(fr["tls.handshake.ja3_full"], fr["tls.handshake.ja3s_full"]...) {
				if fp == "" {
					continue
				}
				compared++
				if ours[stream][fp] {
					agreed++
				} else {
					t.Errorf("%s: stream %d: tshark's %q is not among ours %v", f, stream, fp, keys(ours[stream]))
				}
			}
		}
	}
	t.Logf("JA3/JA3S: %d of %d tshark fingerprints agree", agreed, compared)
	// Over 400 with the corpus; the generated captures alone have 50.
	least := 400
	if len(corpus) == 0 {
		least = 40
	}
	if compared < least {
		t.Errorf("only %d fingerprints compared, want at least %d", compared, least)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestJA4MatchesFoxIO compares JA4 with the expected outputs FoxIO ships
// for its own captures (python/test/testdata/*.json), for TCP streams.
func TestJA4MatchesFoxIO(t *testing.T) {
	testenv.NeedShared(t, "..")
	expected, _ := filepath.Glob(filepath.Join(sharedCaptures, "ja4/python/test/testdata/*.json"))
	compared := 0
	for _, e := range expected {
		capture := filepath.Join(sharedCaptures, "ja4/pcap", strings.TrimSuffix(filepath.Base(e), ".json"))
		if _, err := os.Stat(capture); err != nil {
			continue
		}
		data, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		var rows []map[string]any
		if err := json.Unmarshal(data, &rows); err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		results, _ := analyze(t, capture)
		byStream := map[int]*Result{}
		for _, r := range results {
			if r.Transport != TransportTCP {
				continue // QUIC: udp.stream numbers
			}
			byStream[r.Stream] = r
		}
		for _, row := range rows {
			for _, k := range []string{"JA4.1", "JA4.2"} {
				want, _ := row[k].(string)
				if !strings.HasPrefix(want, "t") {
					continue // QUIC ("q") is not ours yet
				}
				stream := int(row["stream"].(float64))
				compared++
				r := byStream[stream]
				if r == nil || r.HS.ClientHello == nil {
					t.Errorf("%s: stream %d: no ClientHello here (FoxIO %s %s)", capture, stream, k, want)
					continue
				}
				ch := r.HS.ClientHello
				if k == "JA4.2" {
					ch = r.HS.RetryClientHello
				}
				if ch == nil || ch.JA4() != want {
					got := ""
					if ch != nil {
						got = ch.JA4()
					}
					t.Errorf("%s: stream %d %s: %s, FoxIO %s", capture, stream, k, got, want)
				}
			}
		}
	}
	t.Logf("JA4: %d TCP fingerprints compared with FoxIO's expected outputs", compared)
	if compared < 50 {
		t.Errorf("only %d JA4 compared", compared)
	}
}
