// Package sleep puts a team environment's workloads to sleep and wakes them exactly as they
// were: Deployments and StatefulSets scaled to zero, CronJobs suspended. What each object was
// is written on the object itself (annotations) in the same patch that changes it, guarded by
// its resourceVersion, so every step is idempotent: sleeping a sleeping object or waking an
// awake one changes nothing, and a Berth that stops mid-way (or loses its lease) leaves each
// object either asleep with its record or awake without one, never half. Waking restores what
// was recorded; an object a person changed while it slept (scaled up, resumed) is reported
// and left as they made it. A HorizontalPodAutoscaler keeps its settings: with its target at
// zero it stops scaling (the controller says ScalingDisabled) and resumes once the target wakes
// with its replicas; its minimum is recorded on it, so a minimum a person changed while it
// slept is reported on wake. A sleep also records what one replica of each object requests
// (with the namespace's LimitRange defaults), which is what an asleep hour saves.
//
// A transition lists each kind once and patches each object as listed; only an object that
// changed in between (a conflict) is read again. Writes carry the field manager berth-sleeper.
package sleep
