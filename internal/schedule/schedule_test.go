package schedule_test

import (
	"errors"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/schedule"
)

var berlin, _ = time.LoadLocation("Europe/Berlin")

func local(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, berlin)
}

func plan(t *testing.T, s schedule.Schedule) *schedule.Plan {
	t.Helper()
	p, err := schedule.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var weekdays = []string{"Mon", "Tue", "Wed", "Thu", "Fri"}

// Each case: the state at an instant and the next change, worked out on Berlin's wall clock.
func TestStateAndNext(t *testing.T) {
	office := schedule.Schedule{TimeZone: "Europe/Berlin", Awake: []schedule.Window{{Days: weekdays, From: "07:30", To: "20:30"}}}
	nights := schedule.Schedule{TimeZone: "Europe/Berlin", Awake: []schedule.Window{{Days: []string{"Sat"}, From: "20:00", To: "08:00"}}}
	holidays := office
	holidays.Holidays = []string{"2026-12-24", "2026-12-25"}
	cases := []struct {
		name      string
		s         schedule.Schedule
		at        time.Time
		state     schedule.State
		next      time.Time
		nextState schedule.State
	}{
		{"a weekday morning", office, local(2026, 12, 2, 10, 0), schedule.Awake, local(2026, 12, 2, 20, 30), schedule.Asleep},
		{"the end is not in the window", office, local(2026, 12, 2, 20, 30), schedule.Asleep, local(2026, 12, 3, 7, 30), schedule.Awake},
		{"Friday night sleeps to Monday", office, local(2026, 12, 4, 21, 0), schedule.Asleep, local(2026, 12, 7, 7, 30), schedule.Awake},
		{"past midnight in a window of the day before", nights, local(2026, 12, 6, 1, 0), schedule.Awake, local(2026, 12, 6, 8, 0), schedule.Asleep},
		// Clocks go back at 03:00 CEST on 25 October 2026: Saturday 20:00 CEST to Sunday 08:00 CET is 13 hours.
		{"a night across the end of summer time", nights, local(2026, 10, 24, 21, 0), schedule.Awake,
			time.Date(2026, 10, 25, 7, 0, 0, 0, time.UTC), schedule.Asleep},
		// Clocks go forward at 02:00 CET on 28 March 2027: Friday wakes at 06:30 UTC, Monday at 05:30 UTC.
		{"before summer time", office, local(2027, 3, 26, 6, 0), schedule.Asleep, time.Date(2027, 3, 26, 6, 30, 0, 0, time.UTC), schedule.Awake},
		{"after summer time", office, local(2027, 3, 27, 12, 0), schedule.Asleep, time.Date(2027, 3, 29, 5, 30, 0, 0, time.UTC), schedule.Awake},
		{"holidays sleep whole days", holidays, local(2026, 12, 23, 21, 0), schedule.Asleep, local(2026, 12, 28, 7, 30), schedule.Awake},
		{"a holiday morning", holidays, local(2026, 12, 24, 10, 0), schedule.Asleep, local(2026, 12, 28, 7, 30), schedule.Awake},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := plan(t, c.s)
			if s := p.State(c.at); s != c.state {
				t.Fatalf("state at %s: %s, want %s", c.at, s, c.state)
			}
			next, s := p.Next(c.at)
			if !next.Equal(c.next) || s != c.nextState {
				t.Fatalf("next from %s: %s %s, want %s %s", c.at, next, s, c.next, c.nextState)
			}
		})
	}
}

// "Awake until 22:00" outlasts the window; "asleep until Monday" holds through a Friday
// afternoon; an override that has run out is not heard.
func TestOverrides(t *testing.T) {
	s := schedule.Schedule{TimeZone: "Europe/Berlin", Awake: []schedule.Window{{Days: weekdays, From: "08:00", To: "20:00"}}}
	s.Override = &schedule.Override{State: schedule.Awake, Until: local(2026, 12, 2, 22, 0)}
	p := plan(t, s)
	if st := p.State(local(2026, 12, 2, 20, 30)); st != schedule.Awake {
		t.Fatalf("awake until 22:00, at 20:30: %s", st)
	}
	if next, st := p.Next(local(2026, 12, 2, 20, 30)); !next.Equal(local(2026, 12, 2, 22, 0)) || st != schedule.Asleep {
		t.Fatalf("then: %s %s", next, st)
	}
	if st := p.State(local(2026, 12, 2, 22, 0)); st != schedule.Asleep {
		t.Fatalf("after the override: %s", st)
	}
	s.Override = &schedule.Override{State: schedule.Asleep, Until: local(2026, 12, 7, 8, 0)}
	p = plan(t, s)
	if st := p.State(local(2026, 12, 4, 14, 0)); st != schedule.Asleep {
		t.Fatalf("asleep until Monday, on Friday afternoon: %s", st)
	}
	if next, st := p.Next(local(2026, 12, 4, 14, 0)); !next.Equal(local(2026, 12, 7, 8, 0)) || st != schedule.Awake {
		t.Fatalf("then: %s %s", next, st)
	}
}

