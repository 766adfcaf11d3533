package decoder

// What a QUIC connection's CRYPTO streams need of the machine beyond
// Message: QUIC has no record layer, so the transport reports what the
// record layer would (RFC 9001 §4).

// Snapshot is a copy of the handshake so far.
func (m *Machine) Snapshot() *Handshake { return m.HS.clone() }

// Problem records a problem the transport found in the side's handshake
// bytes (a CRYPTO frame out of bounds, a message over the cap).
func (m *Machine) Problem(side Side, at Pos, kind ProblemKind, msg string) {
	m.problem(side, at, kind, msg)
}
