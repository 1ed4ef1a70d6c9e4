package logs

import (
	"sync"
	"time"
)

// stallFor is how long a reader waits for room before it drops a line: a client that reads as
// fast as it can loses nothing (its readers wait, as kubectl's do), one that stalls longer
// gets a gap and its readers go on, so a full kubelet log is never held behind it.
var stallFor = time.Second

// item is an event on its way, with the position a line takes the client to.
type item struct {
	Event
	key uint32
	pos Position
}

// queue holds a stream's events between its readers and its client, bounded in bytes: a line
// that finds no room waits up to stallFor, then is counted and dropped; control events always
// fit (there are few).
type queue struct {
	mu    sync.Mutex
	items []item
	bytes int
	max   int
	drops int
	ready chan struct{} // something to take
	room  chan struct{} // something was taken
}

func newQueue(max int) *queue {
	return &queue{max: max, ready: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

func (q *queue) push(it item) {
	size := len(it.Line) + len(it.Message) + 128
	var deadline <-chan time.Time
	for {
		q.mu.Lock()
		if it.Kind != KindLine || q.bytes+size <= q.max || q.bytes == 0 {
			q.items = append(q.items, it)
			q.bytes += size
			q.mu.Unlock()
			q.wake()
			return
		}
		q.mu.Unlock()
		if deadline == nil {
			deadline = time.After(stallFor)
		}
		select {
		case <-q.room:
		case <-deadline:
			q.mu.Lock()
			q.drops++
			q.mu.Unlock()
			return
		}
	}
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
	select {
	case q.room <- struct{}{}:
	default:
	}
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
