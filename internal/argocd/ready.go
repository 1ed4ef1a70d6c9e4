package argocd

import (
	"context"
	"fmt"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/berth-platform/berth/internal/errs"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var managedSelector = labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy})

// StaleReconcile is how long the newest reconciliation of Berth's Applications may be past
// before readiness says Argo CD's controller is not working: Argo CD reconciles every
// Application at least every timeout.reconciliation (180 s by default, plus up to 60 s of
// jitter), so three times that is a controller that stopped, not a slow one.
const StaleReconcile = 10 * time.Minute

// Ready says whether Argo CD can deploy Berth's services: its API and namespace exist, and
// its application controller reconciles the Applications Berth owns (the newest
// reconciliation is recent). Until Berth owns an Application there is nothing to judge the
// controller by, and the API and namespace decide.
func (a *Client) Ready(ctx context.Context) error {
	if err := a.Installed(ctx); err != nil {
		return err
	}
	apps, err := a.owned(ctx)
	if err != nil {
		return err
	}
	return reconciling(apps, time.Now(), StaleReconcile)
}

// owned lists Berth's Applications from the informer, or from the API server while it is
// not running yet.
func (a *Client) owned(ctx context.Context) ([]*v1alpha1.Application, error) {
	if l := a.cached(); l != nil {
		return l.List(managedSelector)
	}
	list, err := a.client.ArgoprojV1alpha1().Applications(a.namespace).List(ctx, metav1.ListOptions{LabelSelector: managedSelector.String()})
	if err != nil {
		return nil, err
	}
	out := make([]*v1alpha1.Application, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	return out, nil
}

// reconciling judges the controller by the newest reconciliation of apps; an Application
// never reconciled counts from its creation.
func reconciling(apps []*v1alpha1.Application, now time.Time, stale time.Duration) error {
	if len(apps) == 0 {
		return nil
	}
	var newest time.Time
	for _, app := range apps {
		t := app.CreationTimestamp.Time
		if r := app.Status.ReconciledAt; r != nil {
			t = r.Time
		}
		if t.After(newest) {
			newest = t
		}
	}
	if age := now.Sub(newest); age > stale {
		return fmt.Errorf("%w: Argo CD's application controller has reconciled none of Berth's %d Applications for %s (newest at %s); is argocd-application-controller running?",
			errs.ErrUnavailable, len(apps), age.Truncate(time.Second), newest.UTC().Format(time.RFC3339))
	}
	return nil
}
