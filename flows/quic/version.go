// Package quic reads QUIC's wire format as a passive observer: the packets
// coalesced in a UDP datagram (RFC 9000 §12.2, §17), their protection
// (RFC 9001 §5), the frames of a decrypted payload (RFC 9000 §19) and the
// CRYPTO stream that carries the TLS handshake (RFC 9001 §4). It covers
// QUIC v1, QUIC v2 (RFC 9369) and draft-27 to draft-32. It knows nothing of
// captures or connections.
package quic

import (
	"fmt"

	"github.com/tlsscope/tlsscope/decoder"
)

// Version is a QUIC version number (RFC 9000 §15).
type Version uint32

const (
	V1      Version = 0x00000001 // RFC 9000
	V2      Version = 0x6b3343cf // RFC 9369 §3.1
	Draft29 Version = 0xff00001d
)

// String is the version in hex as Wireshark prints it: 0x00000001.
func (v Version) String() string { return fmt.Sprintf("0x%08x", uint32(v)) }

// Known reports whether the Initial keys of v can be derived here.
func (v Version) Known() bool { return v.params() != nil }

// Reserved reports whether v is of the form 0x?a?a?a?a, which no QUIC
// version uses: clients send it to make a server answer with Version
// Negotiation (RFC 9000 §15).
func (v Version) Reserved() bool { return v&0x0f0f0f0f == 0x0a0a0a0a }

// versionParams is what differs between the versions this package reads.
type versionParams struct {
	salt                 []byte               // initial_salt (RFC 9001 §5.2)
	keys                 *decoder.KeySchedule // the labels of the packet protection keys
	retryKey, retryNonce []byte               // Retry Integrity Tag (RFC 9001 §5.8)
	types                [4]uint8             // long-header type bits, indexed by PacketType
}

var (
	// RFC 9001 §5.2 and §5.8.
	paramsV1 = &versionParams{
		salt:       []byte{0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
		keys:       decoder.ScheduleQUIC,
		retryKey:   []byte{0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e},
		retryNonce: []byte{0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb},
		types:      [4]uint8{Initial: 0, ZeroRTT: 1, Handshake: 2, Retry: 3},
	}
	// RFC 9369 §3.2 (type bits) and §3.3 (salt, labels, Retry).
	paramsV2 = &versionParams{
		salt:       []byte{0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
		keys:       decoder.ScheduleQUICv2,
		retryKey:   []byte{0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92},
		retryNonce: []byte{0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a},
		types:      [4]uint8{Initial: 1, ZeroRTT: 2, Handshake: 3, Retry: 0},
	}
	// draft-ietf-quic-tls-29 §5.2 and §5.8; drafts 30 to 32 kept both.
	paramsDraft29 = &versionParams{
		salt:       []byte{0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99},
		keys:       decoder.ScheduleQUIC,
		retryKey:   []byte{0xcc, 0xce, 0x18, 0x7e, 0xd0, 0x9a, 0x09, 0xd0, 0x57, 0x28, 0x15, 0x5a, 0x6c, 0xb9, 0x6b, 0xe1},
		retryNonce: []byte{0xe5, 0x49, 0x30, 0xf9, 0x7f, 0x21, 0x36, 0xf0, 0x53, 0x0a, 0x8c, 0x1c},
		types:      [4]uint8{Initial: 0, ZeroRTT: 1, Handshake: 2, Retry: 3},
	}
	// draft-ietf-quic-tls-27 and -28 §5.2 (the salt of drafts 23 to 28)
	// and §5.8 (the Retry key of drafts 25 to 28).
	paramsDraft27 = &versionParams{
		salt:       []byte{0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02},
		keys:       decoder.ScheduleQUIC,
		retryKey:   []byte{0x4d, 0x32, 0xec, 0xdb, 0x2a, 0x21, 0x33, 0xc8, 0x41, 0xe4, 0x04, 0x3d, 0xf2, 0x7d, 0x44, 0x30},
		retryNonce: []byte{0x4d, 0x16, 0x11, 0xd0, 0x55, 0x13, 0xa5, 0x52, 0xc5, 0x87, 0xd5, 0x75},
		types:      [4]uint8{Initial: 0, ZeroRTT: 1, Handshake: 2, Retry: 3},
	}
)

// params is what this package knows of v, or nil.
func (v Version) params() *versionParams {
	switch {
	case v == V1:
		return paramsV1
	case v == V2:
		return paramsV2
	case v >= Draft29 && v <= 0xff000020:
		return paramsDraft29
	case v == 0xff00001b || v == 0xff00001c:
		return paramsDraft27
	}
	return nil
}
