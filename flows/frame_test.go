package flows

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tlsscope/tlsscope/decoder"
	"github.com/tlsscope/tlsscope/internal/testenv"
)

// frameFields are what TestFrameNumbersMatchTShark asks tshark for.
var frameFields = []string{"-Y", "tcp && tls.handshake.type", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tls.handshake.type"}

// frameMsg is a handshake message where a ladder shows it: the frame and
// its type on the wire.
type frameMsg struct {
	frame int64
	typ   int
}

// tsharkFrames is, per tcp.stream, the handshake messages tshark shows,
// with the reference settings (out-of-order reassembly on).
func tsharkFrames(t *testing.T, file string) (map[int][]frameMsg, error) {
	out, err := testenv.TSharkOutput(t, file, append(testenv.TSharkArgs(file), frameFields...)...)
	if err != nil && len(out) == 0 {
		return nil, err
	}
	byStream := map[int][]frameMsg{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 3 {
			continue
		}
		frame, err1 := strconv.ParseInt(f[0], 10, 64)
		stream, err2 := strconv.Atoi(strings.Split(f[1], ",")[0])
		if err1 != nil || err2 != nil {
			continue
		}
		for _, ty := range strings.Split(f[2], ",") {
			if n, err := strconv.Atoi(ty); err == nil {
				byStream[stream] = append(byStream[stream], frameMsg{frame, n})
			}
		}
	}
	return byStream, nil
}

// ourFrames is a result's handshake messages that tshark can type
// without keys: in the clear.
func ourFrames(r *Result) []frameMsg {
	var out []frameMsg
	for _, m := range r.HS.Messages {
		switch {
		case m.Encrypted:
		case m.Type == decoder.MsgHelloRetryRequest:
			out = append(out, frameMsg{m.Frame, int(decoder.MsgServerHello)})
		case m.Type == decoder.MsgClientMasterKey:
			out = append(out, frameMsg{m.Frame, 2}) // SSL 2.0's numbering (draft-hickman-netscape-ssl-00 §2.6)
		case m.Type.IsHandshake():
			out = append(out, frameMsg{m.Frame, int(m.Type)})
		}
	}
	return out
}

// TestFrameNumbersMatchTShark: every handshake message tshark shows is
// in the same frame here, per tcp.stream: the frame where its record's
// last segment came (tshark shows a reassembled message there). The
// generated captures and the corpus of other projects' captures.
func TestFrameNumbersMatchTShark(t *testing.T) {
	testenv.TShark(t)
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	files = append(files, testenv.CorpusIfPresent(t, "..")...)
	var agree, total, ours, corpusAgree, corpusTotal int
	var misses []string
	for _, f := range files {
		want, err := tsharkFrames(t, f)
		if err != nil {
			continue // tshark refuses some damaged files
		}
		results, _ := analyze(t, f)
		got := map[int][]frameMsg{}
		for _, r := range results {
			if r.Transport == TransportTCP && r.HS != nil {
				got[r.Stream] = append(got[r.Stream], ourFrames(r)...)
			}
		}
		for stream, w := range want {
			have := map[frameMsg]int{}
			for _, m := range got[stream] {
				have[m]++
			}
			ours += len(got[stream])
			for _, m := range w {
				total++
				corpus := !strings.HasPrefix(f, testdata)
				if corpus {
					corpusTotal++
				}
				if have[m] > 0 {
					have[m]--
					agree++
					if corpus {
						corpusAgree++
					}
					continue
				}
				misses = append(misses, fmt.Sprintf("%s: tcp.stream %d: type %d in frame %d in tshark; here %v", filepath.Base(f), stream, m.typ, m.frame, got[stream]))
			}
		}
	}
	for _, m := range misses {
		t.Log(m)
	}
	t.Logf("frame numbers: %d of %d handshake messages tshark shows agree (corpus: %d of %d; %d messages here in those streams) over %d files",
		agree, total, corpusAgree, corpusTotal, ours, len(files))
	if total == 0 {
		t.Fatal("tshark showed no handshake message")
	}
	if agree < total*98/100 {
		t.Errorf("only %d of %d agree", agree, total)
	}
}

// TestFrameNumbersPerFile: with several inputs, each file's frames are
// numbered from 1, as Wireshark numbers each file.
func TestFrameNumbersPerFile(t *testing.T) {
	a, b := filepath.Join(testdata, "tls13-full.pcap"), filepath.Join(testdata, "alert-server-refuses.pcap")
	frames := func(rs []*Result) map[string][]frameMsg {
		out := map[string][]frameMsg{}
		for _, r := range rs {
			out[r.Client.String()+" "+r.Server.String()] = ourFrames(r)
		}
		return out
	}
	alone := frames(append(must(analyze(t, a)), must(analyze(t, b))...))
	merged := frames(must(analyze(t, a, b)))
	if len(alone) != 2 || len(merged) != 2 {
		t.Fatalf("want a connection per file: %v, %v", alone, merged)
	}
	for k, w := range alone {
		if fmt.Sprint(merged[k]) != fmt.Sprint(w) || len(w) == 0 || w[0].frame == 0 {
			t.Errorf("%s: merged %v, alone %v", k, merged[k], w)
		}
	}
}

func must(rs []*Result, _ *Analyzer) []*Result { return rs }
