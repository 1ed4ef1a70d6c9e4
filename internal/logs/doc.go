// Package logs streams a service's container logs to a browser: every pod of the service in
// an environment (or one pod and container), followed as pods come and go, filtered on the
// server, with a cursor in every line's event id so that a client that reconnects resumes with
// no line lost or repeated.
//
// Lines come from the Kubernetes API as the caller (a Source impersonates them), so
// Kubernetes RBAC decides what is read; the stream checks the caller's access again every few
// seconds and ends when it is gone. Each stream holds a bounded buffer: its readers wait for a
// client that reads as fast as it can, and a client that stalls loses lines (and is told how
// many, in a gap event) instead of holding its readers or growing Berth's memory; streams
// never wait on each other.
//
// The cursor follows stern's way of resuming: per container, the timestamp of the last line
// sent and how many lines with that very timestamp were sent; a resumed read asks the kubelet
// from that second on and skips what the client has. Kubernetes' sinceTime has whole seconds,
// the kubelet's timestamps nanoseconds, so the skip is exact.
package logs
