package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/tlsscope/tlsscope/flows"
)

// spans is each capture's first and last packet, kept by connections.
var spans = map[string][2]time.Time{}

// renderMarkdown is the Markdown as the command line writes it: with the
// version, the stall timeout and the capture's span.
func renderMarkdown(t *testing.T, conns []*Connection, span [2]time.Time) []byte {
	t.Helper()
	var b bytes.Buffer
	opts := Options{Inputs: []string{"capture"}, Version: "dev", StallTimeout: flows.DefaultOptions.StallTimeout,
		Span: func() (time.Time, time.Time) { return span[0], span[1] }}
	if err := WriteMarkdown(&b, conns, opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
