package capture

import "encoding/binary"

// What the pcap and pcapng readers share.

// endian reads the fields of a capture file in the byte order its
// header (a pcap file's magic, a pcapng section's) declares.
type endian struct{ big bool }

func (o endian) u16(b []byte) uint16 {
	if o.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (o endian) u32(b []byte) uint32 {
	if o.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (o endian) u64(b []byte) uint64 {
	if o.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// filler reads the next whole records of a file into a batch, in place.
type filler interface{ fill(*Batch) error }

// oneByOne hands out a filler's packets one at a time, from batches of
// its own: the Next of a file source (Merge reads several files so).
type oneByOne struct {
	batch Batch
	at    int
}

func (q *oneByOne) next(f filler) (Packet, error) {
	for q.at >= len(q.batch.Packets) {
		if q.batch.Buf == nil {
			q.batch.Buf = make([]byte, 0, BatchSize)
		}
		if err := f.fill(&q.batch); err != nil {
			return Packet{}, err
		}
		q.at = 0
	}
	pk := q.batch.Packets[q.at]
	q.at++
	return pk, nil
}
