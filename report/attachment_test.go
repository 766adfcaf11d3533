package report

import (
	"strings"
	"testing"
)

// TestAttachmentWords: the Markdown header says what --write-failed
// wrote, and why nothing when it wrote nothing: no handshake to write, or
// none whose packets were kept.
func TestAttachmentWords(t *testing.T) {
	for _, tc := range []struct {
		at   Attachment
		want string
	}{
		{Attachment{Name: "f.pcapng"}, "- **Attachment:** every handshake seen completed: `f.pcapng` not written\n"},
		{Attachment{Name: "f.pcapng", Unkept: 1}, "- **Attachment:** 1 connection did not complete, but none of its packets were kept: `f.pcapng` not written\n"},
		{Attachment{Name: "f.pcapng", Unkept: 3}, "- **Attachment:** 3 connections did not complete, but none of their packets were kept: `f.pcapng` not written\n"},
		{Attachment{Name: "f.pcapng", Conns: 2}, "- **Attachment:** `f.pcapng` holds the packets of the 2 connections that did not complete."},
		{Attachment{Name: "f.pcapng", Conns: 2, Unkept: 1}, "- **Attachment:** `f.pcapng` holds the packets of 2 of the 3 connections that did not complete."},
	} {
		var b strings.Builder
		w, err := NewWriter("markdown", &b, Options{Attachment: func() Attachment { return tc.at }})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("%+v: no %q in\n%s", tc.at, tc.want, b.String())
		}
	}
}
