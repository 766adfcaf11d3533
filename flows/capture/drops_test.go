package capture

import (
	"bytes"
	"io"
	"testing"
)

// isb appends an Interface Statistics Block with the given options.
func (w *ngWriter) isb(id uint32, ts uint64, opts ...[]byte) *ngWriter {
	body := cat(w.u32(id), w.u32(uint32(ts>>32)), w.u32(uint32(ts)))
	if len(opts) > 0 {
		body = cat(body, cat(opts...), w.endOpts())
	}
	return w.block(ngInterfaceStats, body)
}

// counters are an ISB's isb_ifrecv, isb_ifdrop and isb_osdrop options.
func (w *ngWriter) counters(recv, ifdrop, osdrop uint64) [][]byte {
	return [][]byte{w.opt(4, w.u64(recv)), w.opt(5, w.u64(ifdrop)), w.opt(7, w.u64(osdrop))}
}

// TestPcapngDrops: the Interface Statistics Blocks' counters, as the file
// is read: cumulative per interface (the latest counts, an older one read
// late lowers nothing), summed over interfaces and sections, in both byte
// orders; blocks naming no interface, or cut short, tell nothing.
func TestPcapngDrops(t *testing.T) {
	frame := []byte("frame")
	for _, o := range []struct {
		name string
		bo   *ngWriter
	}{{"le", newNg(le)}, {"be", newNg(be)}} {
		w := o.bo
		w.shb(1, 0).idb(1, 0).idb(1, 0).
			epb(0, 1, frame).
			isb(0, 2, w.counters(10, 1, 2)...). // mid-file: 3 dropped so far
			epb(1, 3, frame).
			isb(1, 4, w.counters(5, 0, 4)...).
			isb(0, 5, w.counters(8, 0, 1)...).    // older counters: lower nothing
			isb(7, 5, w.counters(99, 99, 99)...). // no interface 7
			isb(0, 6, w.opt(7, w.u32(50))).       // an osdrop of 4 bytes is no counter
			epb(0, 7, frame).
			shb(1, 0).idb(1, 0). // a new section: its interface 0 is another
			epb(0, 8, frame).
			isb(0, 9, w.counters(3, 0, 6)...)
		// What Drops says after each packet. isb_ifrecv counts the
		// packets the system dropped (isb_osdrop): Received does not.
		want := []Drops{
			{},
			{Received: 8, Interface: 1, Kernel: 2},
			{Received: 9, Interface: 1, Kernel: 6},
			{Received: 9, Interface: 1, Kernel: 6},
		}
		src, err := OpenReader("t.pcapng", bytes.NewReader(w.bytes()))
		if err != nil {
			t.Fatal(err)
		}
		ds, ok := src.(DropSource)
		if !ok {
			t.Fatal("a pcapng source is no DropSource")
		}
		for i := 0; ; i++ {
			_, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			// Next reads ahead a batch: Drops tells what was read, at
			// least what came before the packet.
			if got := ds.Drops(); i < len(want) && (got.Kernel < want[i].Kernel || got.Interface < want[i].Interface) {
				t.Errorf("%s: after packet %d, drops %+v, want at least %+v", o.name, i+1, got, want[i])
			}
		}
		end := Drops{Received: 9, Interface: 1, Kernel: 12} // the last section's 6 dropped of 3 received: none seen
		if got := ds.Drops(); got != end {
			t.Errorf("%s: at the end, drops %+v, want %+v", o.name, got, end)
		}
		if got := (end).Dropped(); got != 13 {
			t.Errorf("Dropped() = %d, want 13", got)
		}
		// A Merge sums its sources; a Stoppable and a Tee pass it on.
		src2, _ := OpenReader("t2.pcapng", bytes.NewReader(w.bytes()))
		ReadAll(src2)
		m := NewMerge([]Source{src, src2})
		if got := DropsOf(NewStoppable(m)); got != end.add(end) {
			t.Errorf("%s: merged, drops %+v, want twice %+v", o.name, got, end)
		}
	}
}

// TestPcapngDropsFill: read in batches (the analyzer's path), the counts
// of an ISB after the last packet are there once Fill says io.EOF.
func TestPcapngDropsFill(t *testing.T) {
	w := newNg(le)
	w.shb(1, 0).idb(1, 0).epb(0, 1, []byte("frame")).isb(0, 2, w.counters(1, 0, 9)...)
	src, err := OpenReader("t.pcapng", bytes.NewReader(w.bytes()))
	if err != nil {
		t.Fatal(err)
	}
	bs := src.(BatchSource)
	b := Batch{Buf: make([]byte, 0, 64)} // small: the ISB comes in a later read
	for {
		if err := bs.Fill(&b); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if got := DropsOf(src); got != (Drops{Received: 0, Kernel: 9}) {
		t.Errorf("drops %+v", got)
	}
	// Classic pcap says nothing.
	if got := DropsOf(&fileSource{pcap: &pcapFile{}}); got != (Drops{}) {
		t.Errorf("pcap drops %+v", got)
	}
}
