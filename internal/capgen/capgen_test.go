package capgen

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"testing/cryptotest"
)

var write = flag.Bool("write", false, "write the captures into testdata/ (make testdata)")

const testdata = "../../testdata"

// generate builds every scenario with crypto randomness fixed, so that the
// same bytes come out on every run.
func generate(t *testing.T) map[string][]byte {
	cryptotest.SetGlobalRandom(t, 0x7115c09e)
	out := map[string][]byte{}
	for _, s := range Scenarios() {
		var b bytes.Buffer
		if err := s.Write(&b); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		out[s.Name] = b.Bytes()
		for name, data := range s.KeyFiles() { // key logs (keys.go)
			out[name] = data
		}
	}
	out["capgen-ca.pem"] = CAFile()
	return out
}

// TestCapturesReproduced regenerates every capture and proves the
// committed files are its output byte for byte. With -write it rewrites them.
func TestCapturesReproduced(t *testing.T) {
	files := generate(t)
	for name, data := range files {
		path := filepath.Join(testdata, name)
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
		// Regenerating twice in one process must also agree.
		again := generate(t)
		for name, data := range files {
			if !bytes.Equal(again[name], data) {
				t.Errorf("%s: two runs of the generator differ", name)
			}
		}
	}
}
