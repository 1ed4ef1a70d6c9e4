package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{}) }

type fixture struct {
	t     *testing.T
	p     *plane.Plane
	st    *store.Store
	svc   *tenancy.Service
	rec   *tenancy.Reconciler
	kube  *kube.Clients
	drift []string
	// nsPattern is the fixture's namespace pattern.
	nsPattern string

	mu         sync.Mutex
	reconciles map[string]int // per namespace
}

func (f *fixture) reconciled(ns string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reconciles[ns]
}

func (f *fixture) pattern() string { return f.nsPattern }

func newFixture(t *testing.T) *fixture {
	p := plane.Get(t)
	st := storetest.Open(t, "sqlite")
	kc, err := kube.Connect(p.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, p: p, st: st, kube: kc, reconciles: map[string]int{}}
	f.rec = tenancy.NewReconciler(st, kc.Core, tenancy.ReconcilerOptions{PodSecurity: "restricted", IngressNamespace: "ingress-nginx",
		Prices: tenancy.DefaultPrices, Resync: time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.rec.OnDrift = func(kind string) {
		f.mu.Lock()
		f.drift = append(f.drift, kind)
		f.mu.Unlock()
	}
	f.rec.OnReconcile = func(ns string) {
		f.mu.Lock()
		f.reconciles[ns]++
		f.mu.Unlock()
	}
	opts := tenancy.DefaultOptions()
	// Every test gets team names of its own: the plane's namespaces are shared by the package.
	opts.NamespacePattern = "t" + strings.ToLower(t.Name()[len(t.Name())-4:]) + "-{team}-{env}"
	f.nsPattern = opts.NamespacePattern
	opts.Notify, opts.Quotas = f.rec.Enqueue, f.rec
	f.svc = tenancy.NewService(st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.rec.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func person(subject string, groups ...string) access.Principal {
	return access.Principal{Identity: auth.Identity{Subject: subject, Groups: groups}}
}

func (f *fixture) waitReady(team, env string) store.Environment {
	f.t.Helper()
	var got store.Environment
	plane.Eventually(f.t, 30*time.Second, team+"/"+env+" ready", func() (bool, error) {
		root := person("user:default/root")
		root.PlatformAdmin = true
		e, err := f.svc.GetEnvironment(context.Background(), root, team, env)
		if err != nil {
			return false, err
		}
		got = e
		return e.Phase == tenancy.PhaseReady, fmt.Errorf("phase %s: %s", e.Phase, e.Message)
	})
	return got
}

func TestOnboardingCreatesEverythingAndReapplyChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	jane := person("user:default/jane")
	if _, err := f.svc.CreateTeam(ctx, jane, tenancy.NewTeam{Name: "payments"}); err != nil {
		t.Fatal(err)
	}
	env := f.waitReady("payments", "dev")
	ns := env.Namespace
	cs := f.p.Client

	nsObj, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"berth.dev/team": "payments", "berth.dev/environment": "dev", "app.kubernetes.io/managed-by": "berth", "pod-security.kubernetes.io/enforce": "restricted"} {
		if nsObj.Labels[k] != v {
			t.Errorf("namespace label %s = %q, want %q", k, nsObj.Labels[k], v)
		}
	}
	q, err := cs.CoreV1().ResourceQuotas(ns).Get(ctx, tenancy.QuotaName, metav1.GetOptions{})
	if err != nil || q.Spec.Hard.Cpu().String() == "" || q.Spec.Hard[corev1.ResourceRequestsCPU] != tenancy.Tiers["small"].Quota.RequestsCPU {
		t.Fatalf("quota: %v %v", q.Spec.Hard, err)
	}
	if _, err := cs.CoreV1().LimitRanges(ns).Get(ctx, tenancy.LimitRangeName, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	nps, _ := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
	if len(nps.Items) != 4 {
		t.Fatalf("%d network policies, want 4", len(nps.Items))
	}
	plane.Eventually(t, 20*time.Second, "quota usage read from the cluster", func() (bool, error) {
		v, err := f.svc.Quota(env)
		return err == nil && v.Reported && v.Used["pods"] == "0" && v.Hard["requests.cpu"] == "2", fmt.Errorf("%+v %v", v, err)
	})
	rbs, _ := cs.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=berth"})
	if len(rbs.Items) != 1 || rbs.Items[0].Subjects[0].Name != "user:default/jane" || rbs.Items[0].RoleRef.Name != "berth-admin" {
		t.Fatalf("role bindings: %+v", rbs.Items)
	}

	// Reconciling again changes nothing in the cluster.
	versions := func() map[string]string {
		out := map[string]string{}
		n, _ := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		out["ns"] = n.ResourceVersion
		l, _ := cs.CoreV1().LimitRanges(ns).Get(ctx, tenancy.LimitRangeName, metav1.GetOptions{})
		out["lr"] = l.ResourceVersion
		np, _ := cs.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
		for _, x := range np.Items {
			out[x.Name] = x.ResourceVersion
		}
		rb, _ := cs.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
		for _, x := range rb.Items {
			out[x.Name] = x.ResourceVersion
		}
		return out
	}
	before := versions()
	applied := env.AppliedAt
	f.rec.Enqueue(ns)
	plane.Eventually(t, 20*time.Second, "a second reconcile", func() (bool, error) {
		e, err := f.svc.GetEnvironment(ctx, jane, "payments", "dev")
		return err == nil && e.AppliedAt.After(applied), err
	})
	if after := versions(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("re-applying changed objects:\nbefore %v\nafter  %v", before, after)
	}
	if d := f.drifts(); len(d) != 0 {
		t.Fatalf("drift reported where there was none: %v", d)
	}
}

func (f *fixture) drifts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.drift)
}

// Fields that are not Berth's, set by other field managers (a label a GitOps tool adds, an
// annotation), are theirs to keep and no drift; a field of Berth's changed by someone is.
func TestOtherManagersChangesAreNotDrift(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	jane := person("user:default/jane")
	if _, err := f.svc.CreateTeam(ctx, jane, tenancy.NewTeam{Name: "notes"}); err != nil {
		t.Fatal(err)
	}
	env := f.waitReady("notes", "dev")
	ns, cs := env.Namespace, f.p.Client
	reconcile := func() {
		t.Helper()
		e, _ := f.svc.GetEnvironment(ctx, jane, "notes", "dev")
		f.rec.Enqueue(ns)
		plane.Eventually(t, 20*time.Second, "a reconcile", func() (bool, error) {
			got, err := f.svc.GetEnvironment(ctx, jane, "notes", "dev")
			return err == nil && got.AppliedAt.After(e.AppliedAt), err
		})
	}
	reconcile() // settled
	other := metav1.PatchOptions{FieldManager: "argocd-controller"}
	if _, err := cs.CoreV1().Namespaces().Patch(ctx, ns, types.MergePatchType, []byte(`{"metadata":{"labels":{"example.com/cost-center":"42"}}}`), other); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Patch(ctx, "berth-default-deny", types.MergePatchType, []byte(`{"metadata":{"annotations":{"example.com/reviewed":"yes"}}}`), other); err != nil {
		t.Fatal(err)
	}
	reconcile()
	if d := f.drifts(); len(d) != 0 {
		t.Fatalf("other managers' own fields reported as drift: %v", d)
	}
	n, _ := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if n.Labels["example.com/cost-center"] != "42" {
		t.Fatalf("another manager's label was removed: %v", n.Labels)
	}

	if _, err := cs.CoreV1().LimitRanges(ns).Patch(ctx, tenancy.LimitRangeName, types.JSONPatchType,
		[]byte(`[{"op":"replace","path":"/spec/limits/0/default/cpu","value":"64"}]`), other); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "the limit range's change repaired and reported", func() (bool, error) {
		return slices.Contains(f.drifts(), "LimitRange"), fmt.Errorf("drift %v", f.drifts())
	})
}

