package quic

import "fmt"

// transportErrors are the transport error codes of RFC 9000 §20.1.
var transportErrors = [...]string{
	0x00: "NO_ERROR",
	0x01: "INTERNAL_ERROR",
	0x02: "CONNECTION_REFUSED",
	0x03: "FLOW_CONTROL_ERROR",
	0x04: "STREAM_LIMIT_ERROR",
	0x05: "STREAM_STATE_ERROR",
	0x06: "FINAL_SIZE_ERROR",
	0x07: "FRAME_ENCODING_ERROR",
	0x08: "TRANSPORT_PARAMETER_ERROR",
	0x09: "CONNECTION_ID_LIMIT_ERROR",
	0x0a: "PROTOCOL_VIOLATION",
	0x0b: "INVALID_TOKEN",
	0x0c: "APPLICATION_ERROR",
	0x0d: "CRYPTO_BUFFER_EXCEEDED",
	0x0e: "KEY_UPDATE_ERROR",
	0x0f: "AEAD_LIMIT_REACHED",
	0x10: "NO_VIABLE_PATH",
}

// TransportErrorName names a transport error code (RFC 9000 §20.1):
// CRYPTO_ERROR(0x128) for a TLS alert, 0x... for one unknown.
func TransportErrorName(code uint64) string {
	if code < uint64(len(transportErrors)) {
		return transportErrors[code]
	}
	if _, ok := CryptoAlert(code); ok {
		return fmt.Sprintf("CRYPTO_ERROR(%#x)", code)
	}
	return fmt.Sprintf("%#x", code)
}

// CryptoAlert returns the TLS alert a CRYPTO_ERROR code carries, 0x100
// plus the alert's description (RFC 9000 §20.1, RFC 9001 §4.8).
func CryptoAlert(code uint64) (alert uint8, ok bool) {
	if code >= 0x100 && code <= 0x1ff {
		return uint8(code - 0x100), true
	}
	return 0, false
}
