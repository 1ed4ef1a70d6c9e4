package sleeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/audit"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/loop"
	"github.com/berth-platform/berth/internal/schedule"
	"github.com/berth-platform/berth/internal/sleep"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	"k8s.io/client-go/kubernetes"
)

// States of an environment beyond the schedule's awake and asleep: while Berth acts.
const (
	Sleeping = "sleeping"
	Waking   = "waking"
)

// MaxOverride is how far ahead an override may hold.
const MaxOverride = 31 * 24 * time.Hour

// Clients gives a client of a cluster ("" is Berth's own).
type Clients func(ctx context.Context, cluster string) (kubernetes.Interface, error)

// Service is the schedules' API and their loop.
type Service struct {
	store   *store.Store
	tenancy *tenancy.Service
	clients Clients
	log     *slog.Logger
	// Now is the clock (a controlled one in tests).
	Now func() time.Time
	// Prices are the cost model's, for what a sleep saves.
	Prices cost.Prices
}

// New keeps schedules in st, authorizes with ten, acts through clients.
func New(st *store.Store, ten *tenancy.Service, clients Clients, log *slog.Logger) *Service {
	return &Service{store: st, tenancy: ten, clients: clients, log: log, Now: time.Now, Prices: cost.DefaultPrices}
}

// spec is how a schedule is kept (the override apart).
type spec struct {
	TimeZone string            `json:"timeZone"`
	Awake    []schedule.Window `json:"awake"`
	Holidays []string          `json:"holidays,omitempty"`
}

// Transition is what the last sleep or wake did.
type Transition struct {
	At      time.Time
	State   schedule.State
	Changed []sleep.Change
	Left    []sleep.Change
}

// View is an environment's schedule and state, as the API shows it.
type View struct {
	Environment string
	Schedule    schedule.Schedule
	State       string
	Wanted      schedule.State
	Next        time.Time // zero: no change ahead
	NextState   schedule.State
	Last        *Transition
	Problem     string
	Savings     *Savings // nil before the first transition
}

// Savings are what sleeping saves at the cost model's prices: an hour asleep saves what the
// replicas it stops request (the replicas awake in the last transition, each with what it
// requests then); volumes and load balancers cost the same asleep and are not counted.
type Savings struct {
	PerHour     float64
	AsleepHours float64 // in the next SavingsSpan, by the schedule and its override
	Ahead       float64 // PerHour × AsleepHours
}

// SavingsSpan is how far ahead savings are counted.
const SavingsSpan = 30 * 24 * time.Hour

func (s *Service) savings(t *Transition, plan *schedule.Plan, now time.Time) *Savings {
	if t == nil {
		return nil
	}
	var per float64
	for _, c := range t.Changed {
		if c.Kind != "Deployment" && c.Kind != "StatefulSet" {
			continue
		}
		awake := c.To
		if t.State == schedule.Asleep {
			awake = c.From
		}
		n, _ := strconv.Atoi(awake)
		// An hour of those replicas, as the cost model bills it.
		hour := store.Usage{CPUBilled: int64(n) * c.CPUMilli * 3600, RAMBilled: int64(n) * c.MemoryBytes * 3600}
		per += s.Prices.Of(hour).Total()
	}
	hours := plan.Asleep(now, now.Add(SavingsSpan)).Hours()
	return &Savings{PerHour: per, AsleepHours: hours, Ahead: per * hours}
}

func parse(row store.EnvironmentSchedule) (schedule.Schedule, error) {
	var sp spec
	if err := json.Unmarshal([]byte(row.Spec), &sp); err != nil {
		return schedule.Schedule{}, fmt.Errorf("schedule of %s/%s: %w", row.TeamName, row.Environment, err)
	}
	s := schedule.Schedule{TimeZone: sp.TimeZone, Awake: sp.Awake, Holidays: sp.Holidays}
	if row.OverrideState != "" {
		s.Override = &schedule.Override{State: schedule.State(row.OverrideState), Until: row.OverrideUntil}
	}
	return s, nil
}

