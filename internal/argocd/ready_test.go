package argocd

import (
	"strings"
	"testing"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReconcilingJudgesTheNewestReconciliation(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	app := func(created, reconciled time.Duration) *v1alpha1.Application {
		a := &v1alpha1.Application{ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(now.Add(-created))}}
		if reconciled > 0 {
			at := metav1.NewTime(now.Add(-reconciled))
			a.Status.ReconciledAt = &at
		}
		return a
	}
	for _, c := range []struct {
		name string
		apps []*v1alpha1.Application
		want string // "" for ready
	}{
		{"no applications yet", nil, ""},
		{"one reconciled a minute ago", []*v1alpha1.Application{app(time.Hour, 20*time.Minute), app(time.Hour, time.Minute)}, ""},
		{"new and never reconciled", []*v1alpha1.Application{app(time.Minute, 0)}, ""},
		{"all stale", []*v1alpha1.Application{app(2*time.Hour, 30*time.Minute), app(2*time.Hour, 11*time.Minute)}, "reconciled none of Berth's 2 Applications for 11m0s"},
		{"never reconciled since long", []*v1alpha1.Application{app(time.Hour, 0)}, "for 1h0m0s"},
	} {
		err := reconciling(c.apps, now, StaleReconcile)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
