package capgen

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// TestTSharkSeesDTLSHostile: tshark reads the DTLS hostile cases as the
// generator says, with its own dissector: the flood as one DTLS 1.2
// ClientHello (SNI, use_srtp) per UDP stream, the bomb as ClientHello
// fragments of a 16 MiB - 1 message, one stream per association.
func TestTSharkSeesDTLSHostile(t *testing.T) {
	testenv.TShark(t)
	for _, name := range []string{"dtlsflood", "dtlsfragbomb"} {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), name+".pcap")
			f, err := os.Create(file)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := WriteHostile(f, name, 0.001)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			// Decode as DTLS on 4433: some random client ports are other
			// protocols' to tshark (41170 is MANOLITO's).
			frames, err := testenv.TSharkDTLS(t, file, "-d", "udp.port==4433,dtls")
			if err != nil {
				t.Fatal(err)
			}
			streams := map[string]int{}
			for _, fr := range frames {
				streams[fr.First("udp.stream")]++
				if !fr.Has("dtls.handshake.type", "1") {
					t.Fatalf("frame %s: no ClientHello", fr.First("frame.number"))
				}
				if name == "dtlsflood" && (fr.First("dtls.handshake.version") != "0xfefd" || fr.First("dtls.handshake.extensions_server_name") != "flood.tlsscope.test") {
					t.Fatalf("frame %s: %v", fr.First("frame.number"), fr)
				}
			}
			if int64(len(frames)) != tr.Packets || len(streams) != tr.Conns {
				t.Errorf("tshark: %d DTLS frames in %d UDP streams; truth %d packets, %d associations", len(frames), len(streams), tr.Packets, tr.Conns)
			}
			if name == "dtlsfragbomb" {
				out, _ := testenv.TSharkOutput(t, file, append(testenv.TSharkArgs(file), "-d", "udp.port==4433,dtls", "-Y", "dtls.handshake.length == 16777215")...)
				if n := countLines(out); int64(n) != tr.Packets {
					t.Errorf("%d fragments say 16 MiB - 1, want %s", n, strconv.FormatInt(tr.Packets, 10))
				}
			}
		})
	}
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}
