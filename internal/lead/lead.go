package lead

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Election is one lease and who campaigns for it.
type Election struct {
	Client    kubernetes.Interface
	Namespace string // made when missing
	Name      string // the Lease
	// Identity tells replicas apart (host name and a random suffix when empty).
	Identity string
	// Lease is how long a leader holds the lease without renewing it.
	Lease time.Duration
	Log   *slog.Logger
}

// Run campaigns until ctx ends, running work while this replica leads (work's context ends
// when the lead is lost).
func (e Election) Run(ctx context.Context, work func(ctx context.Context)) {
	id := e.Identity
	if id == "" {
		host, _ := os.Hostname()
		id = host + "-" + rand.String(6)
	}
	for ctx.Err() == nil {
		if err := e.ensureNamespace(ctx); err != nil {
			e.Log.Warn("leader election: no namespace for the lease", "namespace", e.Namespace, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(e.Lease):
			}
			continue
		}
		lock := &resourcelock.LeaseLock{LeaseMeta: metav1.ObjectMeta{Name: e.Name, Namespace: e.Namespace}, Client: e.Client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: id}}
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock: lock, ReleaseOnCancel: true, Name: e.Name,
			LeaseDuration: e.Lease, RenewDeadline: e.Lease * 2 / 3, RetryPeriod: e.Lease / 7,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					e.Log.Info("leading", "lease", e.Namespace+"/"+e.Name, "identity", id)
					work(ctx)
				},
				OnStoppedLeading: func() { e.Log.Info("no longer leading", "lease", e.Namespace+"/"+e.Name, "identity", id) },
			},
		})
		if err != nil {
			e.Log.Error("leader election", "error", err)
			return
		}
		le.Run(ctx) // returns when the lead is lost or ctx ends: campaign again
	}
}

func (e Election) ensureNamespace(ctx context.Context) error {
	_, err := e.Client.CoreV1().Namespaces().Get(ctx, e.Namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = e.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: e.Namespace,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "berth"}}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("namespace %s: %w", e.Namespace, err)
	}
	return nil
}
