package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tlsscope/tlsscope/internal/testenv"
)

// pcapngFiles lists the pcapng files of testdata and of the shared corpus
// when it is there, told apart by magic number, and, when editcap is
// installed, the classic pcap files of both converted to pcapng.
func pcapngFiles(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcap*"))
	if testenv.HaveShared("../..") {
		files = append(files, testenv.SharedCaptures(t, "../..")...)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if hasPrefix(b, magicNg) {
			out = append(out, f)
		}
	}
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Log("editcap not installed: the classic pcap files are not converted to pcapng")
		return out
	}
	dir := t.TempDir()
	for i, f := range classicPcaps(t) {
		ng := filepath.Join(dir, strconv.Itoa(i)+"-"+filepath.Base(f)+".pcapng")
		if out2, err := exec.Command(editcap, "-F", "pcapng", f, ng).CombinedOutput(); err != nil {
			t.Fatalf("editcap %s: %v\n%s", f, err, out2)
		}
		out = append(out, ng)
	}
	return out
}

// refPacket is a packet read, and whether pcapgo's timestamp is exact:
// pcapgo converts 2^-n units with an integer approximation of 10^9/2^n.
type refPacket struct {
	readPacket
	exactTime bool
}

// readWithNgReader is the reference: gopacket's pcapng reader, with the
// options source.go used.
func readWithNgReader(b []byte) ([]refPacket, error) {
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
	if err != nil {
		return nil, err
	}
	var out []refPacket
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		link := ci.AncillaryData[0].(layers.LinkType)
		iface, _ := r.Interface(ci.InterfaceIndex)
		out = append(out, refPacket{
			readPacket: seen(data, ci, link),
			exactTime:  !iface.TimestampResolution.Binary() || iface.TimestampResolution.Exponent() == 0,
		})
	}
}

