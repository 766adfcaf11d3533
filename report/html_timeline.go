package report

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"
)

// The timeline: one bar per connection from its first to its last
// packet, on the capture's time axis, coloured by outcome. Beyond
// htmlMaxBars the worst are drawn and the rest counted: a bar per
// connection of a large capture would be a picture of nothing.

const (
	timelineWidth = 960
	timelineLeft  = 64 // room for the stream numbers
	timelineRight = 16
	timelineTop   = 24 // the axis
	timelineBarH  = 8
)

type htmlTimeline struct {
	Width, Height int
	Bars          []timelineBar
	Ticks         []timelineTick
	NotDrawn      int
	AxisY         int
	Left, Right   int
}

type timelineBar struct {
	X, Y, W int
	Tone    string
	Title   string
	Href    string
	Label   string
	LY      int
}

type timelineTick struct {
	X     int
	Label string
}

// timeline draws rows (and their connections, for the rank), on an axis of
// span; total is how many connections there were.
func timeline(rows []htmlRow, conns []*Connection, span time.Duration, total int) htmlTimeline {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	if len(idx) > htmlMaxBars {
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(rank(conns[b]), rank(conns[a])) })
		idx = idx[:htmlMaxBars]
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(rows[a].StartMS, rows[b].StartMS) })
	t := htmlTimeline{Width: timelineWidth, AxisY: timelineTop, Left: timelineLeft, Right: timelineWidth - timelineRight, NotDrawn: total - len(idx)}
	spanMS := math.Max(ms(span), 1)
	plot := float64(timelineWidth - timelineLeft - timelineRight)
	x := func(v float64) int { return timelineLeft + int(math.Round(v/spanMS*plot)) }
	y := timelineTop + 8
	for _, i := range idx {
		r := rows[i]
		x1, x2 := x(r.StartMS), x(r.StartMS+r.DurMS)
		b := timelineBar{X: x1, Y: y, W: max(x2-x1, 2), Tone: r.Tone, Href: r.Link, Label: r.Cells[0], LY: y + timelineBarH - 1,
			Title: conns[i].ID().Name() + ": " + r.Cells[8] + " (+" + seconds(msDur(r.StartMS)) + ", " + seconds(msDur(r.DurMS)) + ")"}
		t.Bars = append(t.Bars, b)
		y += timelineBarH + 3
	}
	t.Height = y + 4
	unit, name := axisUnit(niceStep(spanMS / 8))
	step := niceStep(spanMS/8/unit) * unit
	for i := 0; float64(i)*step <= spanMS*(1+1e-9); i++ {
		v := float64(i) * step
		t.Ticks = append(t.Ticks, timelineTick{X: x(v), Label: axisLabel(v/unit, step/unit, name)})
	}
	return t
}

func msDur(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// niceStep is 1, 2 or 5 times a power of ten, at least v.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// axisUnit is the unit, in ms, for ticks about step ms apart.
func axisUnit(step float64) (float64, string) {
	switch {
	case step >= 3_600_000:
		return 3_600_000, " h"
	case step >= 60_000:
		return 60_000, " min"
	case step >= 1000:
		return 1000, " s"
	}
	return 1, " ms"
}

func axisLabel(v, step float64, unit string) string {
	return strconv.FormatFloat(v, 'f', max(0, -int(math.Floor(math.Log10(step)))), 64) + unit
}
