package tenancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	listersnetworkingv1 "k8s.io/client-go/listers/networking/v1"
	listersrbacv1 "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// FieldManager is the server-side apply field manager of everything Berth applies.
const FieldManager = "berth"

// Environment phases.
const (
	PhasePending = "Pending"
	PhaseReady   = "Ready"
	PhaseFailed  = "Failed"
)

const clusterRolesKey = "#cluster-roles"

// ReconcilerOptions are the cluster-facing settings of team namespaces.
type ReconcilerOptions struct {
	PodSecurity      string
	IngressNamespace string
	Prices           Prices
	Resync           time.Duration
	Workers          int
}

// Reconciler keeps every team namespace as the database says: it applies the namespace, its
// quota, limit range, network policies and role bindings with server-side apply, repairs
// drift it sees through informers, and deletes namespaces whose environment is gone. It
// acts as Berth's own service account: it is Berth's loop, not a user's request.
type Reconciler struct {
	cluster string // the registered cluster's name; "" for Berth's own
	store   *store.Store
	kube    kubernetes.Interface
	opts    ReconcilerOptions
	log     *slog.Logger
	queue   workqueue.TypedRateLimitingInterface[string]

	factory      informers.SharedInformerFactory
	namespaces   listerscorev1.NamespaceLister
	quotas       listerscorev1.ResourceQuotaLister
	limitRanges  listerscorev1.LimitRangeLister
	netpols      listersnetworkingv1.NetworkPolicyLister
	roleBindings listersrbacv1.RoleBindingLister
	clusterRoles listersrbacv1.ClusterRoleLister
	synced       []cache.InformerSynced

	mu sync.Mutex
	// watchErrs holds, per kind, why its informer cannot list or watch (permissions, an
	// API the cluster lacks), until it syncs.
	watchErrs map[string]string

	// OnDrift, if set, is told of every repaired object (for metrics).
	OnDrift func(kind string)
	// OnReconcile, if set, is told of every namespace reconciled (for metrics and tests).
	OnReconcile func(namespace string)
}

// NewReconciler wires informers on the objects Berth manages (label-selected, so the cache
// holds Berth's objects only).
func NewReconciler(st *store.Store, cs kubernetes.Interface, o ReconcilerOptions, log *slog.Logger) *Reconciler {
	if o.Resync == 0 {
		o.Resync = 5 * time.Minute
	}
	if o.Workers == 0 {
		o.Workers = 2
	}
	r := &Reconciler{store: st, kube: cs, opts: o, log: log, watchErrs: map[string]string{},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(retries(),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "tenancy"})}
	r.factory = informers.NewSharedInformerFactoryWithOptions(cs, o.Resync, informers.WithTweakListOptions(func(lo *metav1.ListOptions) {
		lo.LabelSelector = access.LabelManagedBy + "=" + access.ManagedBy
	}))
	core, net, rbac := r.factory.Core().V1(), r.factory.Networking().V1(), r.factory.Rbac().V1()
	handler := cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(old, obj any) {
			if quotaStatusOnly(old, obj) {
				return // every pod in the team changes the quota's usage: nothing to reconcile
			}
			r.enqueueFor(obj)
		},
		DeleteFunc: func(obj any) { r.enqueueFor(obj) },
	}
	for kind, inf := range map[string]cache.SharedIndexInformer{"namespaces": core.Namespaces().Informer(), "resourcequotas": core.ResourceQuotas().Informer(),
		"limitranges": core.LimitRanges().Informer(), "networkpolicies": net.NetworkPolicies().Informer(),
		"rolebindings": rbac.RoleBindings().Informer(), "clusterroles": rbac.ClusterRoles().Informer()} {
		_, _ = inf.AddEventHandler(handler)
		_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
			r.mu.Lock()
			r.watchErrs[kind] = err.Error()
			r.mu.Unlock()
		})
		r.synced = append(r.synced, inf.HasSynced)
	}
	r.namespaces, r.quotas, r.limitRanges = core.Namespaces().Lister(), core.ResourceQuotas().Lister(), core.LimitRanges().Lister()
	r.netpols, r.roleBindings, r.clusterRoles = net.NetworkPolicies().Lister(), rbac.RoleBindings().Lister(), rbac.ClusterRoles().Lister()
	return r
}

// maxRetryDelay bounds how long a namespace that failed to reconcile waits before it is tried
// again. client-go's default doubles up to 1000 s: an API server down for a minute fails
// every namespace a dozen times, and teams would wait minutes more once it is back.
const maxRetryDelay = 30 * time.Second

