package decoder

import "sync"

// fifoCache remembers at most size values, forgetting the oldest first:
// the caches of certificates, OCSP responses and validations, whose
// entries are made once and shared, and whose input decides how many
// there would be.
type fifoCache[K comparable, V any] struct {
	mu    sync.Mutex
	size  int
	m     map[K]V
	order []K
}

func newFIFOCache[K comparable, V any](size int) *fifoCache[K, V] {
	return &fifoCache[K, V]{size: size, m: map[K]V{}}
}

func (c *fifoCache[K, V]) get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

// add remembers v under k, unless another caller has meanwhile.
func (c *fifoCache[K, V]) add(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return
	}
	if len(c.order) >= c.size {
		delete(c.m, c.order[0])
		c.order = c.order[1:]
	}
	c.m[k] = v
	c.order = append(c.order, k)
}
