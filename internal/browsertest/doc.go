// Package browsertest opens tlsscope's HTML report in a real browser
// (headless Chromium, driven by chromedp) with the network off, and checks
// that it loads nothing, logs no error, and that its table sorts and
// filters. `make report-screenshots` takes its pictures from here too.
package browsertest
