package cost

import (
	"fmt"
	"sort"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

// Prices turn usage into money: OpenCost's defaults are $0.031611 a core-hour, $0.004237 a
// GiB-hour of memory and $0.04 a GiB-month of storage; a load balancer's hour is priced as
// the platform says (0.025 by default, about a cloud's smallest).
type Prices struct {
	CPUCoreHour, RAMGiBHour, PVGiBMonth, LoadBalancerHour float64
}

// DefaultPrices are OpenCost's, the ones tenancy sizes budgets' quotas with.
var DefaultPrices = Prices{CPUCoreHour: tenancy.DefaultPrices.CPUCoreHour, RAMGiBHour: tenancy.DefaultPrices.RAMGiBHour,
	PVGiBMonth: 0.04, LoadBalancerHour: 0.025}

// hoursPerMonth turns a monthly storage price into an hourly one, as OpenCost does.
const hoursPerMonth = 730

// Costs are a usage's money by what it paid for.
type Costs struct{ CPU, RAM, PV, LoadBalancer float64 }

// Total is all of it.
func (c Costs) Total() float64 { return c.CPU + c.RAM + c.PV + c.LoadBalancer }

// Hours of a usage: billed core-hours and GiB-hours.
func Hours(u store.Usage) (coreHours, gibHours float64) {
	return float64(u.CPUBilled) / 1000 / 3600, float64(u.RAMBilled) / (1 << 30) / 3600
}

// Of is what usage costs.
func (p Prices) Of(u store.Usage) Costs {
	c, r := Hours(u)
	return Costs{CPU: c * p.CPUCoreHour, RAM: r * p.RAMGiBHour, PV: PVGiBHours(u) * p.PVGiBMonth / hoursPerMonth,
		LoadBalancer: float64(u.LBSeconds) / 3600 * p.LoadBalancerHour}
}

// PVGiBHours are a usage's GiB-hours of bound volumes.
func PVGiBHours(u store.Usage) float64 { return float64(u.PVMiBSeconds) / 1024 / 3600 }

// Window is the time a report covers, on whole hours.
type Window struct {
	Name       string
	Start, End time.Time
}

// MaxWindow bounds a custom window: a year of days is the most a report adds up.
const MaxWindow = 366 * 24 * time.Hour

// ParseWindow reads today, 7d (today and the six days before), month (to date) or custom (from
// start to end), in UTC, ending with the hour now falls in.
func ParseWindow(name string, start, end *time.Time, now time.Time) (Window, error) {
	now = now.UTC()
	day := now.Truncate(24 * time.Hour)
	w := Window{Name: name, End: now.Truncate(time.Hour).Add(time.Hour)}
	switch name {
	case "today":
		w.Start = day
	case "7d":
		w.Start = day.AddDate(0, 0, -6)
	case "month":
		w.Start = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	case "custom":
		if start == nil || end == nil {
			return Window{}, errs.InvalidParam("start", "a custom window needs start and end")
		}
		w.Start, w.End = start.UTC().Truncate(time.Hour), end.UTC().Truncate(time.Hour)
		if !w.End.After(w.Start) {
			return Window{}, errs.InvalidParam("end", "must be at least an hour after start")
		}
		if w.End.Sub(w.Start) > MaxWindow {
			return Window{}, errs.InvalidParam("end", "a window is at most 366 days")
		}
	default:
		return Window{}, errs.InvalidParam("window", "%q is not today, 7d, month or custom", name)
	}
	return w, nil
}

// Line is one service environment's cost over a window.
type Line struct {
	ServiceID, Service, Environment string
	CoreHours, GiBHours             float64
	RequestCoreHours, UsedCoreHours float64
	PVGiBHours, LoadBalancerHours   float64
	CPUCost, RAMCost, Cost          float64
	PVCost, LoadBalancerCost        float64
	Days                            []Day
	// Source is "berth" (Berth's model) or "opencost".
	Source string
}

// Day is a cost on one UTC day.
type Day struct {
	Day  time.Time
	Cost float64
}

// Attribute prices daily usage into lines per service environment (by service name, then
// environment) and the days of all of them together.
func Attribute(usage []store.DailyUsage, names map[string]string, p Prices) ([]Line, []Day) {
	lines := map[[2]string]*Line{}
	days := map[time.Time]float64{}
	for _, u := range usage {
		k := [2]string{u.ServiceID, u.Environment}
		l := lines[k]
		if l == nil {
			l = &Line{ServiceID: u.ServiceID, Service: names[u.ServiceID], Environment: u.Environment, Source: "berth"}
			lines[k] = l
		}
		c, r := Hours(u.Usage)
		m := p.Of(u.Usage)
		l.CoreHours += c
		l.GiBHours += r
		l.RequestCoreHours += float64(u.CPURequest) / 1000 / 3600
		l.UsedCoreHours += float64(u.CPUUsage) / 1000 / 3600
		l.PVGiBHours += PVGiBHours(u.Usage)
		l.LoadBalancerHours += float64(u.LBSeconds) / 3600
		l.CPUCost += m.CPU
		l.RAMCost += m.RAM
		l.PVCost += m.PV
		l.LoadBalancerCost += m.LoadBalancer
		l.Cost += m.Total()
		l.Days = append(l.Days, Day{Day: u.Day, Cost: m.Total()})
		days[u.Day] += m.Total()
	}
	out := make([]Line, 0, len(lines))
	for _, l := range lines {
		out = append(out, *l)
	}
	Sort(out)
	return out, sortedDays(days)
}

// Sort orders lines by service name, then environment.
func Sort(lines []Line) {
	sort.Slice(lines, func(i, j int) bool {
		if lines[i].Service != lines[j].Service {
			return lines[i].Service < lines[j].Service
		}
		return lines[i].Environment < lines[j].Environment
	})
}

func sortedDays(m map[time.Time]float64) []Day {
	out := make([]Day, 0, len(m))
	for d, c := range m {
		out = append(out, Day{Day: d, Cost: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Day.Before(out[j].Day) })
	return out
}

// Budget is an environment's monthly budget beside what the month has cost so far and where
// it is heading.
type Budget struct {
	Environment          string
	Monthly, MonthToDate float64
	// Forecast is the month-to-date cost spread over the whole month at the rate so far.
	Forecast float64
	Over     bool
}

// Forecast spreads mtd, spent from the month's start to now, over the whole month.
func Forecast(mtd float64, now time.Time) float64 {
	now = now.UTC()
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 1, 0)
	elapsed := now.Sub(start).Hours()
	if elapsed < 1 {
		elapsed = 1 // the first hour tells little; spread it as an hour's worth
	}
	return mtd / elapsed * end.Sub(start).Hours()
}

// String is for logs.
func (w Window) String() string {
	return fmt.Sprintf("%s (%s to %s)", w.Name, w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
}
