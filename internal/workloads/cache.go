package workloads

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
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
	// id tells this cache's generations from those of a cache made again for the cluster.
	id uint64
	// gens counts the changes the informers saw in each namespace (*atomic.Uint64 by name):
	// a service's view, and an answer made of it, stay valid while the count stays.
	gens sync.Map
	// views are the views read at a generation, so that polling cards cost one map read.
	viewsMu sync.Mutex
	views   map[string]View
}

// maxViews bounds the remembered views; past it they are forgotten all at once.
const maxViews = 4096

const byObject = "object" // events by namespace/kind/name of what they are about

// NewCache makes the informers of the cluster cs reaches; Start runs them.
func NewCache(cs kubernetes.Interface) *Cache {
	strip := informers.WithTransform(dropManagedFields)
	f := informers.NewSharedInformerFactoryWithOptions(cs, 10*time.Minute, strip,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = Selector }))
	ev := informers.NewSharedInformerFactoryWithOptions(cs, 10*time.Minute, strip)
	var id [8]byte
	_, _ = rand.Read(id[:])
	c := &Cache{factory: f, events: ev, id: binary.BigEndian.Uint64(id[:]), views: map[string]View{}}
	bump := cache.ResourceEventHandlerFuncs{AddFunc: c.bump, UpdateFunc: func(_, obj any) { c.bump(obj) }, DeleteFunc: c.bump}
	einf := ev.Core().V1().Events().Informer()
	for _, inf := range []cache.SharedIndexInformer{f.Apps().V1().Deployments().Informer(), f.Apps().V1().ReplicaSets().Informer(),
		f.Core().V1().Pods().Informer(), f.Autoscaling().V2().HorizontalPodAutoscalers().Informer(), f.Core().V1().Services().Informer(),
		f.Networking().V1().Ingresses().Informer(), f.Policy().V1().PodDisruptionBudgets().Informer(),
		f.Core().V1().PersistentVolumeClaims().Informer(), einf} {
		_, _ = inf.AddEventHandler(bump)
		if inf != einf {
			c.synced = append(c.synced, inf.HasSynced)
		}
	}
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

func (c *Cache) bump(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	m, ok := obj.(metav1.Object)
	if !ok {
		return
	}
	n, _ := c.gens.LoadOrStore(m.GetNamespace(), new(atomic.Uint64))
	n.(*atomic.Uint64).Add(1)
}

// stamp names what the caches hold for namespace now: equal stamps, equal views.
func (c *Cache) stamp(namespace string) string {
	var g uint64
	if n, ok := c.gens.Load(namespace); ok {
		g = n.(*atomic.Uint64).Load()
	}
	return fmt.Sprintf("%x.%d", c.id, g)
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
