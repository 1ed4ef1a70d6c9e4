package provision

import (
	"sync"
)

// schedule decides which queued run executes next: at most total at a time, at most perTeam
// of one team, and teams take turns (round robin), so one team's twenty runs do not delay
// another team's one. A run is in the schedule once, whether queued or executing; a run that
// waits (for a namespace, for a rollout) is out of it until it is woken, and holds no slot.
type schedule struct {
	mu             sync.Mutex
	total, perTeam int
	queued         map[string][]string // team id -> run ids, oldest first
	teams          []string            // teams with queued runs, in turn order
	running        map[string]int      // team id -> runs executing
	active         int
	member         map[string]bool // run ids queued or executing
	wake           chan struct{}
}

func newSchedule(total, perTeam int) *schedule {
	return &schedule{total: max(total, 1), perTeam: max(perTeam, 1), queued: map[string][]string{}, running: map[string]int{},
		member: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// add queues a run of a team; a run already queued or executing is not added twice.
func (q *schedule) add(team, id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.member[id] {
		return
	}
	q.member[id] = true
	if len(q.queued[team]) == 0 {
		q.teams = append(q.teams, team)
	}
	q.queued[team] = append(q.queued[team], id)
	q.signal()
}

// take picks the next run to execute: the first team in turn with a queued run and a free
// slot, which then goes to the back of the turn order.
func (q *schedule) take() (team, id string, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active >= q.total {
		return "", "", false
	}
	for i, t := range q.teams {
		if q.running[t] >= q.perTeam {
			continue
		}
		id = q.queued[t][0]
		q.queued[t] = q.queued[t][1:]
		q.teams = append(q.teams[:i:i], q.teams[i+1:]...)
		if len(q.queued[t]) > 0 {
			q.teams = append(q.teams, t)
		} else {
			delete(q.queued, t)
		}
		q.running[t]++
		q.active++
		return t, id, true
	}
	return "", "", false
}

// done frees a run's slot; it may be added again (a waiting run, when woken).
func (q *schedule) done(team, id string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.member, id)
	if q.running[team]--; q.running[team] <= 0 {
		delete(q.running, team)
	}
	q.active--
	q.signal()
}

// has says whether a run is queued or executing.
func (q *schedule) has(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.member[id]
}

func (q *schedule) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
