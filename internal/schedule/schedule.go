package schedule

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones without the OS's database (distroless images have none)

	"github.com/berth-platform/berth/internal/errs"
)

// State is what an environment should be.
type State string

const (
	Awake  State = "awake"
	Asleep State = "asleep"
)

// Limits on what one schedule may hold (it is evaluated on every transition check).
const (
	MaxWindows  = 50
	MaxHolidays = 400
	// horizon is how far ahead the next transition is looked for.
	horizon = 400
)

// Window is a weekly span awake: starting on each of Days at From, ending at To, the next day
// when To is not after From. Times are "HH:MM" on the schedule's wall clock; To may be 24:00.
type Window struct {
	Days     []string `json:"days"` // Mon, Tue, Wed, Thu, Fri, Sat, Sun
	From, To string
}

// Override holds a state until an instant, whatever the windows say.
type Override struct {
	State State
	Until time.Time
}

// Schedule is an environment's: awake in its windows, asleep outside them and on holidays.
type Schedule struct {
	TimeZone string
	Awake    []Window
	Holidays []string // YYYY-MM-DD, local
	Override *Override
}

var dayNames = map[string]time.Weekday{"Sun": time.Sunday, "Mon": time.Monday, "Tue": time.Tuesday, "Wed": time.Wednesday,
	"Thu": time.Thursday, "Fri": time.Friday, "Sat": time.Saturday}

// Plan is a schedule checked and ready to evaluate.
type Plan struct {
	loc      *time.Location
	windows  []window
	holidays map[[3]int]bool // year, month, day
	override *Override
}

type window struct {
	days     [7]bool
	from, to int // minutes after local midnight; to <= from: the next day
}

// Compile checks s and readies it; the error names each wrong field (a JSON pointer into the schedule).
func Compile(s Schedule) (*Plan, error) {
	var fields []errs.Field
	bad := func(pointer, format string, args ...any) {
		fields = append(fields, errs.Field{Pointer: pointer, Detail: fmt.Sprintf(format, args...)})
	}
	c := &Plan{holidays: map[[3]int]bool{}, override: s.Override}
	loc, err := time.LoadLocation(s.TimeZone)
	if s.TimeZone == "" || err != nil {
		bad("/timeZone", "%q is not an IANA time zone (Europe/Berlin, America/New_York, UTC)", s.TimeZone)
	}
	c.loc = loc
	if len(s.Awake) > MaxWindows {
		bad("/awake", "at most %d windows", MaxWindows)
	}
	for i, w := range s.Awake {
		var cw window
		if len(w.Days) == 0 {
			bad(fmt.Sprintf("/awake/%d/days", i), "name at least one day")
		}
		for _, d := range w.Days {
			wd, ok := dayNames[d]
			if !ok {
				bad(fmt.Sprintf("/awake/%d/days", i), "%q is not one of Mon, Tue, Wed, Thu, Fri, Sat, Sun", d)
				continue
			}
			cw.days[wd] = true
		}
		var okFrom, okTo bool
		if cw.from, okFrom = clock(w.From, false); !okFrom {
			bad(fmt.Sprintf("/awake/%d/from", i), "%q is not a time HH:MM from 00:00 to 23:59", w.From)
		}
		if cw.to, okTo = clock(w.To, true); !okTo {
			bad(fmt.Sprintf("/awake/%d/to", i), "%q is not a time HH:MM from 00:00 to 24:00", w.To)
		}
		if okFrom && okTo && cw.from == cw.to%(24*60) && cw.to != 24*60 {
			bad(fmt.Sprintf("/awake/%d/to", i), "a window ends at another time than it starts (00:00 to 24:00 is the whole day)")
		}
		c.windows = append(c.windows, cw)
	}
	if len(s.Holidays) > MaxHolidays {
		bad("/holidays", "at most %d holidays", MaxHolidays)
	}
	for i, h := range s.Holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil {
			bad(fmt.Sprintf("/holidays/%d", i), "%q is not a date YYYY-MM-DD", h)
			continue
		}
		c.holidays[[3]int{d.Year(), int(d.Month()), d.Day()}] = true
	}
	if o := s.Override; o != nil && o.State != Awake && o.State != Asleep {
		bad("/override/state", "%q is not awake or asleep", o.State)
	}
	if len(fields) > 0 {
		return nil, &errs.InvalidError{Fields: fields}
	}
	return c, nil
}

