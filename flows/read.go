package flows

import (
	"io"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/tlsscope/tlsscope/flows/capture"
)

// The reading pipeline: a goroutine reads and link-decodes the capture in
// batches, the analysis goroutine hands each frame to its transport.

// Run reads a source to its end. Reading and link decoding run in a
// goroutine of their own, handing over decoded frames in batches, so that
// the file is read and its headers decoded while the packets before are
// analysed; the analysis itself stays in one goroutine and its results
// in capture order.
func (a *Analyzer) Run(src capture.Source) error {
	batches := make(chan *batch, 4)
	free := make(chan *batch, 6)
	for range 6 {
		free <- &batch{Batch: capture.Batch{Buf: make([]byte, 0, capture.BatchSize)}}
	}
	var readErr error
	if capture.Inputs(src) > 1 {
		a.vantage = newVantageTable()
	}
	live := capture.IsLive(src)
	bulk, _ := src.(capture.BatchSource)
	if bulk != nil && !bulk.Bulk() {
		bulk = nil
	}
	secretsSrc, _ := src.(capture.SecretsSource)
	seenSecrets := 0
	// newSecrets hands the Decryption Secrets Blocks read since the last
	// batch to the analysis goroutine with the batch: the reader appends
	// them as it goes.
	dropSrc, _ := src.(capture.DropSource)
	dropsChanger, _ := src.(capture.DropsChanger)
	inputDrops, _ := src.(capture.InputDropSource)
	if capture.Inputs(src) < 2 {
		inputDrops = nil
	}
	var seenDrops capture.Drops
	newSecrets := func(b *batch) {
		// What the capturing side says it dropped goes with the batch
		// too, when it changed.
		if dropSrc != nil {
			if d := dropSrc.Drops(); d != seenDrops {
				b.drops, b.dropsNew, seenDrops = d, true, d
				if inputDrops != nil {
					b.dropsIn = inputDrops.InputDrops()
				}
			}
		}
		if secretsSrc == nil {
			return
		}
		if all := secretsSrc.Secrets(); len(all) > seenSecrets {
			b.secrets = append(b.secrets[:0], all[seenSecrets:]...)
			seenSecrets = len(all)
		}
	}
	go func() {
		defer close(batches)
		dec := newLinkDecoder()
		if bulk != nil {
			// Whole records read straight into the batch's buffer.
			for {
				b := <-free
				err := bulk.Fill(&b.Batch)
				newSecrets(b)
				if len(b.Packets) > 0 || len(b.secrets) > 0 || b.dropsNew {
					b.decode(dec)
					batches <- b
				} else {
					free <- b
				}
				if err != nil {
					if err != io.EOF {
						readErr = err
					}
					return
				}
			}
		}
		b := <-free
		var first time.Time // when the batch's first packet was read, live
		send := func() {
			newSecrets(b)
			b.decode(dec)
			batches <- b
			b = <-free
		}
		for {
			p, err := src.Next()
			if err == capture.ErrTick {
				// No packet for a while: pass on what there is, and the time.
				if len(b.Packets) > 0 {
					send()
				}
				b.tick = true
				send()
				continue
			}
			if err != nil {
				if err != io.EOF {
					readErr = err
				}
				if newSecrets(b); len(b.Packets) > 0 || len(b.secrets) > 0 || b.dropsNew {
					b.decode(dec)
					batches <- b
				}
				return
			}
			if len(b.Buf)+len(p.Data) > cap(b.Buf) && len(b.Packets) > 0 {
				send()
			} else if dropsChanger != nil && dropsChanger.DropsChanged() && len(b.Packets) > 0 {
				// Drops told between the packets before and this one.
				send()
			}
			// Zero-copy data is only valid until the next read.
			off := len(b.Buf)
			b.Buf = append(b.Buf, p.Data...)
			p.Data = b.Buf[off:len(b.Buf):len(b.Buf)]
			b.Packets = append(b.Packets, p)
			if live {
				// A batch a packet costs a hand-over between goroutines a
				// packet, which halves the rate at which a burst waiting in
				// the kernel's ring is drained (BenchmarkLiveRun); a batch
				// goes when full, when no packet came (ErrTick), or once
				// its first packet has waited liveBatchWait.
				if len(b.Packets) == 1 {
					first = time.Now()
				} else if time.Since(first) >= liveBatchWait {
					send()
				}
			}
		}
	}()
	// Live, a stall is said when its silence reaches the timeout: a timer
	// wakes the analysis then, busy link or idle. From a stream (a pipe:
	// Live without a live source) the clock is the capture's, which only
	// packets move.
	stalls := newStallClock(a, live)
	for {
		b, ok := stalls.next(batches)
		if !ok {
			break
		}
		if b == nil {
			continue // woken for a stall
		}
		for _, sec := range b.secrets {
			a.AddSecrets(sec)
		}
		if b.tick {
			a.Tick(time.Now())
		}
		for i := range b.Packets {
			a.frameIn(&b.Packets[i], &b.decoded[i])
		}
		if b.dropsNew {
			// Told after the batch's packets were read: at the last one's
			// time, live at the clock's.
			at := a.now
			if live {
				at = time.Now()
			}
			a.dropped(at, b.drops, b.dropsIn)
		}
		// After the drops: a stall is not said on a silence they explain.
		if a.opts.Live && !live && len(b.Packets) > 0 {
			a.Tick(a.now)
		}
		if cap(b.Buf) > 4*capture.BatchSize {
			// Grown for one huge record: do not keep it.
			b.Buf = make([]byte, 0, capture.BatchSize)
		}
		b.Buf, b.Packets, b.decoded, b.tick, b.secrets, b.dropsNew = b.Buf[:0], b.Packets[:0], b.decoded[:0], false, b.secrets[:0], false
		free <- b
	}
	if dropSrc != nil {
		// The reading is over: the counts as they stand now (a live
		// source's last refresh), for the connections still open.
		at := a.now
		if live {
			at = time.Now()
		}
		var in []capture.Drops
		if inputDrops != nil {
			in = inputDrops.InputDrops()
		}
		a.dropped(at, dropSrc.Drops(), in)
	}
	return readErr
}

