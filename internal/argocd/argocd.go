package argocd

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/sleep"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	argoclient "github.com/argoproj/argo-cd/v3/pkg/client/clientset/versioned"
	"github.com/berth-platform/berth/internal/errs"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// InClusterServer is how Argo CD names the cluster it runs in.
const InClusterServer = "https://kubernetes.default.svc"

// Client manages the AppProject of each team and the Application of each service environment.
type Client struct {
	client    argoclient.Interface
	discovery discovery.DiscoveryInterface
	namespace string
	repoURL   string
	// rest, when set, carries syncs through the Argo CD API server instead of the
	// Application's operation field.
	rest *RESTClient
	// core writes the repository Secret that carries creds to Argo CD.
	core  kubernetes.Interface
	creds gitops.Credentials

	cache appCache
}

// New returns the Argo CD adapter for the cluster of cfg; Applications live in
// namespace and follow repoURL.
func New(cfg *rest.Config, namespace, repoURL string) (*Client, error) {
	c, err := argoclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	core, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{client: c, discovery: d, core: core, namespace: namespace, repoURL: repoURL}, nil
}

// Installed says plainly when the cluster has no Argo CD.
func (a *Client) Installed(ctx context.Context) error {
	if _, err := a.discovery.ServerResourcesForGroupVersion("argoproj.io/v1alpha1"); err != nil {
		return fmt.Errorf("%w: Argo CD is not installed in the cluster (no argoproj.io/v1alpha1 API); install it (see the README) and retry the run", errs.ErrUnavailable)
	}
	// Listing in a namespace that does not exist answers an empty list: ask for the namespace.
	if _, err := a.core.CoreV1().Namespaces().Get(ctx, a.namespace, metav1.GetOptions{}); err != nil {
		return fmt.Errorf("%w: Argo CD's namespace %s is not usable (is Argo CD installed there? --argocd-namespace): %v", errs.ErrUnavailable, a.namespace, err)
	}
	return nil
}

// FieldManager is the server-side apply field manager of everything Berth writes.
const FieldManager = "berth"

// Destination is a namespace on a cluster, as Argo CD names it by its API server's URL.
type Destination struct{ Server, Namespace string }

// EnsureProject makes the team's AppProject: sources only from the GitOps repository,
// destinations only the team's namespaces (each on the cluster its environment is placed on),
// no cluster-scoped objects, and none of the platform's own namespaced objects (quotas,
// limits, RBAC, Kyverno policy exceptions).
// NetworkPolicies stay allowed: services bring their own, beside the platform's default deny.
// Argo CD cannot restrict a project to a folder of a repository; Berth alone writes
// Applications, and it points each at its team's folder (teams/<team>/...).
//
// A project of that name that Berth did not make for this team is a conflict: nothing is
// changed. Berth applies only the fields it decides, so what others set on the project (Argo
// CD's roles and tokens, sync windows, an operator's annotations) stays.
func (a *Client) EnsureProject(ctx context.Context, t Team, dests []Destination) error {
	dest := make([]v1alpha1.ApplicationDestination, len(dests))
	for i, d := range dests {
		dest[i] = v1alpha1.ApplicationDestination{Server: serverOr(d.Server), Namespace: d.Namespace}
	}
	want := v1alpha1.AppProjectSpec{
		Description: "Services of team " + t.Name + " (managed by Berth)", SourceRepos: []string{a.repoURL}, Destinations: dest,
		NamespaceResourceBlacklist: []metav1.GroupKind{{Group: "", Kind: "ResourceQuota"}, {Group: "", Kind: "LimitRange"},
			{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}, {Group: "rbac.authorization.k8s.io", Kind: "Role"},
			{Group: "kyverno.io", Kind: "PolicyException"}, {Group: "policies.kyverno.io", Kind: "PolicyException"}},
	}
	name := ProjectName(t)
	projects := a.client.ArgoprojV1alpha1().AppProjects(a.namespace)
	cur, err := projects.Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err == nil && !owned(cur.Labels, t, "", "") {
		return foreign("AppProject", a.namespace, name)
	}
	body, err := applyBody("AppProject", a.namespace, name, ownerLabels(t, "", ""), want)
	if err != nil {
		return err
	}
	_, err = projects.Patch(ctx, name, types.ApplyPatchType, body, applyOptions())
	return err
}

// foreign is the conflict of an object Berth would write but does not own.
func foreign(kind, namespace, name string) error {
	return fmt.Errorf("%w: %s %s/%s exists and was not made by Berth for this team; Berth changed nothing (rename or remove it)", errs.ErrConflict, kind, namespace, name)
}

// AppSpec is one service environment to deploy.
type AppSpec struct {
	Team                          Team
	Service, Env, Namespace, Path string
	// Server is the API server of the cluster the environment is placed on ("" for the
	// cluster Argo CD runs in).
	Server string
	// Automated syncs (with prune and self-heal) on every commit; otherwise a person syncs.
	Automated bool
}

