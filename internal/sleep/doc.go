// Package sleep puts a team environment's workloads to sleep and wakes them exactly as they
// were: Deployments and StatefulSets scaled to zero, CronJobs suspended. What each object was
// is written on the object itself (annotations) in the same patch that changes it, guarded by
// its resourceVersion, so every step is idempotent: sleeping a sleeping object or waking an
// awake one changes nothing, and a Berth that stops mid-way (or loses its lease) leaves each
// object either asleep with its record or awake without one, never half. Waking restores what
// was recorded; an object a person changed while it slept (scaled up, resumed) is reported
// and left as they made it. HorizontalPodAutoscalers are left alone: with its target at zero
// an HPA stops scaling, and resumes once the target wakes with its replicas.
//
// Writes carry the field manager berth-sleeper.
package sleep
