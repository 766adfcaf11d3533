package quic

import (
	"errors"
	"slices"
)

// Bounds of a CryptoStream. A handshake's CRYPTO data in one space is a
// few kilobytes, a certificate chain at most tens; frames out of order are
// a few packets' worth (RFC 9000 §7.5 lets an endpoint limit the data it
// buffers, and close with CRYPTO_BUFFER_EXCEEDED).
const (
	MaxCryptoOffset   = 256 << 10 // no CRYPTO byte at or past this offset
	MaxCryptoBuffered = 64 << 10  // bytes held out of order
	maxCryptoPieces   = 64        // runs of bytes held out of order
)

var (
	// ErrCryptoTooFar: a CRYPTO frame ends past MaxCryptoOffset.
	ErrCryptoTooFar = errors.New("quic: CRYPTO data past 256 KiB")
	// ErrCryptoBuffered: a CRYPTO frame would make the data held out of
	// order exceed MaxCryptoBuffered bytes or 64 runs.
	ErrCryptoBuffered = errors.New("quic: too much CRYPTO data out of order")
)

// CryptoStream reassembles one direction's CRYPTO frames in one
// packet-number space (RFC 9000 §19.6, RFC 9001 §4.1.3) from frames that
// come out of order, overlap or repeat. It copies what it keeps, and
// holds no more than its bounds whatever the offsets say.
type CryptoStream struct {
	next     uint64  // end of the contiguous bytes
	ready    []byte  // contiguous bytes not yet read, ending at next
	pieces   []piece // held out of order: sorted, disjoint, past next
	buffered int     // bytes in pieces
}

// piece is a run of bytes held out of order.
type piece struct {
	off  uint64
	data []byte
}

func (p piece) end() uint64 { return p.off + uint64(len(p.data)) }

// Add takes a CRYPTO frame's offset and data. Bytes already had are
// ignored (RFC 9000 §2.2 lets them be resent, and they must be the same).
// A frame that ends past MaxCryptoOffset (ErrCryptoTooFar) or would hold
// too much out of order (ErrCryptoBuffered) is refused whole.
func (s *CryptoStream) Add(offset uint64, data []byte) error {
	if offset > MaxCryptoOffset || uint64(len(data)) > MaxCryptoOffset-offset {
		return ErrCryptoTooFar
	}
	end := offset + uint64(len(data))
	if end <= s.next {
		return nil
	}
	if offset < s.next {
		data, offset = data[s.next-offset:], s.next
	}
	if offset == s.next {
		s.ready = append(s.ready, data...)
		s.next = end
		s.drain()
		return nil
	}
	fresh, added := s.uncovered(offset, data)
	if added == 0 {
		return nil
	}
	if s.buffered+added > MaxCryptoBuffered {
		return ErrCryptoBuffered
	}
	merged := s.merge(fresh)
	if len(merged) > maxCryptoPieces {
		return ErrCryptoBuffered
	}
	s.pieces, s.buffered = merged, s.buffered+added
	return nil
}

// uncovered returns the runs of [offset, offset+len(data)) that no held
// piece covers, still in data, and their total length.
func (s *CryptoStream) uncovered(offset uint64, data []byte) (fresh []piece, n int) {
	end := offset + uint64(len(data))
	cur := offset
	for _, p := range s.pieces {
		if p.end() <= cur {
			continue
		}
		if p.off >= end {
			break
		}
		if p.off > cur {
			fresh = append(fresh, piece{cur, data[cur-offset : p.off-offset]})
			n += int(p.off - cur)
		}
		cur = max(cur, p.end())
	}
	if cur < end {
		fresh = append(fresh, piece{cur, data[cur-offset:]})
		n += int(end - cur)
	}
	return fresh, n
}

// merge returns the held pieces with fresh ones added, copied out of the
// caller's buffer, and adjacent runs joined. s.pieces is not changed.
func (s *CryptoStream) merge(fresh []piece) []piece {
	all := slices.Clone(s.pieces)
	for _, f := range fresh {
		all = append(all, piece{f.off, slices.Clone(f.data)})
	}
	slices.SortFunc(all, func(a, b piece) int {
		if a.off < b.off {
			return -1
		}
		return 1
	})
	out := all[:0]
	for _, p := range all {
		if n := len(out); n > 0 && out[n-1].end() == p.off {
			// A new slice: a held piece is never grown in place, so a
			// refused merge leaves s.pieces as it was.
			joined := make([]byte, 0, len(out[n-1].data)+len(p.data))
			out[n-1].data = append(append(joined, out[n-1].data...), p.data...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// drain moves the held pieces that now join the contiguous bytes.
func (s *CryptoStream) drain() {
	i := 0
	for ; i < len(s.pieces) && s.pieces[i].off <= s.next; i++ {
		p := s.pieces[i]
		if p.end() > s.next {
			s.ready = append(s.ready, p.data[s.next-p.off:]...)
			s.next = p.end()
		}
		s.buffered -= len(p.data)
	}
	s.pieces = slices.Delete(s.pieces, 0, i)
}

// Read returns the contiguous bytes not yet read, or nil. The slice is the
// caller's.
func (s *CryptoStream) Read() []byte {
	b := s.ready
	s.ready = nil
	return b
}

// Offset is the end of the contiguous bytes: what has been read and what
// Read would return.
func (s *CryptoStream) Offset() uint64 { return s.next }

// Buffered is the number of bytes held out of order, past a hole.
func (s *CryptoStream) Buffered() int { return s.buffered }

// Missing reports whether bytes are missing before bytes held: a hole
// that a later frame must fill.
func (s *CryptoStream) Missing() bool { return len(s.pieces) > 0 }
