// Package policy is Berth's guardrail library: Kyverno ValidatingPolicies (policies.kyverno.io,
// CEL) that Berth writes and ships, each with a title, category, severity and remediation.
// Platform engineers switch each one off, to audit or to enforce, cluster-wide or per team;
// Berth applies that to every cluster as Kyverno objects, and evaluates rendered manifests
// in-process with Kyverno's own engine before anything is committed (preflight).
//
// The appliers and report watchers run on every replica: an apply is a server-side apply of
// the desired policies under one field manager (a second one changes nothing), and reports
// are read, not written.
package policy
