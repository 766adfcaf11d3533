package capgen

import (
	"bytes"
	"errors"
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
// log and proves the committed files are its output byte for byte. With -write it rewrites them (make testdata).
func TestQUICCapturesReproduced(t *testing.T) {
	for _, s := range QUICScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			run := runQUIC(t, s)
			if (run.DialErr == nil) != s.Complete {
				t.Fatalf("handshake completed: %v (%v), want %v", run.DialErr == nil, run.DialErr, s.Complete)
			}
			t.Logf("%d+%d datagrams, %d bytes, dial: %v", run.Datagrams[0], run.Datagrams[1], len(run.Pcap), run.DialErr)
			if *write {
				for name, data := range map[string][]byte{s.Name + ".pcap": run.Pcap, s.Name + ".keys": run.Keys} {
					if err := os.WriteFile(filepath.Join(quicTestdata, name), data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			pcap, err1 := os.ReadFile(filepath.Join(quicTestdata, s.Name+".pcap"))
			keys, err2 := os.ReadFile(filepath.Join(quicTestdata, s.Name+".keys"))
			if err := errors.Join(err1, err2); err != nil {
				t.Fatalf("%v (run make testdata)", err)
			}
			// The clock is virtual and each datagram arrives at its own
			// instant, but a quic-go timer can still fire at the instant a
			// datagram arrives, and then the goroutines race: about one run
			// in a hundred orders a scenario differently. So a run may be
			// repeated: the committed files must be one of the generator's
			// outputs, byte for byte, within three runs.
			for try := 1; ; try++ {
				if bytes.Equal(run.Pcap, pcap) && bytes.Equal(run.Keys, keys) {
					break
				}
				if try == 3 {
					t.Fatalf("committed capture differs from the generator's output in %d runs (%d vs %d bytes); run make testdata and review", try, len(pcap), len(run.Pcap))
				}
				t.Logf("run %d differs from the committed capture: running again", try)
				run = runQUIC(t, s)
			}
		})
	}
}
