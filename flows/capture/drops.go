package capture

// Dropped is every packet the capturing side lost: the kernel's and the
// interface's.
func (d Drops) Dropped() uint64 { return d.Kernel + d.Interface }

// add sums two sources' counts.
func (d Drops) add(e Drops) Drops {
	return Drops{Received: d.Received + e.Received, Kernel: d.Kernel + e.Kernel, Interface: d.Interface + e.Interface}
}

// DropsOf is what src says it dropped; zero when it cannot say.
func DropsOf(src Source) Drops {
	if d, ok := src.(DropSource); ok {
		return d.Drops()
	}
	return Drops{}
}

// Drops is what a pcapng file's Interface Statistics Blocks say so far
// (nothing for classic pcap, which has no place for it).
func (s *fileSource) Drops() Drops {
	if s.ng == nil {
		return Drops{}
	}
	return s.ng.Drops()
}

// Drops sums what the merged sources say they dropped.
func (m *Merge) Drops() Drops {
	var d Drops
	for _, s := range m.srcs {
		d = d.add(DropsOf(s))
	}
	return d
}

// Drops passes on what the source underneath says it dropped.
func (s *Stoppable) Drops() Drops { return DropsOf(s.Source) }

// Drops passes on what the source underneath says it dropped.
func (t *Tee) Drops() Drops { return DropsOf(t.Source) }

// DropsChanger is a source that says, cheaply, after each packet, whether
// what it dropped changed since it last said so: a Merge of files, whose
// packets the analysis reads one by one into batches, ends a batch there,
// so that drops a file's statistics tell mid-file are told between the
// packets around them, not a batch later.
type DropsChanger interface {
	DropsChanged() bool
}

// noteDrops notes whether source i's drops changed with its last read
// (one Drops call per packet of a merge of several files).
func (m *Merge) noteDrops(i int) {
	ds, ok := m.srcs[i].(DropSource)
	if !ok {
		return
	}
	if m.dropped == nil {
		m.dropped = make([]Drops, len(m.srcs))
	}
	if d := ds.Drops(); d != m.dropped[i] {
		m.dropped[i], m.dropsChanged = d, true
	}
}

// DropsChanged reports whether a source's drops changed since the last
// call.
func (m *Merge) DropsChanged() bool {
	c := m.dropsChanged
	m.dropsChanged = false
	return c
}

// DropsChanged passes on the source underneath's.
func (s *Stoppable) DropsChanged() bool { return dropsChanged(s.Source) }

// DropsChanged passes on the source underneath's.
func (t *Tee) DropsChanged() bool { return dropsChanged(t.Source) }

func dropsChanged(src Source) bool {
	c, ok := src.(DropsChanger)
	return ok && c.DropsChanged()
}

// InputDropSource is a source of several inputs that says what each
// dropped (a Merge): one capture's drops are not another's connections'.
type InputDropSource interface {
	InputDrops() []Drops
}

// InputDrops is what each merged source says it dropped, by input.
func (m *Merge) InputDrops() []Drops {
	out := make([]Drops, len(m.srcs))
	for i, s := range m.srcs {
		out[i] = DropsOf(s)
	}
	return out
}

// InputDrops passes on the source underneath's.
func (s *Stoppable) InputDrops() []Drops { return inputDrops(s.Source) }

// InputDrops passes on the source underneath's.
func (t *Tee) InputDrops() []Drops { return inputDrops(t.Source) }

func inputDrops(src Source) []Drops {
	if m, ok := src.(InputDropSource); ok {
		return m.InputDrops()
	}
	return nil
}
