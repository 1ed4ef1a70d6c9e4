// Package sleeper keeps team environments to their sleep schedules: the API's operations on a
// schedule (read, set, override, remove) under the tenant boundary, and the loop that, every
// interval, asks each schedule what it wants now and sleeps or wakes the environment's
// workloads to match (internal/sleep). Asking "what now", not "what changed", is the
// catch-up: transitions missed while Berth was down happen at its first tick.
//
// The loop is safe on every replica: each object's transition is one guarded patch that a
// second sleeper re-reads and leaves (internal/sleep), and state in the database only follows
// what was done. A sleeping environment counts no pod-hours in the cost model, so its
// savings show there.
package sleeper
