package sleep

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Annotations that record what an object was before it slept.
const (
	AnnotationReplicas = "berth.dev/sleep-replicas" // Deployments and StatefulSets
	AnnotationSuspend  = "berth.dev/sleep-suspend"  // CronJobs: "true" or "false"
	AnnotationSince    = "berth.dev/asleep-since"
	FieldManager       = "berth-sleeper"
)

// Change is what one transition did, or did not do, to one object.
type Change struct {
	Kind, Name string
	From, To   string // replicas or suspend, before and after
	// Note says why an object was left as it is (a person changed it while it slept).
	Note string
}

// Result is a transition's changes, by kind and name.
type Result struct {
	Changed []Change
	// Left are objects the transition found changed by someone else and did not touch.
	Left []Change
}

// retries bound the re-reads of an object someone changes while Berth patches it.
const retries = 5

// object is what a transition needs of one workload.
type object struct {
	kind, name, resourceVersion string
	annotations                 map[string]string
	value                       string // replicas, or suspend
	managed                     []metav1.ManagedFieldsEntry
}

// Sleep scales namespace's Deployments and StatefulSets to zero and suspends its CronJobs,
// recording what each was.
func Sleep(ctx context.Context, cs kubernetes.Interface, namespace string, at time.Time) (Result, error) {
	return transition(ctx, cs, namespace, func(o object) (map[string]any, *Change) {
		key := AnnotationReplicas
		target := "0"
		if o.kind == "CronJob" {
			key, target = AnnotationSuspend, "true"
		}
		if _, asleep := o.annotations[key]; asleep {
			return nil, nil
		}
		return patchOf(o, target, map[string]any{key: o.value, AnnotationSince: at.UTC().Format(time.RFC3339)}),
			&Change{Kind: o.kind, Name: o.name, From: o.value, To: target}
	})
}

// Wake restores what Sleep recorded; objects changed while asleep keep their change and are
// reported in Left.
func Wake(ctx context.Context, cs kubernetes.Interface, namespace string) (Result, error) {
	r, err := transition(ctx, cs, namespace, wake)
	if err != nil {
		return r, err
	}
	// Then give the fields back (to Git, through Argo CD): an awake object has no record and
	// no field owned by the sleeper. A wake cut short before this is finished by the next one.
	_, err = transition(ctx, cs, namespace, release)
	return r, err
}

func wake(o object) (map[string]any, *Change) {
	key, asleep := AnnotationReplicas, "0"
	if o.kind == "CronJob" {
		key, asleep = AnnotationSuspend, "true"
	}
	was, ok := o.annotations[key]
	if !ok {
		return nil, nil
	}
	forget := map[string]any{key: nil, AnnotationSince: nil}
	if o.value != asleep { // a person woke it: keep what they did, forget the record
		return patchOf(o, "", forget), &Change{Kind: o.kind, Name: o.name, From: was, To: o.value,
			Note: fmt.Sprintf("changed while asleep (%s, not %s): left as it is", o.value, asleep)}
	}
	return patchOf(o, was, forget), &Change{Kind: o.kind, Name: o.name, From: o.value, To: was}
}

// release drops the sleeper's entries from an awake object's managed fields: the fields it
// wrote are nobody's, and the next sync owns them again (and a change in Git shows as one).
func release(o object) (map[string]any, *Change) {
	if _, asleep := o.annotations[AnnotationReplicas]; asleep {
		return nil, nil
	}
	if _, asleep := o.annotations[AnnotationSuspend]; asleep {
		return nil, nil
	}
	keep := make([]metav1.ManagedFieldsEntry, 0, len(o.managed))
	for _, m := range o.managed {
		if m.Manager != FieldManager {
			keep = append(keep, m)
		}
	}
	if len(keep) == len(o.managed) {
		return nil, nil
	}
	var fields any = keep
	if len(keep) == 0 {
		fields = []map[string]any{{}} // an empty list would change nothing
	}
	return map[string]any{"metadata": map[string]any{"resourceVersion": o.resourceVersion, "managedFields": fields}}, nil
}

