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