func TestDriftIsRepairedAndReported(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.CreateTeam(ctx, person("user:default/jane"), tenancy.NewTeam{Name: "search"}); err != nil {
		t.Fatal(err)
	}
	env := f.waitReady("search", "prod")
	cs := f.p.Client
	if err := cs.CoreV1().ResourceQuotas(env.Namespace).Delete(ctx, tenancy.QuotaName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := cs.NetworkingV1().NetworkPolicies(env.Namespace).Delete(ctx, "berth-default-deny", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "quota and default deny back", func() (bool, error) {
		_, err1 := cs.CoreV1().ResourceQuotas(env.Namespace).Get(ctx, tenancy.QuotaName, metav1.GetOptions{})
		_, err2 := cs.NetworkingV1().NetworkPolicies(env.Namespace).Get(ctx, "berth-default-deny", metav1.GetOptions{})
		return err1 == nil && err2 == nil, fmt.Errorf("quota: %v, policy: %v", err1, err2)
	})
	plane.Eventually(t, 10*time.Second, "drift recorded", func() (bool, error) {
		e, err := f.svc.GetEnvironment(ctx, person("user:default/jane"), "search", "prod")
		return err == nil && !e.DriftRepairedAt.IsZero(), err
	})
	// Someone raises their own quota: it is put back.
	q, _ := cs.CoreV1().ResourceQuotas(env.Namespace).Get(ctx, tenancy.QuotaName, metav1.GetOptions{})
	want := q.Spec.Hard[corev1.ResourceRequestsCPU]
	q.Spec.Hard[corev1.ResourceRequestsCPU] = *resourceMust("100")
	if _, err := cs.CoreV1().ResourceQuotas(env.Namespace).Update(ctx, q, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "quota restored", func() (bool, error) {
		q, err := cs.CoreV1().ResourceQuotas(env.Namespace).Get(ctx, tenancy.QuotaName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		got := q.Spec.Hard[corev1.ResourceRequestsCPU]
		return got.Cmp(want) == 0, fmt.Errorf("requests.cpu %s", got.String())
	})
}

func TestTeamDeletionRemovesNamespaces(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	jane := person("user:default/jane")
	if _, err := f.svc.CreateTeam(ctx, jane, tenancy.NewTeam{Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	env := f.waitReady("gone", "staging")
	if err := f.svc.DeleteTeam(ctx, jane, "gone", ""); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "namespace deleted", func() (bool, error) {
		ns, err := f.p.Client.CoreV1().Namespaces().Get(ctx, env.Namespace, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return true, nil
		}
		return err == nil && ns.DeletionTimestamp != nil, err
	})
}

// The guide's table, cell by cell: for each role, a SubjectAccessReview of every verb on every
// resource it names is allowed exactly where the role allows it, and requests made as that
// user (impersonation) agree. Members of another team get nothing.
func TestRolesMatchTheGuide(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	admin := person("user:default/ada")
	if _, err := f.svc.CreateTeam(ctx, admin, tenancy.NewTeam{Name: "cards"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateTeam(ctx, person("user:default/mallory"), tenancy.NewTeam{Name: "other"}); err != nil {
		t.Fatal(err)
	}
	for subject, role := range map[string]access.Role{"user:default/eve": access.Editor, "group:default/cards-viewers": access.Viewer} {
		kind, name := "user", subject
		if strings.HasPrefix(subject, "group:") {
			kind = "group"
		}
		if _, err := f.svc.AddMember(ctx, admin, "cards", tenancy.NewMember{Kind: kind, Name: name, Role: role}); err != nil {
			t.Fatal(err)
		}
	}
	env := f.waitReady("cards", "dev")
	ns := env.Namespace
	plane.Eventually(t, 30*time.Second, "three role bindings", func() (bool, error) {
		rbs, err := f.p.Client.RbacV1().RoleBindings(ns).List(ctx, metav1.ListOptions{})
		return err == nil && len(rbs.Items) == 3, err
	})

	type cell struct{ group, resource, sub, verb string }
	cells := []cell{}
	for _, r := range []struct{ group, resource, sub string }{
		{"", "pods", ""}, {"apps", "deployments", ""}, {"apps", "statefulsets", ""}, {"batch", "jobs", ""}, {"batch", "cronjobs", ""},
		{"", "configmaps", ""}, {"", "secrets", ""}, {"autoscaling", "horizontalpodautoscalers", ""}, {"", "services", ""},
		{"networking.k8s.io", "ingresses", ""}, {"rbac.authorization.k8s.io", "rolebindings", ""}, {"", "resourcequotas", ""},
	} {
		for _, v := range []string{"get", "list", "watch", "create", "update", "patch", "delete"} {
			cells = append(cells, cell{r.group, r.resource, r.sub, v})
		}
	}
	cells = append(cells, cell{"", "pods", "log", "get"}, cell{"", "pods", "exec", "create"})
	// What would let a team admin out of the boundary: no role may bind or escalate (so no
	// cluster-admin in the namespace), impersonate, or write what the platform owns.
	for _, c := range []cell{
		{"rbac.authorization.k8s.io", "clusterroles", "", "bind"}, {"rbac.authorization.k8s.io", "roles", "", "bind"},
		{"rbac.authorization.k8s.io", "roles", "", "escalate"}, {"rbac.authorization.k8s.io", "clusterroles", "", "escalate"},
		{"", "serviceaccounts", "", "impersonate"}, {"", "users", "", "impersonate"},
		{"", "limitranges", "", "update"}, {"", "limitranges", "", "delete"},
		{"networking.k8s.io", "networkpolicies", "", "get"}, {"networking.k8s.io", "networkpolicies", "", "update"},
		{"networking.k8s.io", "networkpolicies", "", "delete"}, {"networking.k8s.io", "networkpolicies", "", "create"},
		{"kyverno.io", "policyexceptions", "", "create"}, {"policies.kyverno.io", "policyexceptions", "", "create"},
	} {
		cells = append(cells, c)
	}

	allowed := func(role access.Role, c cell) bool {
		res := c.resource
		if c.sub != "" {
			res += "/" + c.sub
		}
		reads := c.verb == "get" || c.verb == "list" || c.verb == "watch"
		switch role {
		case access.Viewer:
			switch res {
			case "pods", "pods/log", "deployments", "statefulsets", "jobs", "cronjobs", "configmaps", "horizontalpodautoscalers", "services", "ingresses", "resourcequotas":
				return reads
			}
			return false
		case access.Editor:
			switch res {
			case "pods", "deployments", "statefulsets", "jobs", "cronjobs", "configmaps", "horizontalpodautoscalers", "services":
				return true
			case "secrets":
				return c.verb == "create" || c.verb == "delete"
			case "ingresses":
				return c.verb != "delete" && c.verb != "patch"
			case "pods/log", "pods/exec":
				return true
			case "resourcequotas":
				return reads
			}
			return false
		case access.Admin:
			switch {
			case c.verb == "bind" || c.verb == "escalate" || c.verb == "impersonate" || strings.Contains(c.group, "kyverno"):
				return false
			case res == "resourcequotas" || res == "limitranges" || res == "networkpolicies":
				return reads
			}
			return true
		}
		return false
	}
	who := []struct {
		user   string
		groups []string
		role   access.Role
	}{
		{"user:default/ada", nil, access.Admin},
		{"user:default/eve", nil, access.Editor},
		{"user:default/victor", []string{"group:default/cards-viewers"}, access.Viewer},
		{"user:default/mallory", nil, access.None}, // admin of another team
	}
	for _, w := range who {
		for _, c := range cells {
			sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
				User: w.user, Groups: append([]string{"system:authenticated"}, w.groups...),
				ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: c.verb, Group: c.group, Resource: c.resource, Subresource: c.sub},
			}}
			got, err := f.p.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if want := allowed(w.role, c); got.Status.Allowed != want {
				t.Errorf("%s (%s): %s %s/%s %s: allowed=%v, want %v", w.user, w.role, c.verb, c.resource, c.sub, c.group, got.Status.Allowed, want)
			}
		}
	}

	// Requests made as the user agree with the reviews.
	asEve, err := f.kube.AsUser("user:default/eve", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asEve.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("editor could not create a config map: %v", err)
	}
	if _, err := asEve.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token"}, StringData: map[string]string{"k": "v"}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("editor could not create a secret: %v", err)
	}
	if _, err := asEve.CoreV1().Secrets(ns).Get(ctx, "token", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("editor read a secret: %v", err)
	}
	// The escalation the API server itself prevents once bind and escalate are gone: a team
	// admin binding cluster-admin in the namespace, then rewriting the platform's quota.
	asAda, _ := f.kube.AsUser("user:default/ada", nil)
	escalate := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "take-over"},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "user:default/ada"}}}
	if _, err := asAda.RbacV1().RoleBindings(ns).Create(ctx, escalate, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a team admin bound cluster-admin in the team namespace: %v", err)
	}
	if err := asAda.NetworkingV1().NetworkPolicies(ns).Delete(ctx, "berth-default-deny", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a team admin deleted the platform's default-deny policy: %v", err)
	}
	asViewer, _ := f.kube.AsUser("user:default/victor", []string{"group:default/cards-viewers"})
	if _, err := asViewer.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("viewer could not list pods: %v", err)
	}
	if err := asViewer.CoreV1().ConfigMaps(ns).Delete(ctx, "settings", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("viewer deleted a config map: %v", err)
	}
	asMallory, _ := f.kube.AsUser("user:default/mallory", nil)
	if _, err := asMallory.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("another team's admin listed pods here: %v", err)
	}

	// Removing a member removes their bindings.
	ms, _, err := f.svc.ListMembers(ctx, admin, "cards", tenancy.MemberFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "user:default/eve" {
			if err := f.svc.RemoveMember(ctx, admin, "cards", m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	plane.Eventually(t, 30*time.Second, "eve's binding removed", func() (bool, error) {
		_, err := f.p.Client.RbacV1().RoleBindings(ns).Get(ctx, access.RoleBindingName("user", "user:default/eve"), metav1.GetOptions{})
		return apierrors.IsNotFound(err), err
	})
	if _, err := asEve.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Fatalf("a removed editor still lists config maps: %v", err)
	}
}

// A namespace Berth did not create is never taken over: an environment that would name it is
// refused before anything changes, and the reconciler, should one reach it anyway (the check
// off, or the namespace made in between), fails the environment and leaves the namespace as
// it was: no labels, no quota, no bindings, and no deletion with the environment.
func TestForeignNamespacesAreNeverTakenOver(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	jane := person("user:default/jane")
	if _, err := f.svc.CreateTeam(ctx, jane, tenancy.NewTeam{Name: "own"}); err != nil {
		t.Fatal(err)
	}
	f.waitReady("own", "dev")
	foreign := strings.NewReplacer("{team}", "own", "{env}", "tools").Replace(f.pattern())
	if _, err := f.p.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: foreign,
		Labels: map[string]string{"owner": "someone-else"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.p.Client.CoreV1().Namespaces().Delete(context.Background(), foreign, metav1.DeleteOptions{})
	})

	// With the live check (as serve wires it): a conflict that names nothing of the owner.
	checked := tenancy.DefaultOptions()
	checked.NamespacePattern, checked.Notify, checked.Namespaces = f.pattern(), f.rec.Enqueue, f.rec
	guarded := tenancy.NewService(f.st, checked)
	if _, err := guarded.CreateEnvironment(ctx, jane, "own", "tools", tenancy.QuotaChoice{}, ""); !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), "is not available") {
		t.Fatalf("environment over a foreign namespace: %v, want a conflict", err)
	}
	if _, err := guarded.GetEnvironment(ctx, jane, "own", "tools"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the refused environment was stored: %v", err)
	}
	// A new team whose namespaces would include one that exists: the same answer as a taken name.
	if _, err := guarded.CreateTeam(ctx, jane, tenancy.NewTeam{Name: "own"}); !errors.Is(err, errs.ErrConflict) || !strings.Contains(err.Error(), "team name") {
		t.Fatalf("a team over existing namespaces: %v", err)
	}

	// Without the check, the reconciler refuses.
	if _, err := f.svc.CreateEnvironment(ctx, jane, "own", "tools", tenancy.QuotaChoice{}, ""); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "environment failed", func() (bool, error) {
		e, err := f.svc.GetEnvironment(ctx, jane, "own", "tools")
		return err == nil && e.Phase == tenancy.PhaseFailed && strings.Contains(e.Message, "was not made by Berth"), fmt.Errorf("%s %s", e.Phase, e.Message)
	})
	ns, err := f.p.Client.CoreV1().Namespaces().Get(ctx, foreign, metav1.GetOptions{})
	if err != nil || ns.Labels[access.LabelManagedBy] != "" || ns.Labels["owner"] != "someone-else" {
		t.Fatalf("the foreign namespace was changed: %v %v", ns.Labels, err)
	}
	if q, _ := f.p.Client.CoreV1().ResourceQuotas(foreign).List(ctx, metav1.ListOptions{}); len(q.Items) != 0 {
		t.Fatalf("quota put into a foreign namespace: %v", q.Items)
	}
	if err := f.svc.DeleteEnvironment(ctx, jane, "own", "tools"); err != nil {
		t.Fatal(err)
	}
	f.rec.Enqueue(foreign)
	time.Sleep(2 * time.Second) // the reconciler's turn: a deletion would show by then
	if ns, err := f.p.Client.CoreV1().Namespaces().Get(ctx, foreign, metav1.GetOptions{}); err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("the foreign namespace was deleted with the environment: %v", err)
	}
}

// A pod started in a team namespace changes its quota's usage, not anything Berth set: it
// does not set off a reconcile of the namespace.
func TestQuotaUsageDoesNotReconcile(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.CreateTeam(ctx, person("user:default/jane"), tenancy.NewTeam{Name: "busy"}); err != nil {
		t.Fatal(err)
	}
	ns := f.waitReady("busy", "dev").Namespace
	time.Sleep(time.Second) // let the reconciles of the creation itself settle
	before := f.reconciled(ns)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.example.com/x:1",
		SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptrTo(true), AllowPrivilegeEscalation: ptrTo(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}}}}}
	if _, err := f.p.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, 30*time.Second, "quota usage counts the pod", func() (bool, error) {
		q, err := f.p.Client.CoreV1().ResourceQuotas(ns).Get(ctx, tenancy.QuotaName, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		used := q.Status.Used[corev1.ResourcePods]
		return used.Value() == 1, fmt.Errorf("pods used %s", used.String())
	})
	time.Sleep(time.Second) // the informer's event, had it been enqueued, is handled by now
	if after := f.reconciled(ns); after != before {
		t.Fatalf("quota usage set off %d reconciles", after-before)
	}
}

func ptrTo[T any](v T) *T { return &v }