// retries is client-go's default controller rate limiter (per-item exponential backoff from
// 5 ms, and 10 retries a second overall with a burst of 100), with the per-item delay capped.
func retries() workqueue.TypedRateLimiter[string] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](5*time.Millisecond, maxRetryDelay),
		&workqueue.TypedBucketRateLimiter[string]{Limiter: rate.NewLimiter(rate.Limit(10), 100)})
}

func (r *Reconciler) enqueueFor(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, err := metaOf(obj)
	if err != nil {
		return
	}
	switch {
	case m.GetLabels()[access.LabelRole] != "" && m.GetNamespace() == "":
		r.queue.Add(clusterRolesKey)
	case m.GetNamespace() == "":
		r.queue.Add(m.GetName()) // a Namespace
	default:
		r.queue.Add(m.GetNamespace())
	}
}

// Enqueue asks for namespaces to be reconciled soon; tenancy calls it after every change.
func (r *Reconciler) Enqueue(namespaces ...string) {
	for _, ns := range namespaces {
		r.queue.Add(ns)
	}
}

// Run reconciles until ctx ends: cluster roles, then every environment, then whatever the
// informers, the API and the periodic resync put on the queue.
func (r *Reconciler) Run(ctx context.Context) error {
	defer r.queue.ShutDown()
	r.factory.Start(ctx.Done())
	defer r.factory.Shutdown()
	waiting, stopWaiting := context.WithCancel(ctx)
	go r.reportUnsynced(waiting)
	synced := cache.WaitForCacheSync(ctx.Done(), r.synced...)
	stopWaiting()
	if !synced {
		return errors.New("tenancy: informer caches did not sync")
	}
	// The ClusterRoles first: every RoleBinding of every namespace refers to them.
	if err := r.applyClusterRoles(ctx); err != nil && ctx.Err() == nil {
		r.log.Warn("tenancy: cluster roles (retried)", "error", err)
		r.queue.AddRateLimited(clusterRolesKey)
	}
	go r.resyncLoop(ctx)
	for range r.opts.Workers {
		go func() {
			for r.processNext(ctx) {
			}
		}()
	}
	<-ctx.Done()
	return nil
}