// stallClock wakes a live analysis when a stall is due (Analyzer.stallDue).
type stallClock struct {
	a     *Analyzer
	timer *time.Timer // nil: not live
}

func newStallClock(a *Analyzer, live bool) *stallClock {
	c := &stallClock{a: a}
	if live && a.opts.Live && a.OnResult != nil {
		c.timer = time.NewTimer(time.Hour)
	}
	return c
}

// next returns the next batch, false when there are no more, or nil
// after a stall was looked for at its due time.
func (c *stallClock) next(batches <-chan *batch) (*batch, bool) {
	if c.timer == nil {
		b, ok := <-batches
		return b, ok
	}
	at := c.a.stallDue
	if gap := c.a.lastStallScan.Add(stallScanGap); gap.After(at) {
		at = gap
	}
	c.timer.Reset(max(time.Until(at), time.Millisecond))
	select {
	case b, ok := <-batches:
		return b, ok
	case <-c.timer.C:
		c.a.Tick(time.Now())
		return nil, true
	}
}

// liveBatchWait bounds how long a live packet waits in a batch that is
// not full, so that verdicts wait for it little more than for the kernel
// (capture.BlockTimeout).
const liveBatchWait = 10 * time.Millisecond

// batch is a run of captured packets and what the link decoder made of
// each, decoded in the reading goroutine.
type batch struct {
	capture.Batch
	secrets []capture.Secret // Decryption Secrets Blocks read before these packets
	// drops: what the capturing side says it dropped, when it changed
	// (dropsNew) since the batch before.
	drops    capture.Drops
	dropsNew bool
	dropsIn  []capture.Drops // with several inputs, each one's
	decoded  []decoded
	tick     bool // no packets: the time passed
}

func (b *batch) decode(dec *linkDecoder) {
	b.decoded = slices.Grow(b.decoded[:0], len(b.Packets))[:len(b.Packets)]
	for i := range b.Packets {
		p, d := &b.Packets[i], &b.decoded[i]
		d.seg = segment{}
		d.res = dec.decode(p.Link, p.Data, &d.seg, &d.icmp)
	}
}

// Packet processes one captured frame.
func (a *Analyzer) Packet(data []byte, ci gopacket.CaptureInfo, link layers.LinkType) {
	p, d := &a.onePacket, &a.one
	// Frames are numbered as they come, from 1.
	*p, *d = capture.Packet{Data: data, CI: ci, Link: link, Frame: a.Stats.Packets + 1}, decoded{}
	d.res = a.dec.decode(link, data, &d.seg, &d.icmp)
	a.frameIn(p, d)
}

// frameIn processes a frame whose link layers are decoded.
func (a *Analyzer) frameIn(p *capture.Packet, f *decoded) {
	ci, link := p.CI, p.Link
	a.cur = p
	atomic.AddInt64(&a.Stats.Packets, 1)
	atomic.AddInt64(&a.Stats.Bytes, int64(ci.CaptureLength))
	t := ci.Timestamp
	if a.Stats.First.IsZero() || t.Before(a.Stats.First) {
		a.Stats.First = t
	}
	if t.After(a.now) {
		a.now = t
	}
	a.Stats.Last = a.now
	seg := &f.seg
	switch f.res {
	case notTCP:
		a.Stats.NotTCP++
		return
	case unsupportedLink:
		a.Stats.UnsupportedLink++
		a.Stats.UnsupportedLinkTypes[link]++
		return
	case malformed:
		a.Stats.Malformed++
		return
	case ipFragment:
		a.Stats.IPFragments++
		return
	case icmpError:
		a.Stats.NotTCP++
		a.icmpError(f, t)
		return
	case decodedUDP:
		a.Stats.NotTCP++
		a.cur = p
		a.datagram(seg, t)
		if a.now.Sub(a.lastSweep) >= time.Second {
			a.sweep()
		}
		return
	}
	a.Stats.TCPPackets++
	if seg.truncated || ci.CaptureLength < ci.Length {
		a.Stats.Truncated++
	}
	a.segment(seg, ci)
	if a.now.Sub(a.lastSweep) >= time.Second {
		a.sweep()
	}
}