// patchOf is a merge patch that sets the object's value (none when "") and annotations,
// guarded by the resourceVersion it was read at.
func patchOf(o object, value string, annotations map[string]any) map[string]any {
	p := map[string]any{"metadata": map[string]any{"resourceVersion": o.resourceVersion, "annotations": annotations}}
	switch {
	case value == "":
	case o.kind == "CronJob":
		p["spec"] = map[string]any{"suspend": value == "true"}
	default:
		n, _ := strconv.Atoi(value)
		p["spec"] = map[string]any{"replicas": n}
	}
	return p
}

type decide func(object) (map[string]any, *Change)

func transition(ctx context.Context, cs kubernetes.Interface, namespace string, d decide) (Result, error) {
	var r Result
	for _, kind := range []string{"Deployment", "StatefulSet", "CronJob"} {
		names, err := list(ctx, cs, namespace, kind)
		if err != nil {
			return r, err
		}
		for _, name := range names {
			c, err := step(ctx, cs, namespace, kind, name, d)
			if err != nil {
				return r, err
			}
			if c == nil {
				continue
			}
			if c.Note != "" {
				r.Left = append(r.Left, *c)
			} else {
				r.Changed = append(r.Changed, *c)
			}
		}
	}
	return r, nil
}

// step reads one object, decides, and patches it, again when someone changed it meanwhile.
func step(ctx context.Context, cs kubernetes.Interface, namespace, kind, name string, d decide) (*Change, error) {
	for range retries {
		o, err := get(ctx, cs, namespace, kind, name)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		patch, change := d(o)
		if patch == nil {
			return nil, nil
		}
		body, err := json.Marshal(patch)
		if err != nil {
			return nil, err
		}
		opts := metav1.PatchOptions{FieldManager: FieldManager}
		switch kind {
		case "Deployment":
			_, err = cs.AppsV1().Deployments(namespace).Patch(ctx, name, types.MergePatchType, body, opts)
		case "StatefulSet":
			_, err = cs.AppsV1().StatefulSets(namespace).Patch(ctx, name, types.MergePatchType, body, opts)
		case "CronJob":
			_, err = cs.BatchV1().CronJobs(namespace).Patch(ctx, name, types.MergePatchType, body, opts)
		}
		switch {
		case err == nil:
			return change, nil
		case apierrors.IsConflict(err): // changed since read: decide again on what it is now
			continue
		case apierrors.IsNotFound(err):
			return nil, nil
		default:
			return nil, fmt.Errorf("%s %s/%s: %w", kind, namespace, name, err)
		}
	}
	return nil, fmt.Errorf("%s %s/%s kept changing: tried %d times", kind, namespace, name, retries)
}

func list(ctx context.Context, cs kubernetes.Interface, namespace, kind string) ([]string, error) {
	var names []string
	switch kind {
	case "Deployment":
		l, err := cs.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, x := range l.Items {
			names = append(names, x.Name)
		}
	case "StatefulSet":
		l, err := cs.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, x := range l.Items {
			names = append(names, x.Name)
		}
	case "CronJob":
		l, err := cs.BatchV1().CronJobs(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, x := range l.Items {
			names = append(names, x.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func get(ctx context.Context, cs kubernetes.Interface, namespace, kind, name string) (object, error) {
	o := object{kind: kind, name: name}
	replicas := func(r *int32) string {
		if r == nil {
			return "1" // the API server's default
		}
		return strconv.Itoa(int(*r))
	}
	switch kind {
	case "Deployment":
		x, err := cs.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return o, err
		}
		o.resourceVersion, o.annotations, o.value, o.managed = x.ResourceVersion, x.Annotations, replicas(x.Spec.Replicas), x.ManagedFields
	case "StatefulSet":
		x, err := cs.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return o, err
		}
		o.resourceVersion, o.annotations, o.value, o.managed = x.ResourceVersion, x.Annotations, replicas(x.Spec.Replicas), x.ManagedFields
	case "CronJob":
		x, err := cs.BatchV1().CronJobs(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return o, err
		}
		o.resourceVersion, o.annotations, o.managed = x.ResourceVersion, x.Annotations, x.ManagedFields
		o.value = strconv.FormatBool(x.Spec.Suspend != nil && *x.Spec.Suspend)
	}
	return o, nil
}
