package argocd

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	informers "github.com/argoproj/argo-cd/v3/pkg/client/informers/externalversions"
	listers "github.com/argoproj/argo-cd/v3/pkg/client/listers/application/v1alpha1"
	"github.com/berth-platform/berth/internal/errs"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
)

// AppStatus is what Argo CD reports of an Application.
type AppStatus struct {
	// Name is the Application's.
	Name                   string
	Sync, Health, Revision string
	// Message is the most useful single line: an error condition, a failed operation, or
	// why the application is not healthy.
	Message    string
	Operation  string // phase of the last or current operation
	OpState    *Operation
	History    []Deployment // newest first
	Conditions []Condition
	// ReconciledAt is when Argo CD's application controller last compared the Application
	// (zero: never); RefreshPending says a refresh asked of it is not done yet. A refresh left
	// pending is the sign of a controller that does not run.
	ReconciledAt   time.Time
	RefreshPending bool
}

// Operation is the last or current sync of an Application.
type Operation struct {
	Phase, Message, Revision, InitiatedBy string
	StartedAt                             time.Time
	FinishedAt                            *time.Time
}

// Failed says whether the operation failed, or is being retried after the API server (or an
// admission webhook) refused an object: waiting heals neither.
func (o *Operation) Failed() bool {
	return o.Phase == "Failed" || o.Phase == "Error" || (o.Phase == "Running" && strings.Contains(o.Message, "Retrying") && o.Refused())
}

// Refused says whether the operation's message is the API server's or a webhook's refusal.
func (o *Operation) Refused() bool {
	return strings.Contains(o.Message, "denied the request") || strings.Contains(o.Message, "is forbidden")
}

// Deployment is one entry of an Application's history: a revision Argo CD synced.
type Deployment struct {
	ID          int64
	Revision    string
	DeployedAt  time.Time
	InitiatedBy string
}

// Condition is an Argo CD application condition (errors and warnings about the app itself).
type Condition struct {
	Type, Message string
}

// appCache is the informer of Berth's Applications, started once Argo CD is installed.
type appCache struct {
	mu        sync.Mutex
	lister    listers.ApplicationNamespaceLister
	start     sync.Once
	listeners []func(app string)
}

// OnChange calls fn with an Application's name whenever the informer sees it change (runs
// waiting for a rollout are woken by it rather than polling).
func (a *Client) OnChange(fn func(app string)) {
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	a.cache.listeners = append(a.cache.listeners, fn)
}

func (a *Client) changed(obj any) {
	app, ok := obj.(*v1alpha1.Application)
	if !ok {
		return
	}
	a.cache.mu.Lock()
	fns := a.cache.listeners
	a.cache.mu.Unlock()
	for _, fn := range fns {
		fn(app.Name)
	}
}

// Watch keeps an informer of the Applications Berth manages until ctx ends, so that status
// reads (every service page, every rollout poll) do not reach the API server. When Argo CD
// is not installed it checks again every interval.
func (a *Client) Watch(ctx context.Context, interval time.Duration) {
	a.cache.start.Do(func() {
		go func() {
			for {
				if a.Installed(ctx) == nil {
					break
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(interval):
				}
			}
			f := informers.NewSharedInformerFactoryWithOptions(a.client, 10*time.Minute, informers.WithNamespace(a.namespace),
				informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = managedSelector.String() }))
			inf := f.Argoproj().V1alpha1().Applications()
			lister := inf.Lister().Applications(a.namespace)
			informer := inf.Informer()
			_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: a.changed, UpdateFunc: func(_, obj any) { a.changed(obj) }})
			f.Start(ctx.Done())
			if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
				return
			}
			a.cache.mu.Lock()
			a.cache.lister = lister
			a.cache.mu.Unlock()
		}()
	})
}

func (a *Client) cached() listers.ApplicationNamespaceLister {
	a.cache.mu.Lock()
	defer a.cache.mu.Unlock()
	return a.cache.lister
}

// Status reads an Application's status from the informer, or from the API server while the
// informer is not running yet.
func (a *Client) Status(ctx context.Context, name string) (AppStatus, error) {
	var app *v1alpha1.Application
	var err error
	if l := a.cached(); l != nil {
		app, err = l.Get(name)
	} else {
		app, err = a.client.ArgoprojV1alpha1().Applications(a.namespace).Get(ctx, name, metav1.GetOptions{})
		// A missing Argo CD also answers 404: only then is discovery worth asking.
		if err != nil {
			if ierr := a.Installed(ctx); ierr != nil {
				return AppStatus{}, ierr
			}
		}
	}
	if apierrors.IsNotFound(err) {
		return AppStatus{}, fmt.Errorf("%w: Argo CD application %s does not exist yet", errs.ErrNotFound, name)
	}
	if err != nil {
		return AppStatus{}, err
	}
	return statusOf(app), nil
}

func statusOf(app *v1alpha1.Application) AppStatus {
	st := AppStatus{Name: app.Name, Sync: string(app.Status.Sync.Status), Health: string(app.Status.Health.Status), Revision: app.Status.Sync.Revision}
	if app.Status.ReconciledAt != nil {
		st.ReconciledAt = app.Status.ReconciledAt.Time
	}
	_, st.RefreshPending = app.Annotations[v1alpha1.AnnotationKeyRefresh]
	if app.Status.Health.Status != "Healthy" && app.Status.Health.Message != "" {
		st.Message = app.Status.Health.Message
	}
	if op := app.Status.OperationState; op != nil {
		st.Operation = string(op.Phase)
		o := &Operation{Phase: string(op.Phase), Message: op.Message, StartedAt: op.StartedAt.Time, InitiatedBy: initiator(op.Operation.InitiatedBy)}
		if op.FinishedAt != nil {
			t := op.FinishedAt.Time
			o.FinishedAt = &t
		}
		if op.SyncResult != nil {
			o.Revision = op.SyncResult.Revision
		}
		st.OpState = o
		if op.Phase != "Succeeded" && op.Message != "" {
			st.Message = op.Message
		}
	}
	for _, c := range app.Status.Conditions {
		st.Conditions = append(st.Conditions, Condition{Type: c.Type, Message: c.Message})
		if c.IsError() {
			st.Message = c.Message
		}
	}
	for _, h := range app.Status.History {
		st.History = append(st.History, Deployment{ID: h.ID, Revision: h.Revision, DeployedAt: h.DeployedAt.Time, InitiatedBy: initiator(h.InitiatedBy)})
	}
	sort.Slice(st.History, func(i, j int) bool { return st.History[i].ID > st.History[j].ID })
	return st
}

func initiator(i v1alpha1.OperationInitiator) string {
	if i.Automated {
		return "automated"
	}
	return i.Username
}
