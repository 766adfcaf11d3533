package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tlsscope/tlsscope/report"
)

// TestScreenshots writes PNGs of the HTML report, the whole page and the
// first ladder of a connection that did not go well, for people to look
// at (make report-screenshots). Without -screenshots it does nothing.
func TestScreenshots(t *testing.T) {
	if *screenshots == "" {
		t.Skip("no -screenshots directory (make report-screenshots)")
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	bctx := browser(t)
	dir := t.TempDir()
	cases := map[string][]*report.Connection{"20000-connections": many(t, 20_000)}
	for _, f := range []string{"demo.pcapng", "netlab/mtu-blackhole.client.pcap", "capture-gap-certificate.pcap"} {
		cases[filepath.Base(f)] = analyze(t, filepath.Join(testdata, f))
	}
	for name, conns := range cases {
		p := open(t, bctx, htmlOf(t, dir, name, conns))
		full, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		sel := "article.conn:not(.good)"
		if !eval[bool](t, p, `document.querySelector("`+sel+`") !== null`) {
			sel = "article.conn"
		}
		ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
		ladder, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		pngs := map[string][]byte{name + ".png": full, name + ".ladder.png": ladder}
		if len(conns) > 1000 {
			// The whole page is too tall to look at: its first screen and
			// the timeline alone.
			if pngs[name+".top.png"], err = chromedp.Run(p.ctx, chromedp.CaptureScreenshot()); err != nil {
				t.Fatal(err)
			}
			if pngs[name+".timeline.png"], err = chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS("#timeline"))); err != nil {
				t.Fatal(err)
			}
		}
		for file, png := range pngs {
			if err := os.WriteFile(filepath.Join(*screenshots, file), png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", filepath.Join(*screenshots, file), len(png))
		}
		for _, pr := range p.Problems() {
			t.Errorf("%s: %s", name, pr)
		}
	}
}
