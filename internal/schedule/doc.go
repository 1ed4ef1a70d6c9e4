// Package schedule decides when a team environment should be awake: weekly windows in the
// environment's time zone (a window whose end is not after its start runs past midnight into
// the next day), holidays (whole local days asleep), and an expiring override ("awake until
// 22:00", "asleep until Monday"). It says the state wanted at an instant and the next instant
// that changes it, on wall-clock times across daylight-saving changes, and is a pure function
// of the schedule and the time, so a controlled clock tests it and a catch-up after downtime
// asks it what should hold now.
//
// The package decides; it does not act. Sleeping and waking the environment's workloads are
// the sleeper's job.
package schedule
