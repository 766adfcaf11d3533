// Command mdrender shows a tlsscope Markdown report as GitHub shows an
// issue: GitHub-flavoured Markdown (goldmark with GFM and its autolinks),
// GitHub's CSS (npm github-markdown-css), Mermaid diagrams drawn (npm
// mermaid), in the 1012 px of an issue body; and, with -png, screenshots
// it with headless Chromium. It is its own module, so that goldmark stays
// out of tlsscope's go.mod.
//
//	npm install --prefix .cache/npm github-markdown-css mermaid
//	cd internal/mdrender && go run . -npm $PWD/../../.cache/npm/node_modules \
//	    -html /tmp/r.html -png /tmp/r.png /tmp/report.md
//
// It prints every link the Markdown made that is not an anchor of the
// page (#stream-N, #stream-udp-N): names from a capture must never become links; with
// -nolinks such a link is an error (exit 1).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

func main() {
	npm := flag.String("npm", "", "node_modules holding github-markdown-css and mermaid")
	htmlOut := flag.String("html", "", "write the page to this file (default: the input with .html)")
	png := flag.String("png", "", "screenshot the page to this PNG with headless Chromium")
	width := flag.Int("width", 1012, "page width in CSS pixels (GitHub's issue body)")
	height := flag.Int("height", 3000, "screenshot height in pixels")
	noLinks := flag.Bool("nolinks", false, "exit 1 when the Markdown made a link other than a #anchor")
	chromium := flag.String("chromium", "chromium", "the Chromium binary")
	flag.Parse()
	if flag.NArg() != 1 || *npm == "" {
		fmt.Fprintln(os.Stderr, "usage: mdrender -npm DIR [-html FILE] [-png FILE] [-width 1012] [-height 3000] [-nolinks] REPORT.md")
		os.Exit(2)
	}
	in := flag.Arg(0)
	src, err := os.ReadFile(in)
	if err != nil {
		fatal(err)
	}
	md := goldmark.New(
		goldmark.WithExtensions(extension.GFM), // tables, strikethrough, autolinks, task lists
		goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	)
	var body bytes.Buffer
	if err := md.Convert(src, &body); err != nil {
		fatal(err)
	}
	page := body.String()
	// GitHub draws ```mermaid blocks; Mermaid reads the text of
	// <pre class="mermaid">, entities decoded, as GitHub gives it.
	page = regexp.MustCompile(`(?s)<pre><code class="language-mermaid">(.*?)</code></pre>`).
		ReplaceAllString(page, `<pre class="mermaid">$1</pre>`)
	bad := 0
	for _, m := range regexp.MustCompile(`<a href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "#") {
			fmt.Fprintf(os.Stderr, "mdrender: link to %s\n", html.UnescapeString(m[1]))
			bad++
		}
	}
	fmt.Fprintf(os.Stderr, "mdrender: %d characters of Markdown, %d links out of the page, %d diagrams\n",
		len([]rune(string(src))), bad, strings.Count(page, `<pre class="mermaid">`))
	if *htmlOut == "" {
		*htmlOut = strings.TrimSuffix(in, filepath.Ext(in)) + ".html"
	}
	css := filepath.Join(*npm, "github-markdown-css", "github-markdown-light.css")
	js := filepath.Join(*npm, "mermaid", "dist", "mermaid.min.js")
	for _, f := range []string{css, js} {
		if _, err := os.Stat(f); err != nil {
			fatal(fmt.Errorf("%v (npm install --prefix DIR github-markdown-css mermaid)", err))
		}
	}
	doc := fmt.Sprintf(`<!DOCTYPE html>
<html><head><meta charset="utf-8">
<link rel="stylesheet" href="file://%s">
<style>
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; width: %dpx; padding: 16px; }
</style>
<script src="file://%s"></script>
</head><body><article class="markdown-body">
%s
</article>
<script>mermaid.initialize({startOnLoad: true, theme: "default"});</script>
</body></html>
`, css, *width, js, page)
	if err := os.WriteFile(*htmlOut, []byte(doc), 0o644); err != nil {
		fatal(err)
	}
	if *png != "" {
		abs, _ := filepath.Abs(*htmlOut)
		out, _ := filepath.Abs(*png)
		cmd := exec.Command(*chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
			"--allow-file-access-from-files", "--virtual-time-budget=20000",
			"--screenshot="+out, fmt.Sprintf("--window-size=%d,%d", *width, *height), "file://"+abs)
		if b, err := cmd.CombinedOutput(); err != nil {
			fatal(fmt.Errorf("%s: %v\n%s", *chromium, err, b))
		}
	}
	if *noLinks && bad > 0 {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mdrender:", err)
	os.Exit(2)
}
