// Package sleeper keeps team environments to their sleep schedules: the API's operations on a
// schedule (read, set, override, remove) under the tenant boundary, and the loop that, every
// interval, asks each schedule what it wants now and sleeps or wakes the environment's
// workloads to match (internal/sleep). Asking "what now", not "what changed", is the
// catch-up: transitions missed while Berth was down happen at its first tick.
//
// The loop is led (internal/lead): one replica sleeps and wakes, so each transition is made
// and audited once. Should two act (a leader that stalled past its lease), each object's
// transition is still one guarded patch that the second re-reads and leaves
// (internal/sleep), and state in the database only follows what was done; a Berth killed
// mid-transition leaves the state sleeping or waking, and the next tick finishes it.
//
// A sleeping environment counts no pod-hours in the cost model. What sleeping saves is shown
// with the schedule: what the replicas of the last transition request, at the cost model's
// prices, for each hour the schedule keeps the environment asleep.
package sleeper
