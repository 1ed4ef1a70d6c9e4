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
	"k8s.io/client-go/kubernetes"
)

// Annotations that record what an object was before it slept.
const (
	AnnotationReplicas    = "berth.dev/sleep-replicas"     // Deployments and StatefulSets
	AnnotationSuspend     = "berth.dev/sleep-suspend"      // CronJobs: "true" or "false"
	AnnotationMinReplicas = "berth.dev/sleep-min-replicas" // HorizontalPodAutoscalers
	AnnotationSince       = "berth.dev/asleep-since"
	FieldManager          = "berth-sleeper"
)

// Change is what one transition did, or did not do, to one object.
type Change struct {
	Kind, Name string
	From, To   string // replicas or suspend, before and after
	// Note says why an object was left as it is (a person changed it while it slept).
	Note string
	// CPUMilli and MemoryBytes are what one replica requests (with the namespace's LimitRange
	// defaults), for what a sleep saves; zero for CronJobs.
	CPUMilli, MemoryBytes int64 `json:",omitempty"`
}

// Result is a transition's changes, by kind and name.
type Result struct {
	Changed []Change
	// Left are objects the transition found changed by someone else and did not touch.
	Left []Change
}

// retries bound the re-reads of an object someone changes while Berth patches it.
const retries = 5

// Sleep scales namespace's Deployments and StatefulSets to zero and suspends its CronJobs,
// recording what each was; each HorizontalPodAutoscaler gets its minimum recorded and is
// otherwise left alone (with its target at zero it stops scaling).
func Sleep(ctx context.Context, cs kubernetes.Interface, namespace string, at time.Time) (Result, error) {
	defaults, err := containerDefaults(ctx, cs, namespace)
	if err != nil {
		return Result{}, err
	}
	since := at.UTC().Format(time.RFC3339)
	return transition(ctx, cs, namespace, func(o object) (map[string]any, *Change) {
		key, target := AnnotationReplicas, "0"
		switch o.kind {
		case "CronJob":
			key, target = AnnotationSuspend, "true"
		case "HorizontalPodAutoscaler":
			if _, asleep := o.annotations[AnnotationMinReplicas]; asleep {
				return nil, nil
			}
			return patchOf(o, "", map[string]any{AnnotationMinReplicas: o.value, AnnotationSince: since}), nil
		}
		if _, asleep := o.annotations[key]; asleep {
			return nil, nil
		}
		c := &Change{Kind: o.kind, Name: o.name, From: o.value, To: target}
		if o.pod != nil {
			c.CPUMilli, c.MemoryBytes = requests(o.pod, defaults)
		}
		return patchOf(o, target, map[string]any{key: o.value, AnnotationSince: since}), c
	})
}

// Wake restores what Sleep recorded; objects changed while asleep keep their change and are
// reported in Left.
func Wake(ctx context.Context, cs kubernetes.Interface, namespace string) (Result, error) {
	defaults, err := containerDefaults(ctx, cs, namespace)
	if err != nil {
		return Result{}, err
	}
	r, err := transition(ctx, cs, namespace, func(o object) (map[string]any, *Change) {
		p, c := wake(o)
		if c != nil && c.Note == "" && o.pod != nil {
			c.CPUMilli, c.MemoryBytes = requests(o.pod, defaults)
		}
		return p, c
	})
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
	switch o.kind {
	case "CronJob":
		key, asleep = AnnotationSuspend, "true"
	case "HorizontalPodAutoscaler":
		was, ok := o.annotations[AnnotationMinReplicas]
		if !ok {
			return nil, nil
		}
		forget := patchOf(o, "", map[string]any{AnnotationMinReplicas: nil, AnnotationSince: nil})
		if o.value != was {
			return forget, &Change{Kind: o.kind, Name: o.name, From: was, To: o.value,
				Note: fmt.Sprintf("minReplicas changed while asleep (%s, was %s): left as it is", o.value, was)}
		}
		return forget, nil
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
	for _, key := range []string{AnnotationReplicas, AnnotationSuspend, AnnotationMinReplicas} {
		if _, asleep := o.annotations[key]; asleep {
			return nil, nil
		}
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

// transition lists each kind once and decides on each object as listed; only an object that
// changed since (a conflict) is read again.
func transition(ctx context.Context, cs kubernetes.Interface, namespace string, d decide) (Result, error) {
	var r Result
	for _, k := range kinds {
		objects, err := k.list(ctx, cs, namespace)
		if err != nil {
			return r, err
		}
		sort.Slice(objects, func(i, j int) bool { return objects[i].name < objects[j].name })
		for _, o := range objects {
			c, err := step(ctx, cs, namespace, k, o, d)
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

// step decides on o and patches it; when someone changed it meanwhile, it reads it again and
// decides on what it is now.
func step(ctx context.Context, cs kubernetes.Interface, namespace string, k kind, o object, d decide) (*Change, error) {
	for range retries {
		patch, change := d(o)
		if patch == nil {
			return nil, nil
		}
		body, err := json.Marshal(patch)
		if err != nil {
			return nil, err
		}
		err = k.patch(ctx, cs, namespace, o.name, body)
		switch {
		case err == nil:
			return change, nil
		case apierrors.IsNotFound(err):
			return nil, nil
		case !apierrors.IsConflict(err):
			return nil, fmt.Errorf("%s %s/%s: %w", k.name, namespace, o.name, err)
		}
		if o, err = k.get(ctx, cs, namespace, o.name); apierrors.IsNotFound(err) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s %s/%s kept changing: tried %d times", k.name, namespace, o.name, retries)
}