func (s *Service) view(row store.EnvironmentSchedule, now time.Time) (View, error) {
	sch, err := parse(row)
	if err != nil {
		return View{}, err
	}
	plan, err := schedule.Compile(sch)
	if err != nil {
		return View{}, err
	}
	if o := sch.Override; o != nil && !now.Before(o.Until) {
		sch.Override = nil // over: the schedule decides again
	}
	v := View{Environment: row.Environment, Schedule: sch, State: row.State, Wanted: plan.State(now), Problem: row.Problem}
	v.Next, v.NextState = plan.Next(now)
	if row.Transition != "" {
		var t Transition
		if err := json.Unmarshal([]byte(row.Transition), &t); err == nil {
			v.Last = &t
		}
	}
	v.Savings = s.savings(v.Last, plan, now)
	return v, nil
}

// environment authorizes p for need on team and finds env.
func (s *Service) environment(ctx context.Context, p access.Principal, team, env string, need access.Role) (store.Team, store.Environment, error) {
	t, err := s.tenancy.Authorize(ctx, p, team, need)
	if err != nil {
		return store.Team{}, store.Environment{}, err
	}
	e, err := s.store.Q().EnvironmentByName(ctx, t.ID, env)
	if err != nil {
		return store.Team{}, store.Environment{}, err
	}
	return t, e, nil
}

// Get is an environment's schedule (team viewer; ErrNotFound without one).
func (s *Service) Get(ctx context.Context, p access.Principal, team, env string) (View, error) {
	_, e, err := s.environment(ctx, p, team, env, access.Viewer)
	if err != nil {
		return View{}, err
	}
	return s.viewOf(ctx, e)
}

// viewOf reads e's schedule as the API shows it (ErrNotFound without one).
func (s *Service) viewOf(ctx context.Context, e store.Environment) (View, error) {
	row, err := s.store.Q().ScheduleOf(ctx, e.ID)
	if errors.Is(err, errs.ErrNotFound) {
		return View{}, fmt.Errorf("%w: environment %q has no sleep schedule", errs.ErrNotFound, e.Name)
	}
	if err != nil {
		return View{}, err
	}
	return s.view(row, s.Now())
}

// Put sets an environment's schedule (team admin); its override stays.
func (s *Service) Put(ctx context.Context, p access.Principal, team, env string, sch schedule.Schedule) (View, error) {
	sch.Override = nil
	if _, err := schedule.Compile(sch); err != nil {
		return View{}, err
	}
	t, e, err := s.environment(ctx, p, team, env, access.Admin)
	if err != nil {
		return View{}, err
	}
	body, err := json.Marshal(spec{TimeZone: sch.TimeZone, Awake: sch.Awake, Holidays: sch.Holidays})
	if err != nil {
		return View{}, err
	}
	now := s.Now()
	err = s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.PutSchedule(ctx, e.ID, string(body), p.Subject, now); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "environment.schedule.set", Team: t.Name, TeamID: t.ID, Target: "environment/" + t.Name + "/" + env,
			Detail: map[string]any{"timeZone": sch.TimeZone, "windows": len(sch.Awake), "holidays": len(sch.Holidays)}}, now)
	})
	if err != nil {
		return View{}, err
	}
	return s.viewOf(ctx, e)
}

// Override holds state until until (team editor); nil o drops the override.
func (s *Service) Override(ctx context.Context, p access.Principal, team, env string, o *schedule.Override) (View, error) {
	now := s.Now()
	if o != nil {
		if o.State != schedule.Awake && o.State != schedule.Asleep {
			return View{}, errs.Invalid("/state", "%q is not awake or asleep", o.State)
		}
		if !o.Until.After(now) || o.Until.Sub(now) > MaxOverride {
			return View{}, errs.Invalid("/until", "in the future and within %d days", int(MaxOverride.Hours()/24))
		}
	}
	t, e, err := s.environment(ctx, p, team, env, access.Editor)
	if err != nil {
		return View{}, err
	}
	state, until, action := "", time.Time{}, "environment.schedule.override-cleared"
	detail := map[string]any{}
	if o != nil {
		state, until, action = string(o.State), o.Until.UTC(), "environment.schedule.override-set"
		detail = map[string]any{"state": state, "until": until.Format(time.RFC3339)}
	}
	err = s.store.Tx(ctx, func(q store.Queries) error {
		ok, err := q.SetScheduleOverride(ctx, e.ID, state, until, p.Subject, now)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: environment %q has no sleep schedule: set one first", errs.ErrConflict, env)
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: action, Team: t.Name, TeamID: t.ID, Target: "environment/" + t.Name + "/" + env, Detail: detail}, now)
	})
	if err != nil {
		return View{}, err
	}
	return s.viewOf(ctx, e)
}

