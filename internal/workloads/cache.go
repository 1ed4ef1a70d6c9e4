package workloads

import (
	"context"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Selector is the label every object of a Berth service carries.
const Selector = "app.kubernetes.io/managed-by=berth"

// Cache is the informers of one cluster.
type Cache struct {
	// cfg is Berth's own client configuration for the cluster; reads on a person's behalf
	// (logs) impersonate them with it.
	cfg             *rest.Config
	factory, events informers.SharedInformerFactory
	synced          []cache.InformerSynced
	eventsBy        cache.Indexer
}

const byObject = "object" // events by namespace/kind/name of what they are about

// NewCache makes the informers of the cluster cs reaches; Start runs them.
func NewCache(cs kubernetes.Interface) *Cache {
	strip := informers.WithTransform(dropManagedFields)
	f := informers.NewSharedInformerFactoryWithOptions(cs, 10*time.Minute, strip,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = Selector }))
	ev := informers.NewSharedInformerFactoryWithOptions(cs, 10*time.Minute, strip)
	c := &Cache{factory: f, events: ev}
	for _, inf := range []cache.SharedIndexInformer{f.Apps().V1().Deployments().Informer(), f.Apps().V1().ReplicaSets().Informer(),
		f.Core().V1().Pods().Informer(), f.Autoscaling().V2().HorizontalPodAutoscalers().Informer(), f.Core().V1().Services().Informer(),
		f.Networking().V1().Ingresses().Informer(), f.Policy().V1().PodDisruptionBudgets().Informer()} {
		c.synced = append(c.synced, inf.HasSynced)
	}
	einf := ev.Core().V1().Events().Informer()
	_ = einf.AddIndexers(cache.Indexers{byObject: func(obj any) ([]string, error) {
		e, ok := obj.(*corev1.Event)
		if !ok {
			return nil, nil
		}
		return []string{e.Namespace + "/" + e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name}, nil
	}})
	c.eventsBy = einf.GetIndexer()
	c.synced = append(c.synced, einf.HasSynced)
	return c
}

// Start runs the informers until ctx ends and waits for their first sync.
func (c *Cache) Start(ctx context.Context) bool {
	c.factory.Start(ctx.Done())
	c.events.Start(ctx.Done())
	return cache.WaitForCacheSync(ctx.Done(), c.synced...)
}

// Synced says whether every informer holds its first full list.
func (c *Cache) Synced() bool {
	for _, s := range c.synced {
		if !s() {
			return false
		}
	}
	return true
}

// dropManagedFields keeps the caches small: Berth never reads who set which field.
func dropManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.ObjectMetaAccessor); ok {
		m.GetObjectMeta().SetManagedFields(nil)
	}
	return obj, nil
}

func (c *Cache) eventsOf(namespace, kind, name string) []*corev1.Event {
	objs, _ := c.eventsBy.ByIndex(byObject, namespace+"/"+kind+"/"+name)
	out := make([]*corev1.Event, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.(*corev1.Event))
	}
	return out
}

func (c *Cache) deployment(namespace, name string) *appsv1.Deployment {
	d, err := c.factory.Apps().V1().Deployments().Lister().Deployments(namespace).Get(name)
	if err != nil {
		return nil
	}
	return d
}

func serviceSelector(service string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{"app.kubernetes.io/name": service, "app.kubernetes.io/managed-by": "berth"})
}

// Registry holds a Cache per cluster ("" is Berth's own), started and stopped with the fleet.
type Registry struct {
	mu     sync.Mutex
	caches map[string]*Cache
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{caches: map[string]*Cache{}} }

// Attach runs a cluster's cache for as long as ctx (tenancy.Attachment's signature).
func (r *Registry) Attach(ctx context.Context, cluster string, cfg *rest.Config) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return
	}
	c := NewCache(cs)
	c.cfg = cfg
	r.mu.Lock()
	r.caches[cluster] = c
	r.mu.Unlock()
	c.Start(ctx)
	<-ctx.Done()
	r.mu.Lock()
	if r.caches[cluster] == c {
		delete(r.caches, cluster)
	}
	r.mu.Unlock()
}

// Get returns a cluster's cache, or nil while it has none.
func (r *Registry) Get(cluster string) *Cache {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.caches[cluster]
}