func (r *Reconciler) resyncLoop(ctx context.Context) {
	t := time.NewTicker(r.opts.Resync)
	defer t.Stop()
	for {
		r.queue.Add(clusterRolesKey)
		envs, err := r.store.Q().ListEnvironments(ctx, "")
		if err != nil && ctx.Err() == nil {
			r.log.Warn("tenancy resync", "error", err)
		}
		for _, e := range envs {
			r.queue.Add(e.Namespace)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Reconciler) processNext(ctx context.Context) bool {
	key, quit := r.queue.Get()
	if quit {
		return false
	}
	defer r.queue.Done(key)
	var err error
	if key == clusterRolesKey {
		err = r.applyClusterRoles(ctx)
	} else {
		err = r.reconcileNamespace(ctx, key)
	}
	if err != nil && ctx.Err() == nil {
		r.log.Warn("tenancy reconcile", "key", key, "error", err)
		r.queue.AddRateLimited(key)
		return true
	}
	r.queue.Forget(key)
	return true
}

func (r *Reconciler) applyClusterRoles(ctx context.Context) error {
	start := time.Now().Truncate(time.Second)
	for _, cr := range access.ClusterRoles() {
		before := ""
		if old, err := r.clusterRoles.Get(*cr.Name); err == nil {
			before = old.ResourceVersion
		}
		got, err := r.kube.RbacV1().ClusterRoles().Apply(ctx, cr, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("apply ClusterRole %s: %w", *cr.Name, err)
		}
		if before != "" && before != got.ResourceVersion && appliedNow(got, start) {
			r.drift("ClusterRole", "", *cr.Name)
		}
	}
	return nil
}

func (r *Reconciler) drift(kind, ns, name string) {
	r.log.Warn("repaired drift", "kind", kind, "namespace", ns, "name", name)
	if r.OnDrift != nil {
		r.OnDrift(kind)
	}
}

// reconcileNamespace makes one team namespace match its environment, or deletes it when the
// environment no longer exists.
func (r *Reconciler) reconcileNamespace(ctx context.Context, ns string) error {
	if r.OnReconcile != nil {
		r.OnReconcile(ns)
	}
	q := r.store.Q()
	env, err := q.EnvironmentByNamespace(ctx, ns)
	if errors.Is(err, errs.ErrNotFound) || (err == nil && env.Cluster != r.cluster) {
		// Gone, or placed on another cluster: whatever is left here goes.
		return r.deleteOrphan(ctx, ns)
	}
	if err != nil {
		return err
	}
	if err := r.checkOwner(ctx, env); err != nil {
		return r.fail(ctx, env, err)
	}
	spec, err := r.spec(ctx, env)
	if err != nil {
		return r.fail(ctx, env, err)
	}
	// What changed although the database did not ask for a change is drift.
	settled := env.Phase == PhaseReady && !env.AppliedAt.IsZero() && !env.UpdatedAt.After(env.AppliedAt)
	drifted, err := r.apply(ctx, Render(spec), settled)
	if err != nil {
		return r.fail(ctx, env, err)
	}
	now := time.Now().UTC()
	repaired := env.DriftRepairedAt
	if drifted {
		repaired = now
	}
	return q.SetEnvironmentStatus(ctx, env.ID, PhaseReady, "", now, repaired)
}

// checkOwner refuses to touch a namespace Berth did not make for this environment: one made
// by someone else (kubectl, a component's chart) is never relabelled, given quotas and
// bindings, or deleted. The informer holds Berth's namespaces only, so a namespace it does not
// know is looked up live.
func (r *Reconciler) checkOwner(ctx context.Context, env store.Environment) error {
	ns, err := r.namespaces.Get(env.Namespace)
	if apierrors.IsNotFound(err) {
		ns, err = r.kube.CoreV1().Namespaces().Get(ctx, env.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
	}
	if err != nil {
		return err
	}
	if !OwnsNamespace(ns.Labels, env.TeamID, env.TeamName, env.Name) {
		return fmt.Errorf("%w: namespace %s exists and was not made by Berth for environment %s of team %s; Berth changed nothing (remove the environment, or the namespace)",
			errs.ErrConflict, env.Namespace, env.Name, env.TeamName)
	}
	return nil
}

// NamespaceTaken reports whether a namespace exists in the cluster and is not the one Berth
// made for this team's environment (teamID "" for a team not created yet).
func (r *Reconciler) NamespaceTaken(ctx context.Context, namespace, teamID, team, env string) (bool, error) {
	ns, err := r.kube.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return teamID == "" || !OwnsNamespace(ns.Labels, teamID, team, env), nil
}

func (r *Reconciler) fail(ctx context.Context, env store.Environment, cause error) error {
	if err := r.store.Q().SetEnvironmentStatus(ctx, env.ID, PhaseFailed, cause.Error(), env.AppliedAt, env.DriftRepairedAt); err != nil {
		r.log.Warn("record environment failure", "error", err)
	}
	return cause
}

func (r *Reconciler) spec(ctx context.Context, env store.Environment) (NamespaceSpec, error) {
	quota, _, err := QuotaOf(env, r.opts.Prices)
	if err != nil {
		return NamespaceSpec{}, err
	}
	members, err := r.store.Q().AllMembers(ctx, env.TeamID)
	if err != nil {
		return NamespaceSpec{}, err
	}
	subjects := make([]Subject, len(members))
	for i, m := range members {
		subjects[i] = Subject{Kind: m.Kind, Name: m.Name, Role: access.Role(m.Role)}
	}
	return NamespaceSpec{Team: env.TeamName, TeamID: env.TeamID, Env: env.Name, Namespace: env.Namespace, Quota: quota,
		PodSecurity: r.opts.PodSecurity, IngressNamespace: r.opts.IngressNamespace, Members: subjects}, nil
}

// apply server-side applies every object (a no-op when nothing differs) and removes role
// bindings nobody should have any more. It reports whether a settled namespace had drifted.
func (r *Reconciler) apply(ctx context.Context, o Objects, settled bool) (bool, error) {
	ns := *o.Namespace.Name
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	drifted := false
	start := time.Now().Truncate(time.Second)
	// An object drifted if it was missing, or if this apply changed it: took back a field of
	// ours that someone else had set. Changes by other field managers to fields that are not
	// ours (a label Argo CD adds, the quota's usage) leave our apply a no-op, and are not drift.
	track := func(kind, name, before string, after metav1.Object) {
		if settled && (before == "" || before != after.GetResourceVersion() && appliedNow(after, start)) {
			drifted = true
			r.drift(kind, ns, name)
		}
	}
	rv := func(get func() (metav1.Object, error)) string {
		if m, err := get(); err == nil {
			return m.GetResourceVersion()
		}
		return ""
	}

	before := rv(func() (metav1.Object, error) { return r.namespaces.Get(ns) })
	got, err := r.kube.CoreV1().Namespaces().Apply(ctx, o.Namespace, opts)
	if err != nil {
		return false, fmt.Errorf("apply namespace %s: %w", ns, err)
	}
	track("Namespace", ns, before, got)

	before = rv(func() (metav1.Object, error) { return r.quotas.ResourceQuotas(ns).Get(QuotaName) })
	q, err := r.kube.CoreV1().ResourceQuotas(ns).Apply(ctx, o.Quota, opts)
	if err != nil {
		return false, fmt.Errorf("apply quota: %w", err)
	}
	track("ResourceQuota", QuotaName, before, q)

	before = rv(func() (metav1.Object, error) { return r.limitRanges.LimitRanges(ns).Get(LimitRangeName) })
	lr, err := r.kube.CoreV1().LimitRanges(ns).Apply(ctx, o.LimitRange, opts)
	if err != nil {
		return false, fmt.Errorf("apply limit range: %w", err)
	}
	track("LimitRange", LimitRangeName, before, lr)

	for _, np := range o.NetworkPolicies {
		before = rv(func() (metav1.Object, error) { return r.netpols.NetworkPolicies(ns).Get(*np.Name) })
		got, err := r.kube.NetworkingV1().NetworkPolicies(ns).Apply(ctx, np, opts)
		if err != nil {
			return false, fmt.Errorf("apply network policy %s: %w", *np.Name, err)
		}
		track("NetworkPolicy", *np.Name, before, got)
	}

	want := map[string]bool{}
	for _, rb := range o.RoleBindings {
		want[*rb.Name] = true
		before = rv(func() (metav1.Object, error) { return r.roleBindings.RoleBindings(ns).Get(*rb.Name) })
		got, err := r.kube.RbacV1().RoleBindings(ns).Apply(ctx, rb, opts)
		if err != nil {
			return false, fmt.Errorf("apply role binding %s: %w", *rb.Name, err)
		}
		track("RoleBinding", *rb.Name, before, got)
	}
	existing, err := r.roleBindings.RoleBindings(ns).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, rb := range existing {
		if want[rb.Name] {
			continue
		}
		err := r.kube.RbacV1().RoleBindings(ns).Delete(ctx, rb.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("remove role binding %s: %w", rb.Name, err)
		}
	}
	return drifted, nil
}

// appliedNow says whether our apply since start changed obj: the API server stamps a field
// manager's entry with the time only when its operation changed the object (seconds).
func appliedNow(obj metav1.Object, start time.Time) bool {
	for _, m := range obj.GetManagedFields() {
		if m.Manager == FieldManager && m.Operation == metav1.ManagedFieldsOperationApply && m.Time != nil && !m.Time.Time.Before(start) {
			return true
		}
	}
	return false
}

func (r *Reconciler) deleteOrphan(ctx context.Context, ns string) error {
	obj, err := r.namespaces.Get(ns)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if obj.Labels[access.LabelManagedBy] != access.ManagedBy || obj.DeletionTimestamp != nil {
		return nil
	}
	r.log.Info("deleting namespace of a removed environment", "namespace", ns, "team", obj.Labels[access.LabelTeam])
	err = r.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// quotaStatusOnly reports an update of a ResourceQuota that changed its status (usage) and
// nothing Berth sets.
func quotaStatusOnly(old, obj any) bool {
	a, ok1 := old.(*corev1.ResourceQuota)
	b, ok2 := obj.(*corev1.ResourceQuota)
	return ok1 && ok2 && apiequality.Semantic.DeepEqual(a.Spec, b.Spec) && apiequality.Semantic.DeepEqual(a.Labels, b.Labels)
}

func metaOf(obj any) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// QuotaOf sizes an environment's quota from its budget, or else its tier.
func QuotaOf(env store.Environment, p Prices) (Quota, *Arithmetic, error) {
	if env.Budget > 0 {
		q, a, err := QuotaForBudget(Budget{Monthly: env.Budget, CPUShare: env.CPUShare, LimitRatio: env.LimitRatio}, p)
		if err != nil {
			return Quota{}, nil, err
		}
		return q, &a, nil
	}
	t, ok := Tiers[env.Tier]
	if !ok {
		return Quota{}, nil, fmt.Errorf("%w: unknown quota tier %q", errs.ErrInvalid, env.Tier)
	}
	return t.Quota, nil, nil
}

// QuotaStatus reads an environment's quota from the informer cache.
func (r *Reconciler) QuotaStatus(env store.Environment) (hard, used map[string]string, ok bool) {
	q, err := r.quotas.ResourceQuotas(env.Namespace).Get(QuotaName)
	if err != nil {
		return nil, nil, false
	}
	hard, used = map[string]string{}, map[string]string{}
	for k, v := range q.Status.Hard {
		hard[string(k)] = v.String()
	}
	for k, v := range q.Status.Used {
		used[string(k)] = v.String()
	}
	return hard, used, true
}