// Delete removes an environment's schedule (team admin), waking it first when it sleeps: a
// wake that fails keeps the schedule (ErrUnavailable), so no environment stays asleep with no
// schedule to wake it.
func (s *Service) Delete(ctx context.Context, p access.Principal, team, env string) error {
	t, e, err := s.environment(ctx, p, team, env, access.Admin)
	if err != nil {
		return err
	}
	row, err := s.store.Q().ScheduleOf(ctx, e.ID)
	if errors.Is(err, errs.ErrNotFound) {
		return fmt.Errorf("%w: environment %q has no sleep schedule", errs.ErrNotFound, env)
	}
	if err != nil {
		return err
	}
	if row.State != string(schedule.Awake) {
		if err := s.act(ctx, row, schedule.Awake, s.Now()); err != nil {
			return fmt.Errorf("%w: the environment could not be woken, so its schedule stays: %v", errs.ErrUnavailable, err)
		}
	}
	now := s.Now()
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.DeleteSchedule(ctx, e.ID); err != nil {
			return err
		}
		return audit.Record(ctx, q, p, audit.Entry{Action: "environment.schedule.removed", Team: t.Name, TeamID: t.ID, Target: "environment/" + t.Name + "/" + env}, now)
	})
}

// berth is who the audit log names for transitions.
var berth = access.Principal{Identity: auth.Identity{Subject: "service:berth"}}

// Tick brings every scheduled environment to what its schedule wants at now.
func (s *Service) Tick(ctx context.Context, now time.Time) error {
	rows, err := s.store.Q().AllSchedules(ctx)
	if err != nil {
		return err
	}
	var failed []error
	for _, row := range rows {
		sch, err := parse(row)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		plan, err := schedule.Compile(sch)
		if err != nil {
			failed = append(failed, err)
			continue
		}
		want := plan.State(now)
		if row.State == string(want) {
			continue
		}
		if err := s.act(ctx, row, want, now); err != nil {
			failed = append(failed, fmt.Errorf("%s/%s: %w", row.TeamName, row.Environment, err))
		}
	}
	return errors.Join(failed...)
}

// act sleeps or wakes one environment and records it; a failure is kept as its problem, and
// the next tick tries again (each step is idempotent).
func (s *Service) act(ctx context.Context, row store.EnvironmentSchedule, want schedule.State, now time.Time) error {
	q := s.store.Q()
	moving := Waking
	if want == schedule.Asleep {
		moving = Sleeping
	}
	if err := q.SetScheduleState(ctx, row.EnvironmentID, moving, "", row.Problem, now); err != nil {
		return err
	}
	cs, err := s.clients(ctx, row.Cluster)
	var r sleep.Result
	if err == nil {
		if want == schedule.Asleep {
			r, err = sleep.Sleep(ctx, cs, row.Namespace, now)
		} else {
			r, err = sleep.Wake(ctx, cs, row.Namespace)
		}
	}
	if err != nil {
		// The team reads the problem; the whole error goes to the log with what Tick returns.
		_ = q.SetScheduleState(ctx, row.EnvironmentID, moving, "", kube.Said(row.Cluster, err), now)
		return err
	}
	t, _ := json.Marshal(Transition{At: now.UTC(), State: want, Changed: r.Changed, Left: r.Left})
	action := map[schedule.State]string{schedule.Asleep: "environment.slept", schedule.Awake: "environment.woke"}[want]
	return s.store.Tx(ctx, func(q store.Queries) error {
		if err := q.SetScheduleState(ctx, row.EnvironmentID, string(want), string(t), "", now); err != nil {
			return err
		}
		return audit.Record(ctx, q, berth, audit.Entry{Action: action, Team: row.TeamName, TeamID: row.TeamID, Target: "environment/" + row.TeamName + "/" + row.Environment,
			Detail: map[string]any{"changed": len(r.Changed), "left": len(r.Left)}}, now)
	})
}

// Run ticks every interval until ctx ends, on its clock.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	loop.Every(ctx, every, true, s.log, "sleep schedules", func(ctx context.Context, _ time.Time) error { return s.Tick(ctx, s.Now()) })
}