// readNgWithFill reads with our reader through batches of bufSize bytes,
// so that blocks are cut at batch ends and some do not fit a batch at all.
func readNgWithFill(b []byte, bufSize int) ([]readPacket, error) {
	p, err := newPcapngFile(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return drain(p, bufSize)
}

// readNgWithNext reads through the Source interface, one packet at a time.
func readNgWithNext(b []byte) ([]readPacket, error) {
	src, err := OpenReader("f.pcapng", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var out []readPacket
	for {
		f, err := src.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, seen(f.Data, f.CI, f.Link))
	}
}

// firstDifference compares packets with pcapgo's and says where they
// first differ, or "" if one list is a prefix of the other.
func firstDifference(want []refPacket, got []readPacket) string {
	for i := range min(len(want), len(got)) {
		w, g := want[i], got[i]
		switch {
		case !bytes.Equal(w.data, g.data):
			return "packet " + strconv.Itoa(i+1) + ": data differs"
		case w.ci != g.ci:
			return "packet " + strconv.Itoa(i+1) + ": lengths " + g.ci + ", pcapgo " + w.ci
		case w.link != g.link:
			return "packet " + strconv.Itoa(i+1) + ": link type " + strconv.Itoa(int(g.link)) + ", pcapgo " + strconv.Itoa(int(w.link))
		case w.exactTime && w.ts != g.ts:
			return "packet " + strconv.Itoa(i+1) + ": time " + g.ts + ", pcapgo " + w.ts
		}
	}
	return ""
}

// TestPcapngReaderMatchesPcapgo reads every pcapng file of testdata and
// the corpus (and the classic ones converted by editcap) with our
// in-place reader, through batches of several sizes and packet by
// packet, and compares each packet, timestamp, length and link type with
// pcapgo's.
func TestPcapngReaderMatchesPcapgo(t *testing.T) {
	files := pcapngFiles(t)
	if len(files) < 2 {
		t.Fatalf("only %d pcapng files found", len(files))
	}
	packets := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		want, wantErr := readWithNgReader(b)
		if wantErr != nil {
			t.Errorf("%s: pcapgo: %v", f, wantErr)
		}
		for _, size := range []int{100, 4096, 1 << 20, -1} {
			name := filepath.Base(f) + " in " + strconv.Itoa(size) + "-byte batches"
			var got []readPacket
			if size < 0 {
				name = filepath.Base(f) + " packet by packet"
				got, err = readNgWithNext(b)
			} else {
				got, err = readNgWithFill(b, size)
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if d := firstDifference(want, got); d != "" || len(got) != len(want) {
				t.Errorf("%s: %d packets, pcapgo %d; %s", name, len(got), len(want), d)
			}
		}
		for _, w := range want {
			if !w.exactTime {
				t.Errorf("%s: timestamps in 2^-n units, not compared", f)
				break
			}
		}
		packets += len(want)
	}
	t.Logf("%d files, %d packets: the same as pcapgo's", len(files), packets)
}

// ngWriter builds pcapng files byte by byte, in either byte order.
type ngWriter struct {
	o   binary.AppendByteOrder
	buf []byte
}

func newNg(o binary.AppendByteOrder) *ngWriter { return &ngWriter{o: o} }

func (w *ngWriter) u16(v uint16) []byte { return w.o.AppendUint16(nil, v) }
func (w *ngWriter) u32(v uint32) []byte { return w.o.AppendUint32(nil, v) }
func (w *ngWriter) u64(v uint64) []byte { return w.o.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func pad4(b []byte) []byte { return append(b, make([]byte, (4-len(b)%4)%4)...) }

// block appends a block of the given type and body (padded).
func (w *ngWriter) block(typ uint32, body []byte) *ngWriter {
	body = pad4(append([]byte(nil), body...))
	n := uint32(12 + len(body))
	w.buf = append(w.buf, cat(w.u32(typ), w.u32(n), body, w.u32(n))...)
	return w
}

// raw appends bytes as they are.
func (w *ngWriter) raw(b []byte) *ngWriter { w.buf = append(w.buf, b...); return w }

func (w *ngWriter) opt(code uint16, v []byte) []byte {
	return cat(w.u16(code), w.u16(uint16(len(v))), pad4(append([]byte(nil), v...)))
}

func (w *ngWriter) endOpts() []byte { return make([]byte, 4) }

func (w *ngWriter) shb(major, minor uint16) *ngWriter {
	return w.block(ngSectionHeader, cat(w.u32(ngByteOrderMagic), w.u16(major), w.u16(minor), w.u64(^uint64(0))))
}

func (w *ngWriter) idb(link uint16, snaplen uint32, opts ...[]byte) *ngWriter {
	body := cat(w.u16(link), w.u16(0), w.u32(snaplen))
	if len(opts) > 0 {
		body = cat(body, cat(opts...), w.endOpts())
	}
	return w.block(ngInterfaceDesc, body)
}

func (w *ngWriter) epbBody(id uint32, ts uint64, capLen, origLen uint32, data []byte) []byte {
	return cat(w.u32(id), w.u32(uint32(ts>>32)), w.u32(uint32(ts)), w.u32(capLen), w.u32(origLen), pad4(append([]byte(nil), data...)))
}

func (w *ngWriter) epb(id uint32, ts uint64, data []byte) *ngWriter {
	return w.block(ngEnhancedPacket, w.epbBody(id, ts, uint32(len(data)), uint32(len(data)), data))
}

func (w *ngWriter) bytes() []byte { return w.buf }

var (
	le binary.AppendByteOrder = binary.LittleEndian
	be binary.AppendByteOrder = binary.BigEndian
)

type wantPacket struct {
	data string
	ts   time.Time
	ci   string
	link uint32
}

// TestPcapngBlocks: each block type and option, in both byte orders, from
// bytes written by hand, through batches of several sizes.
func TestPcapngBlocks(t *testing.T) {
	frame := []byte("frame")
	t0 := time.Unix(1_700_000_000, 0).UTC()
	type tc struct {
		name    string
		file    []byte
		packets []wantPacket
		secrets []Secret
		pcapgo  string // how pcapgo differs, if it does
	}
	var cases []tc
	for _, o := range []binary.AppendByteOrder{le, be} {
		on := " (" + o.String() + ")"
		w := func() *ngWriter { return newNg(o).shb(1, 0) }
		cases = append(cases,
			tc{name: "EPB, microseconds by default" + on,
				file:    w().idb(1, 0).epb(0, 1_700_000_000_000_123, frame).bytes(),
				packets: []wantPacket{{"frame", t0.Add(123 * time.Microsecond), "5/5", 1}}},
			tc{name: "EPB, if_tsresol 10^-9" + on,
				file:    w().idb(1, 65535, newNg(o).opt(9, []byte{9})).epb(0, 1_700_000_000_000_000_007, frame).bytes(),
				packets: []wantPacket{{"frame", t0.Add(7), "5/5", 1}}},
			tc{name: "EPB, if_tsresol 10^-3 and if_tsoffset" + on,
				file:    w().idb(1, 0, newNg(o).opt(9, []byte{3}), newNg(o).opt(14, newNg(o).u64(1_000_000_000))).epb(0, 700_000_000_250, frame).bytes(),
				packets: []wantPacket{{"frame", t0.Add(250 * time.Millisecond), "5/5", 1}}},
			tc{name: "EPB, a negative if_tsoffset" + on,
				file:    w().idb(1, 0, newNg(o).opt(14, newNg(o).u64(^uint64(1_000_000_000-1)))).epb(0, 2_700_000_000_000_000, frame).bytes(),
				packets: []wantPacket{{"frame", t0, "5/5", 1}}},
			tc{name: "EPB, if_tsresol 10^0" + on,
				file:    w().idb(1, 0, newNg(o).opt(9, []byte{0})).epb(0, 1_700_000_000, frame).bytes(),
				packets: []wantPacket{{"frame", t0, "5/5", 1}},
				pcapgo:  "pcapgo takes an if_tsresol of 0 for none: microseconds"},
			tc{name: "EPB, if_tsresol 2^-10" + on,
				file:    w().idb(1, 0, newNg(o).opt(9, []byte{0x80 | 10})).epb(0, 1_700_000_000<<10|512, frame).bytes(),
				packets: []wantPacket{{"frame", t0.Add(500 * time.Millisecond), "5/5", 1}},
				pcapgo:  "pcapgo multiplies 512 by 10^9/2^10 rounded down (976): 499.712 ms"},
			tc{name: "EPB, if_tsresol 2^-32" + on,
				file:    w().idb(1, 0, newNg(o).opt(9, []byte{0x80 | 32})).epb(0, 1_700_000_000<<32|1<<30, frame).bytes(),
				packets: []wantPacket{{"frame", t0.Add(250 * time.Millisecond), "5/5", 1}},
				pcapgo:  "pcapgo divides 2^30 by 2^32/10^9 rounded down (4): 268.435456 ms"},
			tc{name: "EPB, a captured length under the original one, options after the data" + on,
				file: w().idb(1, 3).block(ngEnhancedPacket, cat(newNg(o).epbBody(0, 0, 3, 1500, []byte("fra")),
					newNg(o).opt(1, []byte("a comment")), newNg(o).endOpts())).bytes(),
				packets: []wantPacket{{"fra", time.Unix(0, 0).UTC(), "3/1500", 1}}},
			tc{name: "two interfaces, two link types" + on,
				file:    w().idb(1, 0).idb(113, 0).epb(1, 0, frame).epb(0, 1, frame).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 113}, {"frame", time.Unix(0, 1000).UTC(), "5/5", 1}}},
			tc{name: "simple packet block" + on,
				file:    w().idb(1, 0).block(ngSimplePacket, cat(newNg(o).u32(5), frame)).bytes(),
				packets: []wantPacket{{"frame", time.Time{}, "5/5", 1}}},
			tc{name: "simple packet block cut by the snap length" + on,
				file:    w().idb(1, 3).block(ngSimplePacket, cat(newNg(o).u32(5), []byte("fra"))).bytes(),
				packets: []wantPacket{{"fra", time.Time{}, "3/5", 1}}},
			tc{name: "simple packet block shorter than its packet" + on,
				file:    w().idb(1, 0).block(ngSimplePacket, cat(newNg(o).u32(1500), []byte("fram"))).bytes(),
				packets: []wantPacket{{"fram", time.Time{}, "4/1500", 1}},
				pcapgo:  "pcapgo takes 1500 bytes, past the block's end, and fails"},
			tc{name: "obsolete packet block" + on,
				file: w().idb(1, 0).idb(113, 0).block(ngPacket, cat(newNg(o).u16(1), newNg(o).u16(0), newNg(o).u32(0), newNg(o).u32(2),
					newNg(o).u32(5), newNg(o).u32(5), frame)).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 2000).UTC(), "5/5", 113}}},
			tc{name: "decryption secrets kept" + on,
				file: w().block(ngDecryptSecrets, cat(newNg(o).u32(SecretsTLSKeyLog), newNg(o).u32(11), pad4([]byte("CLIENT_RAND")))).
					idb(1, 0).epb(0, 0, frame).
					block(ngDecryptSecrets, cat(newNg(o).u32(0x5353484b), newNg(o).u32(0))).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 1}},
				secrets: []Secret{{SecretsTLSKeyLog, []byte("CLIENT_RAND")}, {0x5353484b, []byte{}}}},
			tc{name: "unknown, statistics, name resolution and custom blocks skipped" + on,
				file: w().idb(1, 0).block(0x0bad, []byte("whatever")).block(5, make([]byte, 12)).block(4, make([]byte, 4)).
					block(0x40000bad, nil).block(0x80000001, []byte{1}).epb(0, 0, frame).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 1}}},
			tc{name: "statistics of an undefined interface skipped" + on,
				file:    w().idb(1, 0).block(5, cat(newNg(o).u32(3), make([]byte, 8))).epb(0, 0, frame).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 1}},
				pcapgo:  "pcapgo reads statistics blocks and fails on one naming an undefined interface"},
			tc{name: "a name record too short for its address skipped" + on,
				file:    w().idb(1, 0).block(4, cat(newNg(o).u16(1), newNg(o).u16(2), make([]byte, 4), make([]byte, 4))).epb(0, 0, frame).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 1}},
				pcapgo:  "pcapgo reads name resolution blocks and fails on an IPv4 record of 2 bytes"},
			tc{name: "a statistics block shorter than its header skipped" + on,
				file:    w().idb(1, 0).block(5, make([]byte, 4)).epb(0, 0, frame).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 1}},
				pcapgo:  "pcapgo reads the 12 bytes of a statistics header past the block's end, and fails"},
			tc{name: "a new section resets interfaces and may change byte order" + on,
				file:    cat(w().idb(113, 0).epb(0, 0, frame).bytes(), newNg(other(o)).shb(1, 0).idb(1, 0).epb(0, 1, frame).bytes()),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 113}, {"frame", time.Unix(0, 1000).UTC(), "5/5", 1}}},
			tc{name: "a section of major version 2 skipped" + on,
				file:    cat(w().idb(1, 0).epb(0, 0, frame).bytes(), newNg(o).shb(2, 0).block(0x77, nil).epb(7, 0, frame).bytes(), w().idb(113, 0).epb(0, 1, frame).bytes()),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 1}, {"frame", time.Unix(0, 1000).UTC(), "5/5", 113}}},
			tc{name: "minor version 2 read as 1.0" + on,
				file:    newNg(o).shb(1, 2).idb(1, 0).epb(0, 0, frame).bytes(),
				packets: []wantPacket{{"frame", time.Unix(0, 0).UTC(), "5/5", 1}},
				pcapgo:  "pcapgo skips any minor version but 0; the spec says readers must take 1.2 as 1.0"},
			tc{name: "no packets" + on, file: w().idb(1, 0).bytes()},
		)
	}
	for _, c := range cases {
		for _, size := range []int{100, 4096, 1 << 20} {
			got, err := readNgWithFill(c.file, size)
			if err != nil {
				t.Errorf("%s, %d-byte batches: %v", c.name, size, err)
			}
			if len(got) != len(c.packets) {
				t.Errorf("%s, %d-byte batches: %d packets, want %d", c.name, size, len(got), len(c.packets))
				continue
			}
			for i, w := range c.packets {
				g := got[i]
				if string(g.data) != w.data || g.ts != w.ts.String() || g.ci != w.ci || g.link != w.link {
					t.Errorf("%s, %d-byte batches: packet %d is %q %s %s link %d, want %q %s %s link %d", c.name, size, i+1, g.data, g.ts, g.ci, g.link, w.data, w.ts, w.ci, w.link)
				}
			}
		}
		src, err := OpenReader("f.pcapng", bytes.NewReader(c.file))
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for err == nil {
			_, err = src.Next()
		}
		secrets := src.(SecretsSource).Secrets()
		if len(secrets) != len(c.secrets) {
			t.Errorf("%s: %d secrets, want %d", c.name, len(secrets), len(c.secrets))
		}
		for i := range min(len(secrets), len(c.secrets)) {
			if secrets[i].SecretsType != c.secrets[i].SecretsType || !bytes.Equal(secrets[i].Data, c.secrets[i].Data) {
				t.Errorf("%s: secret %d is %#x %q, want %#x %q", c.name, i+1, secrets[i].SecretsType, secrets[i].Data, c.secrets[i].SecretsType, c.secrets[i].Data)
			}
		}
		// pcapgo agrees, or differs as documented.
		want, wantErr := readWithNgReader(c.file)
		same := wantErr == nil && len(want) == len(c.packets)
		for i := range min(len(want), len(c.packets)) {
			same = same && string(want[i].data) == c.packets[i].data && want[i].ts == c.packets[i].ts.String() && want[i].ci == c.packets[i].ci
		}
		if same != (c.pcapgo == "") {
			t.Errorf("%s: pcapgo reads %d packets, %v; documented difference: %q", c.name, len(want), wantErr, c.pcapgo)
		} else if !same {
			t.Logf("%s: pcapgo differs (%s): %d packets, %v", c.name, c.pcapgo, len(want), wantErr)
		}
	}
}

