package decoder

import (
	"errors"
	"fmt"
)

// DTLS 1.3 record protection (RFC 9147 §4): every protected record has the
// unified header (DTLSCiphertext), whose first byte carries only the two
// low bits of the epoch and whose 8- or 16-bit sequence number is
// encrypted (§4.2.3). To open one, in this order:
//
//  1. Record number encryption (§4.2.3): the mask is AES-ECB (or
//     ChaCha20) of the first 16 bytes of the ciphertext under the epoch's
//     sn_key (TrafficKeys.Mask); its first one or two bytes are XORed
//     onto the sequence number as sent. A record shorter than the sample
//     is not a record of a conforming sender (§4.2.3 asks it to pad).
//  2. The full 64-bit record number (§4.2.2): the one whose low bits are
//     those decrypted and which is closest to one more than the highest
//     record number of the epoch seen so far.
//  3. The AEAD as TLS 1.3's (§4.2.3 refers to RFC 8446 §5.3): the nonce
//     is the iv XORed with the 64-bit sequence number of the record, in
//     which the epoch is not (TrafficKeys.Nonce); the additional data is
//     "the entire header value ... (but prior to record number
//     encryption)" (§4): the header as on the wire, with the sequence
//     number bytes decrypted.
//  4. DTLSInnerPlaintext (§4, as RFC 8446 §5.4): the zero padding goes;
//     the last non-zero byte is the real content type.
//
// Epochs (§6.1): 1 is 0-RTT (client_early_traffic_secret), 2 the
// handshake (*_handshake_traffic_secret), 3 the first application
// traffic secret, each later one the next after a KeyUpdate (§8). With
// two bits of it in the header, the full epoch is the one of those that
// could come next whose keys open the record: the handshake's, the
// early data's, or the application epoch in use, the one before it (a
// late record) or the one after (after a KeyUpdate).

var (
	// errDTLS13Sample: a ciphertext too short for the record number
	// mask's 16-byte sample (RFC 9147 §4.2.3).
	errDTLS13Sample = errors.New("DTLS 1.3 record shorter than the 16-byte sample of its record number mask")
	// errDTLS13Open: no epoch's keys open the record.
	errDTLS13Open = fmt.Errorf("DTLS 1.3 record does not authenticate under any epoch it may be in (%w)", errRecordMAC)
)

// dtls13Keyer is a Keys that gives DTLS 1.3 traffic keys: from's in
// epoch e (EpochEarlyData, EpochHandshake, EpochApplication for the
// first application traffic secret).
type dtls13Keyer interface {
	trafficKeys13(from Side, e Epoch, hs *Handshake) (*TrafficKeys, error)
}

// dtls13Epoch is one epoch of one direction: its keys, the highest record
// number opened in it (§4.2.2's reference), and the numbers seen, to tell
// a record sent twice (§4.5.1).
type dtls13Epoch struct {
	epoch   uint64
	keys    *TrafficKeys
	highest uint64
	window  dtlsWindow
}

// dtls13Dir is one direction's DTLS 1.3 protection.
type dtls13Dir struct {
	// asked: the keys of epochs 1 and 2 and the first application epoch
	// were asked for, once the ServerHello gave the suite.
	asked            bool
	early, handshake *dtls13Epoch
	// app are the application epochs in use: [0] the one before the
	// current, [1] the current (the highest that opened a record), [2]
	// the next, derived when a record needs it. nil when unknown.
	app [3]*dtls13Epoch
	// why there are no keys
	why error
	// ad is the additional data of the record being opened: the header
	// (at most 1 + 255 + 2 + 2 bytes) with its sequence number decrypted.
	ad  [1 + maxDTLSCID + 4]byte
	buf []byte
}

// dtls13Opened is a record opened.
type dtls13Opened struct {
	typ   uint8
	epoch uint64
	seq   uint64
	plain []byte
	// duplicate: its record number was opened before.
	duplicate bool
}

// keys13 asks for the direction's keys once the suite is known.
func (c *DTLSConn) keys13(d Dir) *dtls13Dir {
	p := &c.prot13[d]
	if p.asked || c.keys == nil || c.m.HS.ServerHello == nil {
		return p
	}
	p.asked = true
	k, ok := c.keys.(dtls13Keyer)
	if !ok {
		p.why = errNoKeys
		return p
	}
	side := c.role(d)
	var err error
	get := func(e Epoch, n uint64) *dtls13Epoch {
		tk, kerr := k.trafficKeys13(side, e, &c.m.HS)
		if tk == nil {
			if err == nil || errors.Is(err, errNoKeys) {
				err = kerr
			}
			return nil
		}
		return &dtls13Epoch{epoch: n, keys: tk}
	}
	if side == Client {
		p.early = get(EpochEarlyData, 1)
	}
	p.handshake = get(EpochHandshake, 2)
	p.app[1] = get(EpochApplication, 3)
	if p.early == nil && p.handshake == nil && p.app[1] == nil {
		p.why = err
	}
	return p
}

// candidates are the epochs a record whose header says epoch bits may be
// in, most likely first.
func (p *dtls13Dir) candidates(bits uint8, out []*dtls13Epoch) []*dtls13Epoch {
	cur := p.app[1]
	for _, e := range []*dtls13Epoch{p.app[1], p.app[2], p.app[0]} {
		if e != nil && uint8(e.epoch&3) == bits {
			out = append(out, e)
		}
	}
	if bits == 2 && p.handshake != nil && (cur == nil || cur.epoch < 6) {
		out = append(out, p.handshake)
	}
	if bits == 1 && p.early != nil && (cur == nil || cur.epoch < 5) {
		out = append(out, p.early)
	}
	return out
}

