// Package kube connects Berth to Kubernetes: client configuration from a kubeconfig (or the
// in-cluster service account), and the readiness check that says whether the API server
// answers. Informers, impersonation and apply helpers belong here as capabilities need them.
package kube

import (
	"context"
	"fmt"

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
func (c *Clients) AsUser(user string, groups []string) (kubernetes.Interface, error) {
	cfg := rest.CopyConfig(c.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: append([]string{"system:authenticated"}, groups...)}
	return kubernetes.NewForConfig(cfg)
}
