package workloads

import (
	"sort"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// View is what one service runs in one namespace, as the caches hold it now. The objects are
// the informers' own: read them, never change them.
type View struct {
	Namespace, Service string
	Deployment         *appsv1.Deployment
	ReplicaSets        []*appsv1.ReplicaSet // newest first
	Pods               []*corev1.Pod        // by name
	HPA                *autoscalingv2.HorizontalPodAutoscaler
	Svc                *corev1.Service
	Ingress            *networkingv1.Ingress
	PDB                *policyv1.PodDisruptionBudget
	PVCs               []*corev1.PersistentVolumeClaim // by name
	// Events of all of the above, newest first.
	Events []*corev1.Event
	// Stamp changes whenever anything in the namespace does ("" for a view not read from a
	// cache): what is computed from a view may be kept under it.
	Stamp string
}

// Service reads the view of service in namespace, as remembered while nothing in the
// namespace has changed.
func (c *Cache) Service(namespace, service string) View {
	stamp, key := c.stamp(namespace), namespace+"/"+service
	c.viewsMu.Lock()
	v, ok := c.views[key]
	c.viewsMu.Unlock()
	if ok && v.Stamp == stamp {
		return v
	}
	v = c.read(namespace, service)
	v.Stamp = stamp // read before the view: a change while reading makes the next read anew
	c.viewsMu.Lock()
	if len(c.views) >= maxViews {
		clear(c.views)
	}
	c.views[key] = v
	c.viewsMu.Unlock()
	return v
}

func (c *Cache) read(namespace, service string) View {
	v := View{Namespace: namespace, Service: service, Deployment: c.deployment(namespace, service)}
	sel := serviceSelector(service)
	rss, _ := c.factory.Apps().V1().ReplicaSets().Lister().ReplicaSets(namespace).List(sel)
	sort.Slice(rss, func(i, j int) bool { return Revision(rss[i]) > Revision(rss[j]) })
	v.ReplicaSets = rss
	pods, _ := c.factory.Core().V1().Pods().Lister().Pods(namespace).List(sel)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	v.Pods = pods
	pvcs, _ := c.factory.Core().V1().PersistentVolumeClaims().Lister().PersistentVolumeClaims(namespace).List(sel)
	sort.Slice(pvcs, func(i, j int) bool { return pvcs[i].Name < pvcs[j].Name })
	v.PVCs = pvcs
	if h, err := c.factory.Autoscaling().V2().HorizontalPodAutoscalers().Lister().HorizontalPodAutoscalers(namespace).Get(service); err == nil {
		v.HPA = h
	}
	if s, err := c.factory.Core().V1().Services().Lister().Services(namespace).Get(service); err == nil {
		v.Svc = s
	}
	if i, err := c.factory.Networking().V1().Ingresses().Lister().Ingresses(namespace).Get(service); err == nil {
		v.Ingress = i
	}
	if b, err := c.factory.Policy().V1().PodDisruptionBudgets().Lister().PodDisruptionBudgets(namespace).Get(service); err == nil {
		v.PDB = b
	}
	add := func(kind, name string) { v.Events = append(v.Events, c.eventsOf(namespace, kind, name)...) }
	if v.Deployment != nil {
		add("Deployment", service)
	}
	for _, rs := range rss {
		add("ReplicaSet", rs.Name)
	}
	for _, p := range pods {
		add("Pod", p.Name)
	}
	if v.HPA != nil {
		add("HorizontalPodAutoscaler", service)
	}
	sort.SliceStable(v.Events, func(i, j int) bool { return LastSeen(v.Events[i]).After(LastSeen(v.Events[j])) })
	return v
}

// Revision is a ReplicaSet's deployment revision (0 when it has none).
func Revision(rs *appsv1.ReplicaSet) int64 {
	n, _ := strconv.ParseInt(rs.Annotations["deployment.kubernetes.io/revision"], 10, 64)
	return n
}

// LastSeen is when an event last happened: its series' last observation, its last timestamp,
// or its event time (events.k8s.io writers set only that), whichever it has.
func LastSeen(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// FirstSeen is when an event first happened.
func FirstSeen(e *corev1.Event) time.Time {
	switch {
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// Count is how often an event happened.
func Count(e *corev1.Event) int32 {
	if e.Series != nil && e.Series.Count > 0 {
		return e.Series.Count
	}
	return max(e.Count, 1)
}
