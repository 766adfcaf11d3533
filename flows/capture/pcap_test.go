package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// classicPcaps lists the classic pcap files (not pcapng, not gzip) of
// testdata and of the shared corpus when it is there.
func classicPcaps(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap"))
	files = append(files, testenv.CorpusIfPresent(t, "../..")...)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) >= 4 && (hasPrefix(b, magicPcapLE) || hasPrefix(b, magicPcapBE) || hasPrefix(b, magicPcapNsLE) || hasPrefix(b, magicPcapNsBE)) {
			out = append(out, f)
		}
	}
	return out
}

type readPacket struct {
	data []byte
	ts   string
	ci   string // capture and original length
	link uint32
}

// readWithPcapgo is the reference: gopacket's pcap reader.
func readWithPcapgo(t *testing.T, b []byte) ([]readPacket, error) {
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []readPacket
	run := 0
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if ci.Length == 0 {
			// We skip records of no bytes, and end the file after a long
			// run of them (TestEmptyRecords); pcapgo hands them out.
			if run++; run >= maxEmptyRun {
				return out, errors.New("empty records")
			}
			continue
		}
		run = 0
		out = append(out, seen(data, ci, r.LinkType()))
	}
}

// readWithFill reads with our reader through batches of bufSize bytes, so
// that records are cut at batch ends and some do not fit a batch at all.
func readWithFill(b []byte, bufSize int) ([]readPacket, error) {
	p, err := newPcapFile(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return drain(p, bufSize)
}

// drain reads a file through batches of bufSize bytes to its end.
func drain(f filler, bufSize int) ([]readPacket, error) {
	var out []readPacket
	bt := &Batch{Buf: make([]byte, 0, bufSize)}
	for {
		err := f.fill(bt)
		for _, pk := range bt.Packets {
			out = append(out, seen(pk.Data, pk.CI, pk.Link))
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// seen is a packet as the readers are compared on: a copy of its bytes,
// its timestamp, its lengths and its link type.
func seen(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) readPacket {
	return readPacket{data: append([]byte(nil), data...), ts: ci.Timestamp.String(),
		ci: strconv.Itoa(ci.CaptureLength) + "/" + strconv.Itoa(ci.Length), link: uint32(link)}
}

func samePackets(t *testing.T, name string, want, got []readPacket, wantErr, gotErr error, times bool) {
	t.Helper()
	if len(want) != len(got) {
		t.Errorf("%s: %d packets, pcapgo reads %d", name, len(got), len(want))
		return
	}
	for i := range want {
		if !bytes.Equal(want[i].data, got[i].data) || want[i].ci != got[i].ci || (times && want[i].ts != got[i].ts) || want[i].link != got[i].link {
			t.Errorf("%s: packet %d differs from pcapgo's", name, i+1)
			return
		}
	}
	if (wantErr == nil) != (gotErr == nil) {
		t.Errorf("%s: ends with %v, pcapgo with %v", name, gotErr, wantErr)
	}
}

// TestPcapReaderMatchesPcapgo reads every classic pcap file of testdata
// and the corpus with our in-place reader, through batches of several
// sizes, and compares each packet and timestamp with pcapgo's.
func TestPcapReaderMatchesPcapgo(t *testing.T) {
	files := classicPcaps(t)
	if len(files) < 10 {
		t.Fatalf("only %d pcap files found", len(files))
	}
	packets := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := readWithPcapgo(t, b)
		for _, size := range []int{100, 4096, 1 << 20} {
			got, gotErr := readWithFill(b, size)
			samePackets(t, filepath.Base(f)+" in "+strconv.Itoa(size)+"-byte batches", want, got, wantErr, gotErr, true)
		}
		packets += len(want)
	}
	t.Logf("%d files, %d packets: the same as pcapgo's", len(files), packets)
}

// pcapBytes builds a little-endian microsecond pcap file of Ethernet frames.
func pcapBytes(snaplen uint32, records ...[]byte) []byte {
	h := make([]byte, 24)
	binary.LittleEndian.PutUint32(h[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], snaplen)
	binary.LittleEndian.PutUint32(h[20:], 1)
	for _, r := range records {
		h = append(h, r...)
	}
	return h
}

func record(sec, usec, capLen, origLen uint32, data []byte) []byte {
	r := make([]byte, 16, 16+len(data))
	binary.LittleEndian.PutUint32(r[0:], sec)
	binary.LittleEndian.PutUint32(r[4:], usec)
	binary.LittleEndian.PutUint32(r[8:], capLen)
	binary.LittleEndian.PutUint32(r[12:], origLen)
	return append(r, data...)
}

// TestPcapReaderDamaged: the packets before the damage are read, then a
// clear error; an absurd length allocates nothing.
func TestPcapReaderDamaged(t *testing.T) {
	good := record(1, 0, 4, 4, []byte{1, 2, 3, 4})
	cases := []struct {
		name    string
		file    []byte
		packets int
		err     string
	}{
		{"whole", pcapBytes(65535, good, good), 2, ""},
		{"last record cut", pcapBytes(65535, good, good[:10]), 1, "truncated"},
		{"last packet cut", pcapBytes(65535, good, good[:18]), 1, "truncated"},
		{"length over snaplen", pcapBytes(65535, good, record(1, 0, 0x7fffffff, 0x7fffffff, nil)), 1, "exceeds snap length"},
		{"length over a huge snaplen", pcapBytes(0xffffffff, good, record(1, 0, 0xfffffff0, 0xfffffff0, nil)), 1, "exceeds snap length"},
		{"captured more than sent", pcapBytes(65535, good, record(1, 0, 8, 4, make([]byte, 8))), 1, "exceeds original packet length"},
		{"header only", pcapBytes(65535), 0, ""},
		{"header cut", pcapBytes(65535)[:20], 0, "file header cut short"},
	}
	for _, tc := range cases {
		dir := t.TempDir()
		path := filepath.Join(dir, "f.pcap")
		os.WriteFile(path, tc.file, 0o644)
		src, err := OpenFile(path)
		n := 0
		for err == nil {
			_, err = src.Next()
			if err == nil {
				n++
			}
		}
		if n != tc.packets {
			t.Errorf("%s: %d packets, want %d", tc.name, n, tc.packets)
		}
		switch {
		case tc.err == "" && err != io.EOF:
			t.Errorf("%s: %v, want the end of the file", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.err)
		case tc.err != "" && !errors.As(err, new(*InputError)):
			t.Errorf("%s: error %v does not name the file", tc.name, err)
		}
	}
}

// TestPcapTimestampOutOfRange: a microsecond field over a second counts
// as what it says, not wrapped in 32 bits.
func TestPcapTimestampOutOfRange(t *testing.T) {
	got, err := readWithFill(pcapBytes(65535, record(10, 5_000_000, 1, 1, []byte{0})), 4096)
	if err != nil || len(got) != 1 {
		t.Fatalf("%d packets, %v", len(got), err)
	}
	if want := time.Unix(15, 0).UTC().String(); got[0].ts != want {
		t.Errorf("timestamp %s, want %s", got[0].ts, want)
	}
}

// FuzzPcapReader: on any bytes after a valid header our reader returns
// the packets pcapgo returns, and never panics.
func FuzzPcapReader(f *testing.F) {
	good := record(1, 0, 4, 4, []byte{1, 2, 3, 4})
	f.Add(append(good, good...), uint16(64))
	f.Add(append(good, record(1, 0, 0x7fffffff, 0x7fffffff, nil)...), uint16(17))
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap"))
	for _, name := range files[:min(3, len(files))] {
		b, _ := os.ReadFile(name)
		if len(b) > 24 {
			f.Add(b[24:min(len(b), 4000)], uint16(300))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, bufSize uint16) {
		file := pcapBytes(65535, body)
		want, wantErr := readWithPcapgo(t, file)
		got, gotErr := readWithFill(file, int(bufSize)+1)
		if wantErr == nil && gotErr == io.ErrUnexpectedEOF {
			// pcapgo ends quietly on a record header whose data is all
			// missing; we call that truncated. Both must have read the same.
			used := 24
			for _, p := range want {
				used += 16 + len(p.data)
			}
			if used+16 > len(file) {
				t.Errorf("truncated at %d of %d bytes", used, len(file))
			}
			wantErr = gotErr
		}
		// Timestamps are not compared: pcapgo multiplies a fraction of a
		// second out of range (over 999,999 µs) in 32 bits, and wraps.
		samePackets(t, "fuzzed", want, got, wantErr, gotErr, false)
	})
}

// TestPcapFromPipe: from a pipe (tcpdump -w - | tlsscope -) a packet is
// handed out when its record has come, without waiting for a full batch.
func TestPcapFromPipe(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(pcapBytes(65535, record(1, 0, 4, 4, []byte{1, 2, 3, 4})))
	got := make(chan error, 1)
	go func() {
		src, err := openReader("stdin", pr, 0)
		if err == nil {
			_, err = src.Next()
		}
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first packet waited for more input")
	}
}

const testdata = "../../testdata"

// TestEmptyRecords: records of no bytes are skipped and counted; a long run
// of them ends the file as damaged, at once, with the packets before it,
// and without growing the buffer (a gzipped pcap of 20 GiB of them is 20
// MB).
func TestEmptyRecords(t *testing.T) {
	good := record(1, 0, 4, 4, []byte{1, 2, 3, 4})
	empty := record(1, 0, 0, 0, nil)
	body := append(append(append([]byte(nil), good...), bytes.Repeat(empty, 10)...), good...)
	got, err := readWithFill(pcapBytes(65535, body), 100)
	if err != nil || len(got) != 2 {
		t.Fatalf("%d packets, %v; want the 2 around 10 empty records", len(got), err)
	}
	body = append(append([]byte(nil), good...), bytes.Repeat(empty, 3*maxEmptyRun)...)
	p, err := newPcapFile(bytes.NewReader(pcapBytes(65535, body)))
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{Buf: make([]byte, 0, 4096)}
	var n int
	for err == nil {
		err = p.fill(b)
		n += len(b.Packets)
	}
	if n != 1 || err == io.EOF || !strings.Contains(err.Error(), "in a row of no bytes at offset") {
		t.Errorf("%d packets, %v; want 1 and a damaged file", n, err)
	}
	if cap(b.Buf) > 4096 || p.Empty() != maxEmptyRun {
		t.Errorf("buffer grew to %d, %d empty counted", cap(b.Buf), p.Empty())
	}
}
