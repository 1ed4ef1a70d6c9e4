package diagnose

import (
	"fmt"
	"strings"

	"github.com/berth-platform/berth/internal/argocd"
)

// Details of SyncFailed.
const (
	SyncPolicyDenied = "policy-denied" // an admission webhook (Kyverno) refused an object
	SyncRefused      = "refused"       // the API server refused an object (invalid, forbidden)
)

// Sync finds what Argo CD reports against an environment's Application: its last sync failed
// (or keeps being retried after the API server refused an object), or an error condition
// (the Application cannot be compared or is not permitted). A sync that later succeeded is
// history: Argo CD keeps only the last operation, so nothing is said of it.
func Sync(st argocd.AppStatus) []Finding {
	var out []Finding
	res := Resource{Kind: "Application", Name: st.Name}
	if op := st.OpState; op != nil && op.Failed() {
		f := Finding{Code: CodeSyncFailed, Severity: Error, Resource: res, FirstSeen: op.StartedAt,
			Evidence: []Evidence{{Source: "status", Field: "operationState.phase", Value: op.Phase, Reason: op.Message, FirstSeen: op.StartedAt}},
			Summary:  fmt.Sprintf("Argo CD's sync of revision %.12s failed: %s", op.Revision, op.Message)}
		if op.FinishedAt != nil {
			f.LastSeen, f.Evidence[0].LastSeen = *op.FinishedAt, *op.FinishedAt
		}
		switch {
		case strings.Contains(op.Message, "admission webhook") && strings.Contains(op.Message, "denied the request"):
			f.Detail = SyncPolicyDenied
			f.Summary = fmt.Sprintf("A policy refuses what revision %.12s deploys, so Argo CD cannot sync it: %s", op.Revision, policyMessage(op.Message))
			f.Recommendation = "Change the release as the policy's message says (GET the team's policies for each one's fix), or ask a platform admin for an exception; then release again."
		case op.Refused() || strings.Contains(op.Message, "is invalid"):
			f.Detail = SyncRefused
			f.Recommendation = "The API server names the object and field it refuses: correct the parameter or the blueprint that sets it, and release again."
		default:
			f.Recommendation = "Read Argo CD's message; once the cause is fixed, a new release (PATCH the service) or a sync retries."
		}
		out = append(out, f)
	}
	for _, c := range st.Conditions {
		if !strings.HasSuffix(c.Type, "Error") || c.Type == "SyncError" && len(out) > 0 {
			continue // warnings; a sync error the failed operation already says
		}
		out = append(out, Finding{Code: CodeArgoCDError, Severity: Error, Resource: res, Detail: c.Type,
			Evidence:       []Evidence{{Source: "status", Field: "conditions[" + c.Type + "]", Value: c.Type, Reason: c.Message}},
			Summary:        "Argo CD cannot deploy the environment: " + c.Message,
			Recommendation: "This is about the Application itself (its source, destination or project), which Berth writes: ask a platform admin, who can read it in Argo CD."})
	}
	return out
}

// policyMessage keeps what a webhook's denial says after the webhook's name.
func policyMessage(msg string) string {
	if _, after, ok := strings.Cut(msg, "denied the request: "); ok {
		return after
	}
	return msg
}
