// Package kube connects Berth to Kubernetes: client configuration from a kubeconfig (or the
// in-cluster service account), and the readiness check that says whether the API server
// answers. Informers, impersonation and apply helpers belong here as capabilities need them.
package kube

import (
	"context"
	"fmt"
	"strings"

	"github.com/berth-platform/berth/internal/errs"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Clients are Berth's own connections to one cluster.
type Clients struct {
	Config *rest.Config
	Core   kubernetes.Interface
}

// Connect reads kubeconfig ("" means in-cluster configuration).
func Connect(kubeconfig string) (*Clients, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes client configuration: %w", err)
	}
	cfg.UserAgent = "berth"
	// client-go's default of 5 requests a second starves Berth's loops: one namespace is about
	// ten applies, and a team has several.
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Config: cfg, Core: cs}, nil
}

// Ready checks the API server's own readiness endpoint.
func (c *Clients) Ready(ctx context.Context) error {
	body, err := c.Core.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("kubernetes API server: %w", err)
	}
	if string(body) != "ok" {
		return fmt.Errorf("kubernetes API server not ready: %s", body)
	}
	return nil
}

// AsUser returns clients that act as a person: requests carry Impersonate-User and
// Impersonate-Group, so Kubernetes RBAC decides and the cluster's audit log names the user.
// Berth's own credentials need the impersonate verb on users and groups.
//
// Only people are impersonated: a user in Kubernetes' own namespace (system:...) is refused,
// and groups named system:... (system:masters, a service account's groups) are never passed,
// whatever a token carried; system:authenticated is added, as the API server would.
func (c *Clients) AsUser(user string, groups []string) (kubernetes.Interface, error) {
	return AsUserOn(c.Config, user, groups)
}

// AsUserOn is AsUser on the cluster that cfg (Berth's own credentials there) reaches.
func AsUserOn(base *rest.Config, user string, groups []string) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(base)
	imp, err := Impersonation(user, groups)
	if err != nil {
		return nil, err
	}
	cfg.Impersonate = imp
	return kubernetes.NewForConfig(cfg)
}

// Impersonation is what AsUser sends for user and groups.
func Impersonation(user string, groups []string) (rest.ImpersonationConfig, error) {
	if user == "" || strings.HasPrefix(user, "system:") {
		return rest.ImpersonationConfig{}, fmt.Errorf("%w: Berth does not act as %q in the cluster", errs.ErrForbidden, user)
	}
	out := []string{"system:authenticated"}
	for _, g := range groups {
		if g != "" && !strings.HasPrefix(g, "system:") {
			out = append(out, g)
		}
	}
	return rest.ImpersonationConfig{UserName: user, Groups: out}, nil
}