func other(o binary.AppendByteOrder) binary.AppendByteOrder {
	if o == le {
		return be
	}
	return le
}

// TestPcapngDamaged: the packets before the damage are read, then an
// error that says what and at which byte.
func TestPcapngDamaged(t *testing.T) {
	w := func() *ngWriter { return newNg(le).shb(1, 0).idb(1, 0).epb(0, 0, []byte("good")) }
	head := len(w().bytes()) // where the damaged block starts
	at := "at byte " + strconv.Itoa(head)
	n := newNg(le)
	cases := []struct {
		name string
		file []byte
		err  string
	}{
		{"length not a multiple of 4", w().raw(cat(n.u32(0x0bad), n.u32(14), make([]byte, 6))).bytes(), "not a multiple of 4"},
		{"length under 12", w().raw(cat(n.u32(0x0bad), n.u32(8), make([]byte, 8))).bytes(), "is under 12"},
		{"length zero", w().raw(make([]byte, 16)).bytes(), "is under 12"},
		{"trailing length differs", w().raw(cat(n.u32(0x0bad), n.u32(16), n.u32(0), n.u32(20))).bytes(), "total length 16, but 20 at its end"},
		{"block over 16 MiB cut", w().raw(cat(n.u32(ngEnhancedPacket), n.u32(16<<20+4), make([]byte, 100))).bytes(), "truncated"},
		{"captured length past the block", w().block(ngEnhancedPacket, n.epbBody(0, 0, 9, 9, []byte("fram"))).bytes(), "captured length 9 exceeds the block"},
		{"captured length over the snap length", newNg(le).shb(1, 0).idb(1, 4).epb(0, 0, []byte("good")).epb(0, 0, []byte("toolong")).bytes(), "exceeds snap length: 7 > 4"},
		{"undefined interface", w().epb(1, 0, []byte("x")).bytes(), "interface 1, but the section has 1"},
		{"interface of the section before", w().shb(1, 0).epb(0, 0, []byte("x")).bytes(), "interface 0, but the section has 0"},
		{"simple packet with no interface", w().shb(1, 0).block(ngSimplePacket, cat(n.u32(1), []byte("x"))).bytes(), "the section has no interface"},
		{"packet block too short", w().block(ngEnhancedPacket, make([]byte, 16)).bytes(), "too short for its header"},
		{"bad byte-order magic", w().raw(cat(n.u32(ngSectionHeader), n.u32(28), n.u32(0x12345678), make([]byte, 16))).bytes(), "unknown byte-order magic"},
		{"section header too short", w().block(ngSectionHeader, n.u32(ngByteOrderMagic)).bytes(), "section header " + at + ": 16 bytes, too short"},
		{"timestamp resolution 10^-20", w().idb(1, 0, n.opt(9, []byte{20})).bytes(), "timestamp resolution 10^-20"},
		{"timestamp resolution 2^-64", w().idb(1, 0, n.opt(9, []byte{0x80 | 64})).bytes(), "timestamp resolution 2^-64"},
		{"option past the block", w().block(ngInterfaceDesc, cat(n.u16(1), n.u16(0), n.u32(0), n.u16(9), n.u16(40), make([]byte, 4))).bytes(), "runs past the block"},
		{"secrets past the block", w().block(ngDecryptSecrets, cat(n.u32(SecretsTLSKeyLog), n.u32(100), make([]byte, 8))).bytes(), "exceed the block"},
		{"last block cut", w().epb(0, 0, []byte("cut")).bytes()[:head+20], "truncated"},
		{"last block header cut", w().epb(0, 0, []byte("cut")).bytes()[:head+6], "truncated"},
	}
	for _, tc := range cases {
		for _, size := range []int{100, 4096, 1 << 20} {
			got, err := readNgWithFill(tc.file, size)
			if len(got) != 1 || string(got[0].data) != "good" {
				t.Errorf("%s, %d-byte batches: %d packets before the damage, want 1", tc.name, size, len(got))
			}
			if err == nil {
				t.Errorf("%s, %d-byte batches: no error", tc.name, size)
			}
		}
		got, err := readNgWithNext(tc.file)
		where := at
		if strings.Contains(tc.name, "section before") || strings.Contains(tc.name, "no interface") {
			where = "at byte " + strconv.Itoa(head+28) // after a new section header
		}
		switch {
		case len(got) != 1:
			t.Errorf("%s: %d packets, want 1", tc.name, len(got))
		case err == nil || !strings.Contains(err.Error(), tc.err):
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.err)
		case tc.err != "truncated" && (!strings.Contains(err.Error(), "damaged capture: ") || !strings.Contains(err.Error(), where)):
			t.Errorf("%s: error %v does not say it is damage %s", tc.name, err, where)
		case !errors.As(err, new(*InputError)):
			t.Errorf("%s: error %v does not name the file", tc.name, err)
		}
	}
}

