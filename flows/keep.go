package flows

import "github.com/tlsscope/tlsscope/flows/capture"

// Frames kept with Options.KeepPackets, within the caps.

func (a *Analyzer) keepFrame(c *lifecycle) {
	if !a.keepCurrent(&c.frames, &c.keptBytes) {
		c.framesCut = true
	}
}

// keepCurrent adds a copy of the frame being read to a connection's
// frames, within the caps (false: over them, not kept).
func (a *Analyzer) keepCurrent(frames *[]capture.Packet, kept *int32) bool {
	n := len(a.cur.Data)
	if int(*kept)+n > maxKeptPerConn || a.kept+n > maxKeptTotal {
		return false
	}
	p := *a.cur
	p.Data = append([]byte(nil), p.Data...)
	*frames = append(*frames, p)
	*kept += int32(n)
	a.kept += n
	return true
}

func (a *Analyzer) dropFrames(c *lifecycle) {
	a.kept -= int(c.keptBytes)
	c.frames, c.keptBytes, c.dropFrames = nil, 0, true
}
