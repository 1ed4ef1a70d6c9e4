package workloads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/logs"
	"github.com/berth-platform/berth/internal/store"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// LogSource is a logs.Source for one service in one environment, read as one person: pods
// from the informers, logs through the API server impersonating them.
type LogSource struct {
	s         *Service
	p         access.Principal
	team, env string
	c         *Cache
	ns, svc   string
	as        kubernetes.Interface
}

var _ logs.Source = (*LogSource)(nil)

// LogSource checks that p may read the team (viewer; an outsider hears that it does not
// exist) and that the service runs in env, and returns where its logs are read.
func (s *Service) LogSource(ctx context.Context, p access.Principal, team, service, env string) (*LogSource, store.Environment, error) {
	t, err := s.tenancy.Authorize(ctx, p, team, access.Viewer)
	if err != nil {
		return nil, store.Environment{}, err
	}
	q := s.store.Q()
	svc, err := q.ServiceByName(ctx, t.ID, service)
	if err != nil {
		return nil, store.Environment{}, err
	}
	e, err := q.EnvironmentByName(ctx, t.ID, env)
	if err != nil || !contains(svc.Environments, env) {
		return nil, store.Environment{}, fmt.Errorf("%w: service %q does not run in environment %q", errs.ErrNotFound, service, env)
	}
	c := s.registry.Get(e.Cluster)
	if c == nil || c.cfg == nil || !c.Synced() {
		return nil, e, fmt.Errorf("%w: the cluster of environment %q is not connected yet", errs.ErrUnavailable, env)
	}
	cfg := rest.CopyConfig(c.cfg)
	cfg.Timeout = 0 // a followed log lasts as long as its reader
	as, err := kube.AsUserOn(cfg, p.Subject, p.Groups)
	if err != nil {
		return nil, e, err
	}
	return &LogSource{s: s, p: p, team: team, env: env, c: c, ns: e.Namespace, svc: svc.Name, as: as}, e, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Containers lists the service's containers (init containers first in each pod).
func (l *LogSource) Containers() []logs.Container {
	pods, _ := l.c.factory.Core().V1().Pods().Lister().Pods(l.ns).List(serviceSelector(l.svc))
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	var out []logs.Container
	for _, p := range pods {
		for _, st := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			started := st.State.Running != nil || st.State.Terminated != nil
			out = append(out, logs.Container{Pod: p.Name, Name: st.Name, Restarts: st.RestartCount, Started: started})
		}
	}
	return out
}

// Open reads a container's log as the caller.
func (l *LogSource) Open(ctx context.Context, pod, container string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	return l.as.CoreV1().Pods(l.ns).GetLogs(pod, o).Stream(ctx)
}

// Allowed reads the caller's access again: still a viewer of the team in Berth, and still
// allowed pods/log in the namespace by Kubernetes.
func (l *LogSource) Allowed(ctx context.Context) error {
	if _, err := l.s.tenancy.Authorize(ctx, l.p, l.team, access.Viewer); errors.Is(err, errs.ErrNotFound) || errors.Is(err, errs.ErrForbidden) {
		return errors.Join(logs.ErrAccess, err)
	} // another error is the database's: the next check decides
	r, err := l.as.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: l.ns, Verb: "get", Resource: "pods", Subresource: "log"}}}, metav1.CreateOptions{})
	if err != nil {
		return nil // Kubernetes is not answering: the reads themselves are refused if access went
	}
	if !r.Status.Allowed {
		return fmt.Errorf("%w: Kubernetes no longer lets %s read pods/log in %s", logs.ErrAccess, l.p.Subject, l.ns)
	}
	return nil
}
