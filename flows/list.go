package flows

// An intrusive list, least recently active first, so that expiry looks
// only at its front: the connections of the table (lifecycle) and the
// ghosts of other shards' connections (ghost) are each in one.

// links place an element in a list.
type links[T any] struct {
	prev, next *T
	list       *list[T]
}

// linked is a pointer to an element that has links.
type linked[T any] interface {
	*T
	linksOf() *links[T]
}

// list is a list of elements T, least recently active first.
type list[T any] struct {
	head, tail *T
	n          int
}

// push appends c to l, its most recently active element.
func push[T any, P linked[T]](l *list[T], c P) {
	lk := c.linksOf()
	lk.prev, lk.next, lk.list = l.tail, nil, l
	if l.tail != nil {
		P(l.tail).linksOf().next = c
	} else {
		l.head = c
	}
	l.tail = c
	l.n++
}

// unlist takes c out of its list, if it is in one.
func unlist[T any, P linked[T]](c P) {
	lk := c.linksOf()
	l := lk.list
	if l == nil {
		return
	}
	if lk.prev != nil {
		P(lk.prev).linksOf().next = lk.next
	} else {
		l.head = lk.next
	}
	if lk.next != nil {
		P(lk.next).linksOf().prev = lk.prev
	} else {
		l.tail = lk.prev
	}
	lk.prev, lk.next, lk.list = nil, nil, nil
	l.n--
}

// moveBack makes c the most recently active element of l.
func moveBack[T any, P linked[T]](l *list[T], c P) {
	if P(l.tail) == c {
		return // already
	}
	unlist(c)
	push(l, c)
}
