package logs

import "sync"

// item is an event on its way, with the position a line takes the client to.
type item struct {
	Event
	key uint32
	pos Position
}

// queue holds a stream's events between its readers and its client, bounded in bytes: lines
// that do not fit are counted and dropped, control events always fit (there are few).
type queue struct {
	mu    sync.Mutex
	items []item
	bytes int
	max   int
	drops int
	ready chan struct{}
}

func newQueue(max int) *queue { return &queue{max: max, ready: make(chan struct{}, 1)} }

func (q *queue) push(it item) {
	size := len(it.Line) + len(it.Message) + 128
	q.mu.Lock()
	if it.Kind == KindLine && q.bytes+size > q.max {
		q.drops++
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, it)
	q.bytes += size
	q.mu.Unlock()
	q.wake()
}

func (q *queue) wake() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

func (q *queue) take() []item {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.items
	q.items, q.bytes = nil, 0
	return out
}

func (q *queue) dropped() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := q.drops
	q.drops = 0
	return n
}

func (q *queue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) == 0
}
