package policy

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Kyverno's admission controller keeps a Lease whose every update passes its "verify"
// mutating webhook, which stamps the update with the time it answered. A server-side dry
// run of such an update therefore asks Kyverno's webhooks to answer, and changes nothing.
const (
	kyvernoNamespace   = "kyverno"
	kyvernoHealthLease = "kyverno-health"
	lastRequestTime    = "kyverno.io/last-request-time"
)

var leases = schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}

// WebhooksAnswer says whether Kyverno's admission webhooks answer requests in the cluster
// of dyn now: registered policies do nothing when they do not.
func WebhooksAnswer(ctx context.Context, dyn dynamic.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	asked := time.Now().Truncate(time.Second)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"berth.dev/probe":%q}}}`, asked.UTC().Format(time.RFC3339))
	got, err := dyn.Resource(leases).Namespace(kyvernoNamespace).Patch(ctx, kyvernoHealthLease, types.MergePatchType, []byte(patch),
		metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: "berth"})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("Kyverno is not running: no %s Lease in namespace %s (its admission controller makes it)", kyvernoHealthLease, kyvernoNamespace)
	}
	if err != nil {
		return fmt.Errorf("cannot ask Kyverno's webhooks: %w", err)
	}
	stamp := got.GetAnnotations()[lastRequestTime]
	at, err := time.Parse(time.RFC3339, stamp)
	if err != nil || at.Before(asked) {
		return fmt.Errorf("Kyverno's webhooks do not answer (a request at %s was not seen by them; last answered %s): is the Kyverno admission controller running?",
			asked.UTC().Format(time.RFC3339), orNever(stamp))
	}
	return nil
}

func orNever(s string) string {
	if s == "" {
		return "never"
	}
	return "at " + s
}
