package capgen

import (
	"errors"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Headers are a frame's IP and transport headers, for Rewrite's edit to
// change (one of IPv4 and IPv6, one of TCP and UDP).
type Headers struct {
	IPv4 *layers.IPv4
	IPv6 *layers.IPv6
	TCP  *layers.TCP
	UDP  *layers.UDP
}

// Rewrite decodes an Ethernet or raw-IP frame of TCP or UDP, lets edit
// change its headers, and serializes it again with its lengths and
// checksums made right: captures derived from the generated ones (another
// ISN, port or TTL), for tests of what such a change does to a verdict.
func Rewrite(frame []byte, link layers.LinkType, edit func(*Headers)) ([]byte, error) {
	p := gopacket.NewPacket(frame, link, gopacket.Default)
	var h Headers
	var ls []gopacket.SerializableLayer
	if eth, ok := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet); ok {
		ls = append(ls, eth)
	}
	var network gopacket.NetworkLayer
	if ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		h.IPv4, network = ip, ip
		ls = append(ls, ip)
	} else if ip, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		h.IPv6, network = ip, ip
		ls = append(ls, ip)
	} else {
		return nil, errors.New("capgen: not an IP frame")
	}
	var payload []byte
	if t, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		h.TCP, payload = t, t.Payload
		t.SetNetworkLayerForChecksum(network)
		ls = append(ls, t)
	} else if u, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		h.UDP, payload = u, u.Payload
		u.SetNetworkLayerForChecksum(network)
		ls = append(ls, u)
	} else {
		return nil, errors.New("capgen: neither TCP nor UDP")
	}
	edit(&h)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append(ls, gopacket.Payload(payload))...)
	return buf.Bytes(), err
}