// clock reads "HH:MM" into minutes after midnight; end allows 24:00.
func clock(s string, end bool) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && (!end || mm != 0)) {
		return 0, false
	}
	return hh*60 + mm, true
}

// at is the wall-clock instant minutes after midnight of the local date y-m-d; a time the
// clocks skip (spring forward) comes out after the jump, as time.Date normalises it.
func (c *Plan) at(y int, m time.Month, d, minutes int) time.Time {
	return time.Date(y, m, d, minutes/60, minutes%60, 0, 0, c.loc)
}

// State is what the schedule wants at t.
func (c *Plan) State(t time.Time) State {
	if o := c.override; o != nil && t.Before(o.Until) {
		return o.State
	}
	l := t.In(c.loc)
	if c.holidays[[3]int{l.Year(), int(l.Month()), l.Day()}] {
		return Asleep
	}
	y, m, d := l.Date()
	for _, back := range []int{0, 1} { // a window of today, or one of yesterday past midnight
		day := time.Date(y, m, d-back, 12, 0, 0, 0, c.loc)
		for _, w := range c.windows {
			if !w.days[day.Weekday()] {
				continue
			}
			start := c.at(day.Year(), day.Month(), day.Day(), w.from)
			end := c.at(day.Year(), day.Month(), day.Day(), w.to)
			if w.to <= w.from {
				end = c.at(day.Year(), day.Month(), day.Day()+1, w.to)
			}
			if !t.Before(start) && t.Before(end) {
				return Awake
			}
		}
	}
	return Asleep
}

// Next is the first instant after t at which the wanted state changes, and that state; zero
// when nothing changes within the horizon (always awake, always asleep).
func (c *Plan) Next(t time.Time) (time.Time, State) {
	now := c.State(t)
	for _, at := range c.candidates(t, horizon) {
		if s := c.State(at); s != now {
			return at, s
		}
	}
	return time.Time{}, now
}

// Asleep is how long the plan keeps the environment asleep from from to to.
func (c *Plan) Asleep(from, to time.Time) time.Duration {
	var asleep time.Duration
	at, state := from, c.State(from)
	for _, next := range append(c.candidates(from, int(to.Sub(from).Hours()/24)+1), to) {
		if next.After(to) {
			next = to
		}
		if state == Asleep {
			asleep += next.Sub(at)
		}
		if !next.Before(to) {
			break
		}
		at, state = next, c.State(next)
	}
	return asleep
}

// candidates are the instants after t where the state can change, in order: the windows'
// starts and ends, local midnights (holidays), and the override's end.
func (c *Plan) candidates(t time.Time, days int) []time.Time {
	l := t.In(c.loc)
	y, m, d := l.Date()
	var out []time.Time
	add := func(at time.Time) {
		if at.After(t) {
			out = append(out, at)
		}
	}
	for i := -1; i <= days; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, c.loc)
		add(c.at(day.Year(), day.Month(), day.Day(), 0))
		for _, w := range c.windows {
			if !w.days[day.Weekday()] {
				continue
			}
			add(c.at(day.Year(), day.Month(), day.Day(), w.from))
			if w.to <= w.from {
				add(c.at(day.Year(), day.Month(), day.Day()+1, w.to))
			} else {
				add(c.at(day.Year(), day.Month(), day.Day(), w.to))
			}
		}
	}
	if o := c.override; o != nil {
		add(o.Until)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Before(out[j]) })
	return slices.CompactFunc(out, func(a, b time.Time) bool { return a.Equal(b) })
}
