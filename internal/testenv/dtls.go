package testenv

import (
	"testing"
)

// DTLSFields are the fields TSharkDTLS reads, per frame: the UDP stream
// and endpoints (an ICMP error's type: tshark dissects the datagram it
// quotes as DTLS too), each record's version, epoch and content type, the
// handshake messages (several per datagram, fragments reassembled by
// tshark), the certificates of a reassembled Certificate, and alerts.
var DTLSFields = []string{
	"frame.number", "udp.stream", "udp.srcport", "udp.dstport", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
	"icmp.type", "icmpv6.type", "dtls.record.version", "dtls.record.epoch", "dtls.record.content_type",
	"dtls.handshake.type", "dtls.handshake.version", "dtls.handshake.extensions.supported_version",
	"dtls.handshake.ciphersuite", "dtls.handshake.extensions_server_name", "dtls.handshake.certificate",
	"dtls.handshake.extension.type", "dtls.handshake.sig_hash_alg", "dtls.handshake.extensions_alpn_str",
	"dtls.fragment.count", "dtls.alert_message.level", "dtls.alert_message.desc",
	"x509af.serialNumber",
}

// DTLSFilter selects the frames TSharkDTLS returns.
const DTLSFilter = "dtls"

// TSharkDTLS returns the frames of file that tshark dissects as DTLS, with
// DTLSFields, read with the reference settings and the extra options (a
// key log: "-o", "tls.keylog_file:PATH"). tshark finds DTLS by its
// heuristic dissector on any UDP port. Cached like TSharkOutput.
func TSharkDTLS(t testing.TB, file string, extra ...string) ([]Frame, error) {
	t.Helper()
	return tsharkFrames(t, file, append(extra, fieldArgs(file, DTLSFilter, DTLSFields)...))
}