// TestPcapngHeader: what is wrong with the first section header is said
// when the file is opened.
func TestPcapngHeader(t *testing.T) {
	n := newNg(le)
	cases := []struct {
		name string
		file []byte
		err  string
	}{
		{"cut", newNg(le).shb(1, 0).bytes()[:10], "bad pcapng header: section header cut short"},
		{"body cut", newNg(le).shb(1, 0).bytes()[:20], "bad pcapng header: section header cut short"},
		{"byte order", cat(n.u32(ngSectionHeader), n.u32(28), n.u32(0x01020304), make([]byte, 16)), "unknown byte-order magic"},
		{"length", cat(n.u32(ngSectionHeader), n.u32(1<<30), n.u32(ngByteOrderMagic), make([]byte, 16)), "total length 1073741824 is over 16777216"},
		{"16 MiB claimed", cat(n.u32(ngSectionHeader), n.u32(16<<20), n.u32(ngByteOrderMagic), make([]byte, 16)), "section header cut short"},
		{"trailer", cat(n.u32(ngSectionHeader), n.u32(28), n.u32(ngByteOrderMagic), make([]byte, 12), n.u32(32)), "but 32 at its end"},
	}
	for _, tc := range cases {
		_, err := OpenReader("f.pcapng", bytes.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.err)
		}
	}
}

