package flows

// Outcome is the verdict on one connection's handshake.
type Outcome string

const (
	Complete    Outcome = "complete"
	Resumed     Outcome = "resumed"
	Failed      Outcome = "failed"
	Reset       Outcome = "reset"
	Closed      Outcome = "closed"
	Stalled     Outcome = "stalled"
	Incomplete  Outcome = "incomplete"
	NotObserved Outcome = "not_observed"
)

// Outcomes lists every outcome in the order reports count them.
var Outcomes = []Outcome{Complete, Resumed, Failed, Reset, Closed, Stalled, Incomplete, NotObserved}

// Health is what an outcome says about the handshake. It is the one
// outcome policy: the exit status, the colours and which connections
// --write-failed keeps (and Markdown details) all follow from it, through
// the methods below and nowhere else.
//
//	outcome       health      exit status 1  colour  written by --write-failed
//	complete      healthy                    green
//	resumed       healthy                    green
//	not_observed  unverified                 yellow
//	incomplete    undecided                  yellow  yes
//	failed        broken      yes            red     yes
//	reset         broken      yes            red     yes
//	closed        broken      yes            red     yes
//	stalled       broken      yes            red     yes
//
// Healthy: the handshake was seen to work. Unverified: it happened before
// the capture began, and encrypted records flowed, so it worked, but
// nothing of it was seen. Undecided: the capture ended before the
// handshake did, within the stall timeout. Broken: it did not work. An
// outcome not in the table counts as broken.
type Health int

const (
	Broken Health = iota
	Healthy
	Unverified
	Undecided
)

var health = map[Outcome]Health{
	Complete:    Healthy,
	Resumed:     Healthy,
	NotObserved: Unverified,
	Incomplete:  Undecided,
	Failed:      Broken,
	Reset:       Broken,
	Closed:      Broken,
	Stalled:     Broken,
}

// Health is the outcome's class in the policy above.
func (o Outcome) Health() Health { return health[o] }

// Established reports a handshake seen to work: complete or resumed
// (healthy).
func (o Outcome) Established() bool { return o.Health() == Healthy }

// Problem reports whether the outcome makes the exit status 1: the
// handshake is broken.
func (o Outcome) Problem() bool { return o.Health() == Broken }

// Good reports whether the handshake worked, seen or not (healthy or
// unverified). The others are what --write-failed writes and what
// Markdown shows the ladder of.
func (o Outcome) Good() bool {
	h := o.Health()
	return h == Healthy || h == Unverified
}

// Tone is the colour class reports show an outcome in.
type Tone int

const (
	ToneGood   Tone = iota // green: healthy
	ToneUnsure             // yellow: unverified or undecided
	ToneBad                // red: broken
)

// Tone is the outcome's colour class.
func (o Outcome) Tone() Tone {
	switch o.Health() {
	case Healthy:
		return ToneGood
	case Unverified, Undecided:
		return ToneUnsure
	}
	return ToneBad
}
