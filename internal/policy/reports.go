package policy

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// ReportGVR is the PolicyReport that Kyverno writes for every namespaced resource it checks
// in the background and at admission (audit mode).
var ReportGVR = schema.GroupVersionResource{Group: "wgpolicyk8s.io", Version: "v1alpha2", Resource: "policyreports"}

// Reported is one failing result of a PolicyReport, as Kyverno wrote it.
type Reported struct {
	Cluster    string
	Namespace  string
	Kind, Name string
	// Policy is the Kyverno policy's name (berth-<library policy>[-<team>] for Berth's).
	Policy, Rule, Result, Message string
	At                            time.Time
}

// Reports keeps the PolicyReports of every cluster it watches in informer caches; reading
// them costs no API call.
type Reports struct {
	log *slog.Logger
	// Poll is how often a cluster without the PolicyReport API (no Kyverno yet) is asked again.
	Poll time.Duration

	mu       sync.Mutex
	clusters map[string]*clusterReports
}

type clusterReports struct {
	// store is indexed by namespace (the dynamic informer's default index).
	store  cache.Indexer
	synced cache.InformerSynced
	// problem says why the cluster's reports cannot be read ("" when they can).
	problem string
}

// NewReports returns an empty set of watches.
func NewReports(log *slog.Logger) *Reports {
	return &Reports{log: log, Poll: 30 * time.Second, clusters: map[string]*clusterReports{}}
}

// Watch follows a cluster's PolicyReports until ctx ends (a tenancy.Fleet attachment).
func (r *Reports) Watch(ctx context.Context, cluster string, cfg *rest.Config) {
	cr := &clusterReports{problem: "starting"}
	r.mu.Lock()
	r.clusters[cluster] = cr
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.clusters[cluster] == cr {
			delete(r.clusters, cluster)
		}
		r.mu.Unlock()
	}()
	dyn, err := dynamic.NewForConfig(cfg)
	var disc *discovery.DiscoveryClient
	if err == nil {
		disc, err = discovery.NewDiscoveryClientForConfig(cfg)
	}
	if err != nil {
		// Kept until the cluster leaves, so readiness and the violations say why.
		r.setProblem(cluster, cr, err.Error())
		<-ctx.Done()
		return
	}
	// Without Kyverno the PolicyReport API does not exist; an informer on it would retry and
	// log forever, so wait for it to appear.
	for !served(disc, ReportGVR) {
		r.setProblem(cluster, cr, "the cluster serves no "+ReportGVR.GroupVersion().String()+" PolicyReports (is Kyverno installed?)")
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.Poll):
		}
	}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(dyn, 10*time.Minute)
	inf := factory.ForResource(ReportGVR).Informer()
	r.mu.Lock()
	cr.store, cr.synced, cr.problem = inf.GetIndexer(), inf.HasSynced, ""
	r.mu.Unlock()
	factory.Start(ctx.Done())
	<-ctx.Done()
	factory.Shutdown()
}

func (r *Reports) setProblem(cluster string, cr *clusterReports, p string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cr.problem != p {
		r.log.Warn("policy reports not readable", "cluster", clusterLabel(cluster), "problem", p)
	}
	cr.problem = p
}

func served(disc discovery.DiscoveryInterface, gvr schema.GroupVersionResource) bool {
	list, err := disc.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return false
	}
	return slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == gvr.Resource })
}

// Problems says, per cluster, why its reports cannot be read or are not complete yet.
func (r *Reports) Problems() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for name, cr := range r.clusters {
		switch {
		case cr.problem != "":
			out[name] = cr.problem
		case !cr.synced():
			out[name] = "still reading PolicyReports"
		}
	}
	return out
}

// Watching reports whether the cluster's reports are followed at all.
func (r *Reports) Watching(cluster string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.clusters[cluster]
	return ok
}

// Failing returns the failing results (fail, warn, error) in the given namespaces of a
// cluster, from the cache.
func (r *Reports) Failing(cluster string, namespaces map[string]bool) []Reported {
	r.mu.Lock()
	cr := r.clusters[cluster]
	r.mu.Unlock()
	if cr == nil || cr.store == nil {
		return nil
	}
	var out []Reported
	for ns := range namespaces {
		items, err := cr.store.ByIndex(cache.NamespaceIndex, ns)
		if err != nil { // no namespace index: scan
			items = slices.DeleteFunc(cr.store.List(), func(o any) bool {
				u, ok := o.(*unstructured.Unstructured)
				return !ok || u.GetNamespace() != ns
			})
		}
		for _, item := range items {
			if u, ok := item.(*unstructured.Unstructured); ok {
				out = append(out, failing(cluster, u)...)
			}
		}
	}
	return out
}

// failing reads a report's failing results; a result names its resources itself (older
// reports) or the report has one scope resource (Kyverno's per-resource reports).
func failing(cluster string, u *unstructured.Unstructured) []Reported {
	results, _, _ := unstructured.NestedSlice(u.Object, "results")
	scope, _, _ := unstructured.NestedMap(u.Object, "scope")
	var out []Reported
	for _, item := range results {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		result := str(m["result"])
		if result != "fail" && result != "warn" && result != "error" {
			continue
		}
		base := Reported{Cluster: cluster, Namespace: u.GetNamespace(), Policy: str(m["policy"]), Rule: str(m["rule"]),
			Result: result, Message: str(m["message"])}
		if ts, ok := m["timestamp"].(map[string]any); ok {
			if secs, ok := ts["seconds"].(int64); ok {
				base.At = time.Unix(secs, 0).UTC()
			}
		}
		refs, _ := m["resources"].([]any)
		if len(refs) == 0 && scope != nil {
			refs = []any{scope}
		}
		for _, ref := range refs {
			rm, ok := ref.(map[string]any)
			if !ok {
				continue
			}
			rep := base
			rep.Kind, rep.Name = str(rm["kind"]), str(rm["name"])
			if ns := str(rm["namespace"]); ns != "" {
				rep.Namespace = ns
			}
			out = append(out, rep)
		}
	}
	return out
}

func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// LibraryName maps a Kyverno policy's name back to the library policy it carries
// (berth-<policy> or berth-<policy>-<team>); other policies keep their own name.
func (l *Library) LibraryName(kyvernoName string) (string, bool) {
	rest, ok := strings.CutPrefix(kyvernoName, "berth-")
	if !ok {
		return kyvernoName, false
	}
	best := ""
	for _, n := range l.names {
		if (rest == n || strings.HasPrefix(rest, n+"-")) && len(n) > len(best) {
			best = n
		}
	}
	if best == "" {
		return kyvernoName, false
	}
	return best, true
}