// A window that starts in the hour the clocks skip starts when they jump, not an hour late
// and not never; a whole-week window never changes.
func TestEdges(t *testing.T) {
	p := plan(t, schedule.Schedule{TimeZone: "Europe/Berlin", Awake: []schedule.Window{{Days: []string{"Sun"}, From: "02:30", To: "06:00"}}})
	next, st := p.Next(local(2027, 3, 27, 12, 0))
	jump := time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC) // 03:00 CEST
	if st != schedule.Awake || next.Before(jump) || next.After(jump.Add(30*time.Minute)) {
		t.Fatalf("a window at 02:30 on the night clocks skip it: %s %s", next, st)
	}
	always := plan(t, schedule.Schedule{TimeZone: "UTC", Awake: []schedule.Window{{Days: []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}, From: "00:00", To: "24:00"}}})
	if next, st := always.Next(local(2026, 12, 2, 10, 0)); !next.IsZero() || st != schedule.Awake {
		t.Fatalf("always awake: %s %s", next, st)
	}
	never := plan(t, schedule.Schedule{TimeZone: "UTC"})
	if next, st := never.Next(local(2026, 12, 2, 10, 0)); !next.IsZero() || st != schedule.Asleep {
		t.Fatalf("no windows: %s %s", next, st)
	}
}

// Each wrong field is named.
func TestInvalid(t *testing.T) {
	_, err := schedule.Compile(schedule.Schedule{TimeZone: "Mars/Olympus", Holidays: []string{"2026-13-01"},
		Awake:    []schedule.Window{{Days: []string{"Monday"}, From: "7:30", To: "25:00"}, {Days: nil, From: "08:00", To: "08:00"}},
		Override: &schedule.Override{State: "dozing"}})
	var inv *errs.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("not an InvalidError: %v", err)
	}
	want := []string{"/timeZone", "/awake/0/days", "/awake/0/from", "/awake/0/to", "/awake/1/days", "/awake/1/to", "/holidays/0", "/override/state"}
	if len(inv.Fields) != len(want) {
		t.Fatalf("fields %+v, want %v", inv.Fields, want)
	}
	for i, f := range inv.Fields {
		if f.Pointer != want[i] {
			t.Fatalf("field %d: %s, want %s (%+v)", i, f.Pointer, want[i], inv.Fields)
		}
	}
}

// Hours asleep over spans, counted by hand: a week of 07:30-20:30 on weekdays is 65 hours
// awake; the week of the spring change has 167 hours, the autumn one 169; a holiday sleeps
// its day's window; an override asleep takes its hours; a span inside one state is all of it.
func TestAsleep(t *testing.T) {
	office := schedule.Schedule{TimeZone: "Europe/Berlin", Awake: []schedule.Window{{Days: weekdays, From: "07:30", To: "20:30"}}}
	holiday := office
	holiday.Holidays = []string{"2026-12-24"}
	overridden := office
	overridden.Override = &schedule.Override{State: schedule.Asleep, Until: local(2026, 12, 8, 12, 0)}
	cases := []struct {
		name     string
		s        schedule.Schedule
		from, to time.Time
		want     time.Duration
	}{
		{"a week", office, local(2026, 12, 7, 0, 0), local(2026, 12, 14, 0, 0), 103 * time.Hour},
		{"the spring change", office, local(2026, 3, 23, 0, 0), local(2026, 3, 30, 0, 0), 102 * time.Hour},
		{"the autumn change", office, local(2026, 10, 19, 0, 0), local(2026, 10, 26, 0, 0), 104 * time.Hour},
		{"a holiday", holiday, local(2026, 12, 21, 0, 0), local(2026, 12, 28, 0, 0), 116 * time.Hour},
		{"an override", overridden, local(2026, 12, 7, 0, 0), local(2026, 12, 14, 0, 0), 103*time.Hour + 13*time.Hour + 4*time.Hour + 30*time.Minute},
		{"inside a window", office, local(2026, 12, 7, 9, 0), local(2026, 12, 7, 10, 0), 0},
		{"inside a night", office, local(2026, 12, 7, 21, 0), local(2026, 12, 7, 23, 0), 2 * time.Hour},
	}
	for _, c := range cases {
		if got := plan(t, c.s).Asleep(c.from, c.to); got != c.want {
			t.Errorf("%s: %v asleep, want %v", c.name, got, c.want)
		}
	}
}
