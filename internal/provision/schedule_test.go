package provision

import (
	"strings"
	"testing"
)

// Teams take turns, no team has more than its share executing, and the total is bounded.
func TestScheduleIsFairAcrossTeams(t *testing.T) {
	q := newSchedule(3, 2)
	for _, id := range []string{"a1", "a2", "a3", "a4", "a5"} {
		q.add("a", id)
	}
	q.add("b", "b1")
	q.add("a", "a1") // queued already: not twice
	var got []string
	take := func() string {
		t.Helper()
		_, id, ok := q.take()
		if !ok {
			return "-"
		}
		got = append(got, id)
		return id
	}
	// Team b's one run goes second, not after a's five; a has at most 2 at once; 3 in all.
	if s := take() + take() + take() + take(); s != "a1b1a2-" {
		t.Fatalf("first takes: %s", s)
	}
	q.done("b", "b1")
	if s := take(); s != "-" {
		t.Fatalf("a took a third slot beside its two: %s", s)
	}
	q.done("a", "a1")
	if s := take() + take(); s != "a3-" {
		t.Fatalf("after a1: %s", s)
	}
	// A run that is done may be queued again (a waiting run, woken).
	q.add("b", "b1")
	if s := take(); s != "b1" {
		t.Fatalf("b1 again: %s (order %s)", s, strings.Join(got, ","))
	}
}
