package capgen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"
	"testing/synctest"
)

const quicTestdata = testdata + "/quic"

// runQUIC runs a scenario in a synctest bubble (quic-go's timers on its
// virtual clock) with crypto randomness fixed.
func runQUIC(t *testing.T, s *QUICScenario) *QUICRun {
	var run *QUICRun
	var err error
	synctest.Test(t, func(t *testing.T) {
		cryptotest.SetGlobalRandom(t, 0x16c0ffee)
		run, err = s.Run()
	})
	if err != nil {
		t.Fatalf("%s: %v", s.Name, err)
	}
	return run
}

// TestQUICCapturesReproduced regenerates every QUIC capture and its key
// log and proves the committed files are its output byte for byte (and
// that two runs agree). With -write it rewrites them (make testdata).
func TestQUICCapturesReproduced(t *testing.T) {
	for _, s := range QUICScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			run := runQUIC(t, s)
			if (run.DialErr == nil) != s.Complete {
				t.Fatalf("handshake completed: %v (%v), want %v", run.DialErr == nil, run.DialErr, s.Complete)
			}
			t.Logf("%d+%d datagrams, %d bytes, dial: %v", run.Datagrams[0], run.Datagrams[1], len(run.Pcap), run.DialErr)
			files := map[string][]byte{s.Name + ".pcap": run.Pcap, s.Name + ".keys": run.Keys}
			for name, data := range files {
				path := filepath.Join(quicTestdata, name)
				if *write {
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				have, err := os.ReadFile(path)
				if err != nil {
					t.Errorf("%s: %v (run make testdata)", name, err)
					continue
				}
				if !bytes.Equal(have, data) {
					t.Errorf("%s: committed file differs from the generator's output (%d vs %d bytes); run make testdata and review", name, len(have), len(data))
				}
			}
			if !*write {
				again := runQUIC(t, s)
				if !bytes.Equal(again.Pcap, run.Pcap) || !bytes.Equal(again.Keys, run.Keys) {
					t.Errorf("two runs of the generator differ")
				}
			}
		})
	}
}
