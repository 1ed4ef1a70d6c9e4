// Package diagnose says in plain words why a service environment is failing: it reads a
// workloads view (status as the kubelet and controllers write it, and their events) and
// returns findings, each with a stable code, a severity, the resource down to the container,
// a one-sentence summary, the evidence that proves it (with first and last seen and a count)
// and a recommendation with concrete values. It calls nothing: the caller hands it the view.
package diagnose
