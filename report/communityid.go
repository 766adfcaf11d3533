package report

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
)

// CommunityID is the Community ID v1 of a flow (seed 0 by default): "1:" +
// base64(SHA-1(seed(2, big-endian) || saddr || daddr || proto(1) || pad(1)=0
// || sport(2) || dport(2))) with the endpoints ordered as the spec says (the
// smaller address, then port, first), so both directions of a flow get the
// same ID. See https://github.com/corelight/community-id-spec.
//
// IPv4 addresses are hashed as 4 bytes (v4-in-v6 ones are unmapped first),
// IPv6 ones as 16. TCP (6), UDP (17) and SCTP (132) hash their ports; as
// the spec says, other protocols have none, so their ports are ignored and
// left out of the hash. ICMP and ICMPv6, whose type and code the spec maps
// to ports in its own way, are not handled specially: tlsscope sees TCP and
// UDP flows only.
//
// It allocates only the returned string.
func CommunityID(a, b netip.AddrPort, proto uint8, seed uint16) string {
	sa, da := a.Addr().Unmap(), b.Addr().Unmap()
	sp, dp := a.Port(), b.Port()
	if c := sa.Compare(da); c > 0 || (c == 0 && sp > dp) {
		sa, da, sp, dp = da, sa, dp, sp
	}

	var buf [2 + 16 + 16 + 2 + 4]byte
	buf[0], buf[1] = byte(seed>>8), byte(seed)
	n := 2
	n += putAddr(buf[n:], sa)
	n += putAddr(buf[n:], da)
	buf[n], buf[n+1] = proto, 0
	n += 2
	switch proto {
	case 6, 17, 132: // TCP, UDP, SCTP
		buf[n], buf[n+1], buf[n+2], buf[n+3] = byte(sp>>8), byte(sp), byte(dp>>8), byte(dp)
		n += 4
	}
	sum := sha1.Sum(buf[:n])

	const prefix = "1:"
	var out [len(prefix) + 28]byte // base64 of 20 bytes is 28 characters
	copy(out[:], prefix)
	base64.StdEncoding.Encode(out[len(prefix):], sum[:])
	return string(out[:])
}

// putAddr writes addr in network order (4 bytes for IPv4, 16 for IPv6) and
// returns how many bytes it wrote; an invalid address writes none.
func putAddr(dst []byte, addr netip.Addr) int {
	if addr.Is4() {
		a := addr.As4()
		return copy(dst, a[:])
	}
	if addr.Is6() {
		a := addr.As16()
		return copy(dst, a[:])
	}
	return 0
}