// open13 opens a DTLS 1.3 record (r.unified) of direction d.
func (c *DTLSConn) open13(d Dir, r *dtlsRecord) (dtls13Opened, error) {
	p := c.keys13(d)
	prot := &c.prot[d]
	if prot.wrong {
		return dtls13Opened{}, errDTLS13Open
	}
	if p.early == nil && p.handshake == nil && p.app[1] == nil {
		if p.why != nil {
			return dtls13Opened{}, p.why
		}
		return dtls13Opened{}, errNoKeys
	}
	if len(r.body) < 16 {
		return dtls13Opened{}, errDTLS13Sample
	}
	if p.app[1] != nil && p.app[2] == nil {
		p.app[2] = &dtls13Epoch{epoch: p.app[1].epoch + 1, keys: p.app[1].keys.Next()}
	}
	var buf [5]*dtls13Epoch
	cands := p.candidates(uint8(r.epoch&3), buf[:0])
	if len(cands) == 0 {
		return dtls13Opened{}, fmt.Errorf("%w: none for a record of epoch %d mod 4", errNoKeys, r.epoch&3)
	}
	for _, e := range cands {
		o, ok := p.try(e, r)
		if !ok {
			continue
		}
		if e == p.app[2] {
			// A record of the next epoch: the sender updated its keys
			// (RFC 9147 §8).
			p.app[0], p.app[1], p.app[2] = p.app[1], p.app[2], nil
		}
		return o, nil
	}
	return dtls13Opened{}, errDTLS13Open
}

// try opens r under epoch e's keys.
func (p *dtls13Dir) try(e *dtls13Epoch, r *dtlsRecord) (dtls13Opened, bool) {
	// §4.2.3: the mask over the first 16 bytes of the ciphertext.
	mask := e.keys.Mask(r.body)
	seqAt := 1 + len(r.cid)
	n := copy(p.ad[:], r.header)
	ad := p.ad[:n]
	// The S bit: a 16-bit sequence number takes the mask's first two
	// bytes, an 8-bit one its first.
	bits := uint(8)
	if r.header[0]&0x08 != 0 {
		bits = 16
		ad[seqAt+1] ^= mask[1]
	}
	ad[seqAt] ^= mask[0]
	low := uint64(ad[seqAt])
	if bits == 16 {
		low = low<<8 | uint64(ad[seqAt+1])
	}
	seq := reconstructSeq13(low, bits, e.highest, e.window.any)
	nonce := e.keys.Nonce(seq)
	plain, err := e.keys.AEAD().Open(p.buf[:0], nonce[:], r.body, ad)
	if err != nil {
		return dtls13Opened{}, false
	}
	p.buf = plain[:0]
	dup := e.window.check(seq)
	if seq > e.highest {
		e.highest = seq
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		// Authenticated, and no content type (RFC 8446 §5.4): nothing to
		// read, but the keys are right.
		return dtls13Opened{epoch: e.epoch, seq: seq, duplicate: dup}, true
	}
	return dtls13Opened{typ: plain[i], epoch: e.epoch, seq: seq, plain: plain[:i], duplicate: dup}, true
}

// reconstructSeq13 is the full record number whose low bits are low: the
// one closest to one more than the highest of the epoch (RFC 9147
// §4.2.2; any: a record of the epoch was opened before, else the
// reference is 0).
func reconstructSeq13(low uint64, bits uint, highest uint64, any bool) uint64 {
	expected := uint64(0)
	if any {
		expected = highest + 1
	}
	window := uint64(1) << bits
	cand := expected&^(window-1) | low
	switch {
	case cand+window/2 <= expected:
		return cand + window
	case cand > expected+window/2 && cand >= window:
		return cand - window
	}
	return cand
}

// machineEpoch is the Machine's epoch for a readable record of epoch e
// (its full epoch for DTLS 1.3).
func (c *DTLSConn) machineEpoch(e uint16) Epoch {
	switch {
	case e == 0:
		return EpochPlaintext
	case c.m.HS.Version() != VersionDTLS13:
		return EpochApplication
	case e == 1:
		return EpochEarlyData
	case e == 2:
		return EpochHandshake
	}
	return EpochApplication
}

// unified reads a DTLS 1.3 record: opened, the record takes its real
// content type, full epoch and sequence number; otherwise it is counted as
// TLS 1.3's protected records are, and a first one that does not
// authenticate under keys that were found says they are wrong.
func (c *DTLSConn) unified(d Dir, r *dtlsRecord, at Pos, f *DTLSRecord) (dtls13Opened, bool) {
	p := &c.prot[d]
	o, err := c.open13(d, r)
	if err != nil {
		p.unopened++
		if badMAC(err) && p.opened == 0 && !p.wrong {
			// A wrong key must never yield fields: no more tries.
			p.wrong = true
		}
		if p.why == nil || badMAC(err) {
			p.why = err
		}
		f.Encrypted = true
		c.m.ApplicationData(c.role(d), len(r.body), true, at)
		return o, false
	}
	p.opened++
	c.stats.opened13[d]++
	r.typ, r.epoch, r.seq = o.typ, uint16(min(o.epoch, 0xffff)), o.seq
	f.Type, f.Epoch, f.Seq = r.typ, r.epoch, r.seq
	return o, true
}
