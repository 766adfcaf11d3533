package decoder

import (
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// DTLS 1.3's ACK message (RFC 9147 §7), content type ack (26): the record
// numbers of the handshake records a side received, so that its peer
// sends again only what is missing.
//
//	struct {
//	    uint64 epoch;
//	    uint64 sequence_number;
//	} RecordNumber;
//
//	struct {
//	    RecordNumber record_numbers<0..2^16-1>;
//	} ACK;

// DTLSRecordNumber is a record's full epoch and sequence number (RFC 9147
// §4.2.2).
type DTLSRecordNumber struct {
	Epoch, Seq uint64
}

// maxDTLSACKFacts bounds the record numbers listed per ACK record.
const maxDTLSACKFacts = 16

// readDTLSACK reads an ACK's record numbers, at most max of them listed;
// n is how many it holds.
func readDTLSACK(body []byte, max int) (nums []DTLSRecordNumber, n int, ok bool) {
	s := cryptobyte.String(body)
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || !s.Empty() || len(list)%16 != 0 {
		return nil, 0, false
	}
	for !list.Empty() {
		var rn DTLSRecordNumber
		list.ReadUint64(&rn.Epoch)
		list.ReadUint64(&rn.Seq)
		if n < max {
			nums = append(nums, rn)
		}
		n++
	}
	return nums, n, true
}

// ack reads an ACK record d sent (plaintext, or opened).
func (c *DTLSConn) ack(d Dir, body []byte, t time.Time, f *DTLSRecord) {
	nums, n, ok := readDTLSACK(body, maxDTLSACKFacts)
	if !ok {
		c.once(3, c.role(d), t, ProblemMalformed, "malformed DTLS 1.3 ACK")
		return
	}
	c.stats.acked[d] += n
	f.ACKed = nums
}