// EnsureApplication creates or updates a service environment's Application; one of that name
// that Berth did not make for this team, service and environment is a conflict. Like the
// project, it is applied server-side: the application controller's status and operation and
// other owners' fields stay.
func (a *Client) EnsureApplication(ctx context.Context, s AppSpec) error {
	spec := v1alpha1.ApplicationSpec{
		Project:     ProjectName(s.Team),
		Source:      &v1alpha1.ApplicationSource{RepoURL: a.repoURL, Path: s.Path, TargetRevision: gitops.Branch},
		Destination: v1alpha1.ApplicationDestination{Server: serverOr(s.Server), Namespace: s.Namespace},
		// What the environment sleeper changes (replicas, a CronJob's suspend, its records)
		// is not drift: self-heal must not wake a sleeping environment, nor leave it
		// OutOfSync. The sleeper gives the fields back when it wakes the environment.
		IgnoreDifferences: v1alpha1.IgnoreDifferences{
			{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{sleep.FieldManager}},
			{Group: "apps", Kind: "StatefulSet", ManagedFieldsManagers: []string{sleep.FieldManager}},
			{Group: "batch", Kind: "CronJob", ManagedFieldsManagers: []string{sleep.FieldManager}},
		},
		SyncPolicy: &v1alpha1.SyncPolicy{SyncOptions: v1alpha1.SyncOptions{"ServerSideApply=true", "RespectIgnoreDifferences=true"},
			// A sync can fail for a moment (a namespace that moved is being made on its new
			// cluster): try again rather than wait for the next commit.
			Retry: &v1alpha1.RetryStrategy{Limit: 5, Backoff: &v1alpha1.Backoff{Duration: "5s", Factor: ptr.To(int64(2)), MaxDuration: "3m"}}},
	}
	if s.Automated {
		spec.SyncPolicy.Automated = &v1alpha1.SyncPolicyAutomated{Prune: ptr.To(true), SelfHeal: ptr.To(true)}
	}
	apps := a.client.ArgoprojV1alpha1().Applications(a.namespace)
	name := AppName(s.Team, s.Service, s.Env)
	cur, err := apps.Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err == nil && !owned(cur.Labels, s.Team, s.Service, s.Env) {
		return foreign("Application", a.namespace, name)
	}
	body, err := applyBody("Application", a.namespace, name, ownerLabels(s.Team, s.Service, s.Env), spec)
	if err != nil {
		return err
	}
	_, err = apps.Patch(ctx, name, types.ApplyPatchType, body, applyOptions())
	return err
}

// applyBody is the apply configuration of an Argo CD object: only the metadata and spec Berth
// decides. (A typed object would carry an empty status, and Berth would own its fields.)
func applyBody(kind, namespace, name string, labels map[string]string, spec any) ([]byte, error) {
	return json.Marshal(map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": namespace, "labels": labels}, "spec": spec})
}

// applyOptions take over fields another manager set on what Berth decides (a project's
// destinations edited by hand): Berth's intent wins, and the rest stays theirs.
func applyOptions() metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)}
}

func serverOr(server string) string {
	if server == "" {
		return InClusterServer
	}
	return server
}

// Refresh asks Argo CD to compare with Git now rather than at its next poll.
func (a *Client) Refresh(ctx context.Context, name string) error {
	patch := []byte(`{"metadata":{"annotations":{"argocd.argoproj.io/refresh":"normal"}}}`)
	_, err := a.client.ArgoprojV1alpha1().Applications(a.namespace).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// Sync starts a sync of an Application to the newest commit of the branch, as `argocd app
// sync` does: by setting its operation, which the application controller carries out. It is
// how manually synced environments (prod) are deployed. A sync already running is a conflict.
// With an API server configured (UseREST), the sync goes through Argo CD's REST API instead,
// under Argo CD's RBAC for Berth's token; user is then only in Berth's audit log.
//
// Only an Application Berth made for this team, service and environment is synced.
func (a *Client) Sync(ctx context.Context, t Team, service, env, user string) error {
	name := AppName(t, service, env)
	apps := a.client.ArgoprojV1alpha1().Applications(a.namespace)
	if a.rest != nil {
		app, err := apps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !owned(app.Labels, t, service, env) {
			return foreign("Application", a.namespace, name)
		}
		return a.rest.Sync(ctx, name)
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		app, err := apps.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if !owned(app.Labels, t, service, env) {
			return foreign("Application", a.namespace, name)
		}
		if app.Operation != nil {
			return fmt.Errorf("%w: a sync of %s is already running", errs.ErrConflict, name)
		}
		app.Operation = &v1alpha1.Operation{
			Sync:        &v1alpha1.SyncOperation{Revision: gitops.Branch, Prune: true, SyncOptions: v1alpha1.SyncOptions{"ServerSideApply=true"}},
			InitiatedBy: v1alpha1.OperationInitiator{Username: user},
		}
		_, err = apps.Update(ctx, app, metav1.UpdateOptions{FieldManager: FieldManager})
		return err
	})
}
