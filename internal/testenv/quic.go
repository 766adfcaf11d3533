package testenv

import (
	"testing"
)

// QUICFields are the fields TSharkQUIC reads, per frame: the UDP stream and
// the QUIC connection tshark gives it, each packet's header (a frame can
// hold several coalesced packets, RFC 9000 §12.2), the frames, and the TLS
// handshake carried in CRYPTO frames.
var QUICFields = []string{
	"frame.number", "udp.stream", "udp.srcport", "udp.dstport", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
	"quic.connection.number", "quic.header_form", "quic.version", "quic.long.packet_type",
	"quic.long.packet_type_v2", "quic.dcid", "quic.scid", "quic.supported_version", "quic.retry_token",
	"quic.frame_type", "quic.cc.error_code", "quic.cc.error_code.app",
	"tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.ciphersuite",
	"tls.handshake.extensions_alpn_str", "tls.handshake.ja3_full", "tls.handshake.certificate",
	"x509af.serialNumber",
}

// QUICFilter selects the frames TSharkQUIC returns.
const QUICFilter = "quic"

// fieldArgs are tshark's arguments for fields of the frames that match
// filter, as JSON (read by tsharkFrames).
func fieldArgs(file, filter string, fields []string) []string {
	args := append(TSharkArgs(file), "-Y", filter, "-T", "json", "--no-duplicate-keys")
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	return args
}

// TSharkQUIC returns the frames of file that tshark dissects as QUIC, with
// QUICFields, read with the reference settings and the extra options (a key
// log: "-o", "tls.keylog_file:PATH"). Cached like TSharkOutput.
func TSharkQUIC(t testing.TB, file string, extra ...string) ([]Frame, error) {
	t.Helper()
	return tsharkFrames(t, file, append(extra, fieldArgs(file, QUICFilter, QUICFields)...))
}
