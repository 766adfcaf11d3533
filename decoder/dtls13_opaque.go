package decoder

import "encoding/binary"

// What is told of DTLS 1.3's protected handshake without keys. A flight
// sent again on a timer goes under new record numbers (a record number is
// never used twice in an epoch: the AEAD nonce comes from it, RFC 9147
// §4.2.3), and both the numbers and the content are encrypted; what
// stays is the shape: a datagram of
// epoch 2 records (the handshake's, §6.1) with the very lengths of an
// earlier one of the same side is that datagram sent again. Only until
// the side sends under epoch 3: after that, epoch 6's records show the
// same two bits, and application data of one size is common.

// maxOpaqueFlights13 bounds the datagram shapes kept per direction.
const maxOpaqueFlights13 = 8

// opaque13 is one direction's memory of the shapes of its unopened
// DTLS 1.3 handshake datagrams.
type opaque13 struct {
	shapes [][]byte
	// application: a record of epoch bits 3 was sent.
	application bool
}

// opaqueAgain13 reports whether the records of a datagram of d, none
// opened, are all of epoch 2 with the lengths of an earlier such
// datagram; a new shape is remembered.
func (c *DTLSConn) opaqueAgain13(d Dir, recs []DTLSRecord) bool {
	o := &c.opaque13[d]
	for _, r := range recs {
		if r.Unified && r.Encrypted && r.Epoch == 3 {
			o.application = true
		}
	}
	if o.application || len(recs) == 0 || len(recs) >= maxDTLSRecordFacts {
		return false
	}
	var shape []byte
	for _, r := range recs {
		if !r.Unified || !r.Encrypted || r.Epoch != 2 {
			return false
		}
		shape = binary.BigEndian.AppendUint32(shape, uint32(r.Length))
	}
	for _, s := range o.shapes {
		if string(s) == string(shape) {
			return true
		}
	}
	if len(o.shapes) < maxOpaqueFlights13 {
		o.shapes = append(o.shapes, shape)
	}
	return false
}
