package tenancy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/berth-platform/berth/internal/seal"
	"github.com/berth-platform/berth/internal/store"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ClusterCredentials are what Berth authenticates to a registered cluster with: a bearer
// token, or a client certificate and key (PEM).
type ClusterCredentials struct {
	Token      string `json:"token,omitempty"`
	ClientCert string `json:"clientCertificateData,omitempty"`
	ClientKey  string `json:"clientKeyData,omitempty"`
}

// RestConfig builds a client configuration for a registered cluster.
func RestConfig(server, caData string, cred ClusterCredentials) *rest.Config {
	return &rest.Config{Host: server, BearerToken: cred.Token, UserAgent: "berth",
		TLSClientConfig: rest.TLSClientConfig{CAData: []byte(caData), CertData: []byte(cred.ClientCert), KeyData: []byte(cred.ClientKey)},
		QPS:             50, Burst: 100}
}

// Fleet runs one Reconciler per cluster: Berth's own and every registered one. Changes are
// sent to all of them; each applies the environments placed on its cluster and removes
// those that are not (so moving an environment moves its namespace).
type Fleet struct {
	store  *store.Store
	sealer *seal.Sealer
	opts   ReconcilerOptions
	log    *slog.Logger

	ownConfig   *rest.Config
	attachments []Attachment
	removed     []func(cluster string)

	mu     sync.Mutex
	ctx    context.Context
	recs   map[string]*Reconciler
	cancel map[string]context.CancelFunc
}

// Attachment is work that runs against one cluster for as long as the cluster is in the
// fleet (Berth's own is named ""), in its own goroutine, until ctx ends: the policy applier
// and the PolicyReport watch are attachments, so they follow clusters as they are
// registered and removed.
type Attachment func(ctx context.Context, cluster string, cfg *rest.Config)

// NewFleet returns a fleet whose own cluster is reached with own (ownConfig is handed to
// attachments; it may be nil when there are none).
func NewFleet(st *store.Store, own kubernetes.Interface, ownConfig *rest.Config, sealer *seal.Sealer, o ReconcilerOptions, log *slog.Logger) *Fleet {
	f := &Fleet{store: st, sealer: sealer, opts: o, log: log, ownConfig: ownConfig, recs: map[string]*Reconciler{}, cancel: map[string]context.CancelFunc{}}
	f.recs[""] = NewReconciler(st, own, o, log.With("cluster", "default"))
	return f
}

// Attach adds work to run against every cluster; call it before Run.
func (f *Fleet) Attach(a Attachment) { f.attachments = append(f.attachments, a) }

func (f *Fleet) attach(ctx context.Context, name string, cfg *rest.Config) {
	for _, a := range f.attachments {
		go a(ctx, name, rest.CopyConfig(cfg))
	}
}

// Run starts every reconciler and keeps them until ctx ends.
func (f *Fleet) Run(ctx context.Context) error {
	f.mu.Lock()
	f.ctx = ctx
	own := f.recs[""]
	f.mu.Unlock()
	go f.run(ctx, "", own)
	if f.ownConfig != nil {
		f.attach(ctx, "", f.ownConfig)
	}
	clusters, err := f.store.Q().ListClusters(ctx)
	if err != nil {
		return err
	}
	for _, c := range clusters {
		if err := f.AddCluster(c); err != nil {
			f.log.Error("cannot reconcile registered cluster", "cluster", c.Name, "error", err)
		}
	}
	<-ctx.Done()
	return nil
}

func (f *Fleet) run(ctx context.Context, name string, r *Reconciler) {
	if err := r.Run(ctx); err != nil && ctx.Err() == nil {
		f.log.Error("reconciler stopped", "cluster", name, "error", err)
	}
}

// AddCluster starts reconciling a registered cluster.
func (f *Fleet) AddCluster(c store.Cluster) error {
	cfg, err := f.open(c)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.recs[c.Name]; ok || f.ctx == nil {
		return nil
	}
	r := NewReconciler(f.store, cs, f.opts, f.log.With("cluster", c.Name))
	r.cluster = c.Name
	ctx, cancel := context.WithCancel(f.ctx)
	f.recs[c.Name], f.cancel[c.Name] = r, cancel
	go f.run(ctx, c.Name, r)
	f.attach(ctx, c.Name, cfg)
	return nil
}

// open unseals a registered cluster's credentials into a client configuration.
func (f *Fleet) open(c store.Cluster) (*rest.Config, error) {
	if f.sealer == nil {
		return nil, errors.New("registered clusters need --cluster-secret-key")
	}
	raw, err := f.sealer.Open(c.Credentials, c.Name)
	if err != nil {
		return nil, err
	}
	var cred ClusterCredentials
	if err := json.Unmarshal(raw, &cred); err != nil {
		return nil, fmt.Errorf("cluster %s credentials: %w", c.Name, err)
	}
	return RestConfig(c.Server, c.CAData, cred), nil
}

// ClusterConfig is Berth's own client configuration for a cluster ("" is Berth's own): what
// provisioning hands to Argo CD and impersonates requesters with.
func (f *Fleet) ClusterConfig(ctx context.Context, name string) (*rest.Config, error) {
	if name == "" {
		if f.ownConfig == nil {
			return nil, errors.New("no client configuration of Berth's own cluster")
		}
		return rest.CopyConfig(f.ownConfig), nil
	}
	c, err := f.store.Q().ClusterByName(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	return f.open(c)
}

// OnRemove adds work to do when a cluster is unregistered (Argo CD forgets it).
func (f *Fleet) OnRemove(fn func(cluster string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, fn)
}

// RemoveCluster stops reconciling a cluster that was unregistered.
func (f *Fleet) RemoveCluster(name string) {
	f.mu.Lock()
	if cancel, ok := f.cancel[name]; ok {
		cancel()
		delete(f.cancel, name)
		delete(f.recs, name)
	}
	removed := f.removed
	f.mu.Unlock()
	for _, fn := range removed {
		fn(name)
	}
}

// Enqueue hands namespaces to every cluster's reconciler.
func (f *Fleet) Enqueue(namespaces ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.recs {
		r.Enqueue(namespaces...)
	}
}

// QuotaStatus reads an environment's quota from the cluster it is placed on.
func (f *Fleet) QuotaStatus(env store.Environment) (hard, used map[string]string, ok bool) {
	f.mu.Lock()
	r := f.recs[env.Cluster]
	f.mu.Unlock()
	if r == nil {
		return nil, nil, false
	}
	return r.QuotaStatus(env)
}

// NamespaceTaken asks Berth's own cluster (see Reconciler.NamespaceTaken).
func (f *Fleet) NamespaceTaken(ctx context.Context, namespace, teamID, team, env string) (bool, error) {
	return f.Own().NamespaceTaken(ctx, namespace, teamID, team, env)
}

// Own is the reconciler of Berth's own cluster (for tests and drift metrics).
func (f *Fleet) Own() *Reconciler { return f.recs[""] }
