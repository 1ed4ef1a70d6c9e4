package diagnose

import (
	"sort"
	"time"
)

// Severities.
const (
	Error   = "error"   // the service, or part of it, does not run
	Warning = "warning" // it runs, but something will hurt
)

// Codes of findings; stable, for machines and documentation.
const (
	CodeOOMKilled        = "OOMKilled"
	CodeCrashLoop        = "CrashLoopBackOff"
	CodeImagePull        = "ImagePullFailed"
	CodeMissingConfig    = "MissingConfig"
	CodeInitFailing      = "InitContainerFailing"
	CodeUnschedulable    = "Unschedulable"
	CodeEvicted          = "Evicted"
	CodeProbeFailing     = "ProbeFailing"
	CodeQuotaExceeded    = "QuotaExceeded"
	CodePodSecurity      = "PodSecurityDenied"
	CodeProgressDeadline = "ProgressDeadlineExceeded"
	CodeNoPods           = "NoPods"
	CodeHPAAtMax         = "HPAAtMax"
	CodeHPANoMetrics     = "HPAMetricsUnavailable"
	CodeAdmissionDenied  = "AdmissionDenied"
	CodePodCreateFailed  = "PodCreateFailed"
	CodeSyncFailed       = "SyncFailed"
	CodeArgoCDError      = "ArgoCDError"
)

// Details of ImagePullFailed.
const (
	CodeImagePullNotFound  = "not-found"
	CodeImagePullDenied    = "unauthorized"
	CodeImagePullNoNetwork = "unreachable"
)

// Resource is what a finding is about.
type Resource struct {
	Kind, Name string
	Container  string `json:",omitempty"`
}

// Evidence is one status field or event that proves a finding.
type Evidence struct {
	// Source is "status" (a field of the resource's status) or "event".
	Source, Field, Value string
	Reason               string `json:",omitempty"`
	FirstSeen, LastSeen  time.Time
	Count                int32
	// Lines are a log's last lines (Source "log").
	Lines []string `json:",omitempty"`
}

// Finding is one cause.
type Finding struct {
	Code, Severity string
	Resource       Resource
	Summary        string
	Evidence       []Evidence
	Recommendation string
	// Detail refines a code (for ImagePullFailed: not-found, unauthorized or unreachable).
	Detail              string `json:",omitempty"`
	FirstSeen, LastSeen time.Time

	// log is the container run whose log explains the finding (WithLogs reads it).
	log *logRef
}

type logRef struct {
	previous bool
	restarts int32
}

// Sorted orders findings: errors first, then by resource and code, so answers are stable.
func Sorted(fs []Finding) []Finding {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity == Error
		}
		if a.Resource.Kind+a.Resource.Name+a.Resource.Container != b.Resource.Kind+b.Resource.Name+b.Resource.Container {
			return a.Resource.Kind+a.Resource.Name+a.Resource.Container < b.Resource.Kind+b.Resource.Name+b.Resource.Container
		}
		return a.Code < b.Code
	})
	return fs
}
