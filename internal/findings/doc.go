// Package findings keeps the record of diagnosis findings over time: when Berth first saw each
// cause of a service environment, and when it resolved. A recorder diagnoses every service
// environment from the workloads caches on an interval and writes only transitions (a cause
// appears, a cause resolves); answers merge the record in, so a cause keeps its age past the
// API server's one-hour event TTL and what recovered is listed as resolved, not as current.
//
// Safe to run on every replica: each write is idempotent (an upsert that keeps a holding
// cause's first seen, a resolution that only sets an unset time).
package findings
