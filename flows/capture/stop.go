package capture

import (
	"errors"
	"sync/atomic"
)

// ErrStopped is what a Stoppable returns once stopped.
var ErrStopped = errors.New("input stopped")

// Stoppable passes a source on until Stop is called; from then on its
// Next and Fill return ErrStopped, so that whoever reads it (the
// analyzer) stops reading, with what it read so far. It keeps the source's
// batch path (BatchSource) and liveness.
type Stoppable struct {
	Source
	stopped atomic.Bool
}

// NewStoppable wraps src.
func NewStoppable(src Source) *Stoppable { return &Stoppable{Source: src} }

// Stop ends the source at its next read; any goroutine may call it. It
// does not interrupt a read under way (close a live source for that).
func (s *Stoppable) Stop() { s.stopped.Store(true) }

// Stopped reports whether Stop was called.
func (s *Stoppable) Stopped() bool { return s.stopped.Load() }

// Next returns the source's next packet, or ErrStopped.
func (s *Stoppable) Next() (Packet, error) {
	if s.stopped.Load() {
		return Packet{}, ErrStopped
	}
	return s.Source.Next()
}

// Bulk reports whether the source underneath reads whole batches.
func (s *Stoppable) Bulk() bool {
	b, ok := s.Source.(BatchSource)
	return ok && b.Bulk()
}

// Fill fills the batch from the source underneath, or empties it and
// returns ErrStopped.
func (s *Stoppable) Fill(b *Batch) error {
	if s.stopped.Load() {
		b.Buf, b.Packets = b.Buf[:0], b.Packets[:0]
		return ErrStopped
	}
	return s.Source.(BatchSource).Fill(b)
}

// Live reports whether the source underneath is live.
func (s *Stoppable) Live() bool { return IsLive(s.Source) }

// Inputs is the number of inputs the source underneath merges.
func (s *Stoppable) Inputs() int { return Inputs(s.Source) }

// Secrets passes on the decryption secrets of the source underneath.
func (s *Stoppable) Secrets() []Secret { return secretsOf(s.Source) }

// secretsOf is a source's decryption secrets, if it carries any.
func secretsOf(src Source) []Secret {
	if ss, ok := src.(SecretsSource); ok {
		return ss.Secrets()
	}
	return nil
}