// TestPcapngHugeClaim: a small file whose packet block claims 1 GiB, or
// just under the 16 MiB bound, makes us allocate little: pcapgo's
// NgReader, fed the same 1 GiB claim, allocates for it.
func TestPcapngHugeClaim(t *testing.T) {
	n := newNg(le)
	good := newNg(le).shb(1, 0).idb(1, 0).epb(0, 0, []byte("good")).bytes()
	for _, claim := range []uint32{1<<30 + 32, 16<<20 - 4} {
		file := cat(good, n.u32(ngEnhancedPacket), n.u32(claim), n.epbBody(0, 0, claim-32, claim-32, make([]byte, 64<<10)))
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		got, err := readNgWithNext(file)
		runtime.ReadMemStats(&after)
		if len(got) != 1 || err == nil {
			t.Errorf("claim of %d: %d packets, %v", claim, len(got), err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
			t.Errorf("claim of %d bytes in a %d-byte file: %d bytes allocated", claim, len(file), alloc)
		} else {
			t.Logf("claim of %d bytes in a %d-byte file: %d bytes allocated, %v", claim, len(file), alloc, err)
		}
	}
}

// TestPcapngSecretsBound: secrets are kept up to 16 MiB in all; the
// blocks over it are counted, not kept.
func TestPcapngSecretsBound(t *testing.T) {
	w := newNg(le).shb(1, 0).idb(1, 0)
	n := newNg(le)
	chunk := make([]byte, 1<<20)
	for range 17 {
		w.block(ngDecryptSecrets, cat(n.u32(SecretsTLSKeyLog), n.u32(uint32(len(chunk))), chunk))
	}
	w.epb(0, 0, []byte("x"))
	src, err := OpenReader("f.pcapng", bytes.NewReader(w.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Next(); err != nil {
		t.Fatal(err)
	}
	fs := src.(*fileSource)
	if got := len(fs.Secrets()); got != 16 {
		t.Errorf("%d secrets kept, want 16", got)
	}
	if got := fs.ng.SecretsDropped(); got != 1 {
		t.Errorf("%d secrets dropped, want 1", got)
	}
}

// TestPcapngSecretsOfCorpus: the key log that editcap --inject-secrets
// put in a capture of the corpus comes out whole.
func TestPcapngSecretsOfCorpus(t *testing.T) {
	dir := testenv.NeedShared(t, "../..")
	name := filepath.Join(dir, "ja4", "pcap", "chrome-cloudflare-quic-with-secrets.pcapng")
	src, err := OpenFile(name)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for err == nil {
		_, err = src.Next()
	}
	if err != io.EOF {
		t.Fatal(err)
	}
	s := src.(SecretsSource).Secrets()
	if len(s) != 1 || s[0].SecretsType != SecretsTLSKeyLog || !bytes.Contains(s[0].Data, []byte("CLIENT_HANDSHAKE_TRAFFIC_SECRET ")) {
		t.Fatalf("secrets %d, want one TLS key log", len(s))
	}
	t.Logf("%d bytes of key log", len(s[0].Data))
}

// TestPcapngFromPipe: from a pipe a packet is handed out when its block
// has come, without waiting for a full batch.
func TestPcapngFromPipe(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(newNg(le).shb(1, 0).idb(1, 0).epb(0, 0, []byte("x")).bytes())
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

// ourStrictness lists the errors by which we stop where pcapgo reads on:
// rules of the spec that pcapgo does not check. pcapgo never compares a
// block's total length with its trailing copy, nor requires a multiple
// of 4, 12 bytes at least or 16 MiB at most (it subtracts the header from
// the length field in 32 bits, so that a length under 8 wraps, and reads
// past a block's end whenever a field inside says so); it takes captured
// lengths over the snap length and timestamp resolutions 10^-20 to
// 10^-63, whose units do not fit in 64 bits (it then converts with a
// wrapped divisor). And with WantMixedLinkType, as we used it, pcapgo
// skips Decryption Secrets Blocks unread: it parses them only while
// looking for a first interface.
var ourStrictness = []string{
	"not a multiple of 4", "is under 12", "is over 16777216", "at its end",
	"exceeds snap length", "exceeds the block", "exceed the block", "runs past the block", "too short",
	"timestamp resolution 10^-",
}

// pcapgoFailures lists pcapgo's errors on blocks we skip unread or whose
// damage we judge otherwise: statistics blocks naming an undefined
// interface, name records too short for their address, option lists with an opt_endofopt of non-zero length (we
// stop at it and skip the rest of the block), and reads past a block's
// end (unexpected EOF), from an option, a name record or a statistics
// header running over it. The differential test of the files and the
// byte-literal cases show that these blocks' packets are the same.
var pcapgoFailures = []string{
	"not present in section", "End of Options must be zero length", "unexpected EOF",
	"could not read", "could not discard", "Wrong byte order", "Timestamp resolution",
	"is too short for its address",
}

func matchesAny(err error, list []string) bool {
	for _, s := range list {
		if err != nil && strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// anyBlock walks the blocks of b by their lengths and reports whether f
// is true of one; p has the byte order of its section.
func anyBlock(b []byte, f func(p *pcapngFile, typ uint32, blk []byte) bool) bool {
	p := &pcapngFile{}
	for len(b) >= 12 {
		if binary.LittleEndian.Uint32(b) == ngSectionHeader && p.byteOrder(b, 0) != nil {
			return false
		}
		n := int(p.u32(b[4:8]))
		if n < 12 || n%4 != 0 || n > len(b) {
			return false
		}
		if f(p, p.u32(b[0:4]), b[:n]) {
			return true
		}
		b = b[n:]
	}
	return false
}

// minorZero returns a copy of b whose section headers of major version 1
// say minor version 0: pcapgo skips sections of any other minor version,
// we read them, as the spec says (TestPcapngBlocks shows it), so that the
// fuzz test gives pcapgo the sections we read.
func minorZero(b []byte) []byte {
	b = bytes.Clone(b)
	anyBlock(b, func(p *pcapngFile, typ uint32, blk []byte) bool {
		if typ == ngSectionHeader && len(blk) >= 16 && p.u16(blk[12:14]) == 1 {
			blk[14], blk[15] = 0, 0
		}
		return false
	})
	return b
}

// shortSimplePacket reports whether a Simple Packet Block of b holds
// fewer bytes than its original length: pcapgo then takes the original
// (or snap) length anyway, and reads the block's trailing length and
// whatever follows as packet data; we take what the block holds.
func shortSimplePacket(b []byte) bool {
	return anyBlock(b, func(p *pcapngFile, typ uint32, blk []byte) bool {
		return typ == ngSimplePacket && len(blk) >= 16 && int64(p.u32(blk[8:12])) > int64(len(blk)-16)
	})
}

// explicitSeconds reports whether an interface of b has an if_tsresol
// of 0, that is 10^0: pcapgo takes it for no option, microseconds.
func explicitSeconds(b []byte) bool {
	return anyBlock(b, func(p *pcapngFile, typ uint32, blk []byte) bool {
		if typ != ngInterfaceDesc || len(blk) < 20 {
			return false
		}
		opts := blk[16 : len(blk)-4]
		for len(opts) >= 4 {
			code, l := p.u16(opts[0:2]), int(p.u16(opts[2:4]))
			if code == 9 && l >= 1 && len(opts) > 4 && opts[4] == 0 {
				return true
			}
			opts = opts[min(len(opts), (4+l+3)&^3):]
		}
		return false
	})
}

// FuzzPcapngReader: on any bytes after a valid section header our reader
// returns the packets pcapgo returns, timestamps included where pcapgo's
// are exact, and never panics; where the two part, the reason is one of
// the documented differences.
func FuzzPcapngReader(f *testing.F) {
	frame := []byte("frame")
	for _, o := range []binary.AppendByteOrder{le, be} {
		n := newNg(o)
		f.Add(newNg(o).idb(1, 0).epb(0, 1, frame).epb(0, 2, frame).bytes(), uint16(60))
		f.Add(newNg(o).idb(1, 4, n.opt(9, []byte{0x80 | 20}), n.opt(14, n.u64(5))).idb(113, 0).epb(1, 1<<40, frame).
			block(ngSimplePacket, cat(n.u32(3), frame)).block(ngDecryptSecrets, cat(n.u32(SecretsTLSKeyLog), n.u32(5), frame)).
			block(5, make([]byte, 12)).shb(1, 2).idb(1, 0).epb(0, 0, frame).bytes(), uint16(200))
		f.Add(newNg(o).idb(1, 0).raw(cat(n.u32(ngEnhancedPacket), n.u32(1<<30), n.epbBody(0, 0, 1<<30-32, 1<<30-32, frame))).bytes(), uint16(1000))
	}
	files, _ := filepath.Glob(filepath.Join(testdata, "*.pcapng"))
	for _, name := range files {
		b, _ := os.ReadFile(name)
		if len(b) > 28 {
			n := int(binary.LittleEndian.Uint32(b[4:8]))
			f.Add(b[n:min(len(b), n+4000)], uint16(300))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, bufSize uint16) {
		file := cat(newNg(le).shb(1, 0).bytes(), body)
		want, wantErr := readWithNgReader(minorZero(file))
		got, gotErr := readNgWithFill(file, int(bufSize)+1)
		if explicitSeconds(file) {
			for i := range want {
				want[i].exactTime = false
			}
		}
		if shortSimplePacket(file) {
			// pcapgo's packets from the short one on are not the file's.
			return
		}
		if d := firstDifference(want, got); d != "" {
			t.Fatalf("%s (ours: %v; pcapgo: %v)", d, gotErr, wantErr)
		}
		if len(got) == len(want) && (gotErr == nil) == (wantErr == nil) {
			return
		}
		switch {
		case gotErr != nil && gotErr != io.ErrUnexpectedEOF && matchesAny(gotErr, ourStrictness):
			// We stop on damage pcapgo does not see; what it reads after
			// is not ours to judge.
		case len(got) >= len(want) && wantErr != nil && matchesAny(wantErr, pcapgoFailures):
			// pcapgo fails on a block we skip or read within its bounds.
		case len(got) == len(want) && gotErr == io.ErrUnexpectedEOF && wantErr == nil:
			// The last block is cut inside a block pcapgo does not read
			// to its end (after an option list's end, or unknown), and it
			// ends quietly; all packets were read by both.
		default:
			t.Fatalf("%d packets, %v; pcapgo %d packets, %v", len(got), gotErr, len(want), wantErr)
		}
	})
}

// TestPcapngSkipsHugeBlock: a block longer than 16 MiB is read past as it
// comes, not held, when its trailing length agrees: the packets after it
// are read (a gzipped pcapng whose packet block claims 1 GiB between two
// connections), and the skip is said; when the trailing length differs,
// the file is damaged there.
func TestPcapngSkipsHugeBlock(t *testing.T) {
	n := newNg(le)
	const huge = 20 << 20
	block := cat(n.u32(ngEnhancedPacket), n.u32(huge), make([]byte, huge-12), n.u32(huge))
	file := newNg(le).shb(1, 0).idb(1, 0).epb(0, 0, []byte("before")).raw(block).epb(0, 0, []byte("after")).bytes()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	p, err := newPcapngFile(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	b := &Batch{Buf: make([]byte, 0, 64<<10)}
	var got []string
	for err == nil {
		err = p.fill(b)
		for _, pk := range b.Packets {
			got = append(got, string(pk.Data))
		}
	}
	runtime.ReadMemStats(&ms1)
	if err != io.EOF || strings.Join(got, ",") != "before,after" || len(p.Skipped()) != 1 || !strings.Contains(p.Skipped()[0], "a block of 20971520 bytes") {
		t.Fatalf("packets %q, end %v, skipped %q", got, err, p.Skipped())
	}
	if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 4<<20 {
		t.Errorf("%d bytes allocated to skip a 20 MiB block", alloc)
	}
	bad := cat(n.u32(ngEnhancedPacket), n.u32(huge), make([]byte, huge-12), n.u32(huge+4))
	file = newNg(le).shb(1, 0).idb(1, 0).epb(0, 0, []byte("before")).raw(bad).epb(0, 0, []byte("after")).bytes()
	pkts, err := readNgWithFill(file, 4096)
	if len(pkts) != 1 || err == nil || !strings.Contains(err.Error(), "but 20971524 at its end") {
		t.Errorf("%d packets, %v; want the one before and a damaged block", len(pkts), err)
	}
}
