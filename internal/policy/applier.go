package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"
)

// GVR of Kyverno's ValidatingPolicy in the cluster.
var GVR = schema.GroupVersionResource{Group: "policies.kyverno.io", Version: "v1", Resource: "validatingpolicies"}

const managedBy = "app.kubernetes.io/managed-by=berth"

// Desired are the Kyverno objects that carry the settings. A team-scoped policy is one
// cluster-wide object for every team namespace without an override, plus one object per
// team override (selected by the namespace's berth.dev/team label); cluster-scoped policies
// are one object with the library's own namespace selector. Off means no object.
func Desired(lib *Library, st Settings) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	clusterWide := st.Effective(lib, "")
	for _, p := range lib.List() {
		cluster := clusterWide[p.Name]
		var overridden []string
		for team, sets := range st.Teams {
			if _, ok := sets[p.Name]; ok && p.Scope == ScopeTeam {
				overridden = append(overridden, team)
			}
		}
		slices.Sort(overridden)
		if cluster.Mode != ModeOff {
			var sel *NamespaceSelector
			if p.Scope == ScopeTeam {
				sel = &NamespaceSelector{NotTeams: overridden}
			}
			out = append(out, object(p, "berth-"+p.Name, cluster.Setting, sel, ""))
		}
		for _, team := range overridden {
			set := st.Teams[team][p.Name]
			if set.Mode == ModeOff {
				continue
			}
			if set.Param == nil {
				set.Param = cluster.Param
			}
			out = append(out, object(p, "berth-"+p.Name+"-"+team, set, &NamespaceSelector{Teams: []string{team}}, team))
		}
	}
	return out
}

func object(p *Policy, name string, set Setting, sel *NamespaceSelector, team string) *unstructured.Unstructured {
	vp := p.Kyverno(name, set.Mode, set.Param, sel)
	vp.APIVersion, vp.Kind = GVR.GroupVersion().String(), "ValidatingPolicy"
	raw, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(vp)
	u := &unstructured.Unstructured{Object: raw}
	delete(u.Object, "status")
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	labels := map[string]string{"app.kubernetes.io/managed-by": "berth", "berth.dev/policy": p.Name}
	if team != "" {
		labels["berth.dev/team"] = team
	}
	u.SetLabels(labels)
	return u
}

// Applier keeps a cluster's Berth policies equal to the settings: it applies them with
// server-side apply (forcing, so a hand-made change is repaired) and deletes those no
// longer wanted.
type Applier struct {
	dyn     dynamic.Interface
	log     *slog.Logger
	trigger chan struct{}
	// Resync bounds how long drift lasts.
	Resync time.Duration

	// ReadyGrace is how long Kyverno may take to mark a policy ready before readiness says so.
	ReadyGrace time.Duration

	mu       sync.Mutex
	lastErr  error
	notReady []string
}

// NotReady names the cluster's Berth policies Kyverno has not marked ready within ReadyGrace
// (Kyverno not running, or refusing them).
func (a *Applier) NotReady() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.notReady
}

// Err is why the last apply failed (nil when it succeeded).
func (a *Applier) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastErr
}

// NewApplier returns the applier of one cluster.
func NewApplier(dyn dynamic.Interface, log *slog.Logger) *Applier {
	return &Applier{dyn: dyn, log: log, trigger: make(chan struct{}, 1), Resync: time.Minute, ReadyGrace: 2 * time.Minute}
}

// Trigger asks for an apply soon (after a toggle changed).
func (a *Applier) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Run applies at start, on every trigger and every Resync until ctx ends. A failed apply
// (Kyverno's webhook still starting, the cluster away) is retried sooner, backing off from
// a second up to Resync.
func (a *Applier) Run(ctx context.Context, svc *Service) {
	retry := time.Second
	for {
		wait := a.Resync
		err := a.Apply(ctx, svc)
		a.mu.Lock()
		a.lastErr = err
		a.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			a.log.Warn("policies not applied", "error", err, "retry", retry)
			wait, retry = retry, min(2*retry, a.Resync)
		} else {
			retry = time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.trigger:
			t.Stop()
		case <-t.C:
		}
	}
}

// Apply makes the cluster's Berth policies match the settings once.
func (a *Applier) Apply(ctx context.Context, svc *Service) error {
	st, err := svc.Load(ctx)
	if err != nil {
		return err
	}
	res := a.dyn.Resource(GVR)
	want := map[string]bool{}
	for _, obj := range Desired(svc.lib, st) {
		want[obj.GetName()] = true
		body, err := json.Marshal(obj.Object)
		if err != nil {
			return err
		}
		live, err := res.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "berth", Force: ptr.To(true)})
		if err != nil {
			return fmt.Errorf("apply %s: %w", obj.GetName(), err)
		}
		// Server-side apply merges set-like lists (validationActions) with another manager's
		// items, so a hand-made addition survives it: replace the spec when it is not ours.
		if !subset(obj.Object["spec"], live.Object["spec"]) {
			live.Object["spec"] = obj.Object["spec"]
			if _, err := res.Update(ctx, live, metav1.UpdateOptions{FieldManager: "berth"}); err != nil {
				return fmt.Errorf("repair %s: %w", obj.GetName(), err)
			}
			a.log.Info("policy drift repaired", "policy", obj.GetName())
		}
	}
	have, err := res.List(ctx, metav1.ListOptions{LabelSelector: managedBy})
	if err != nil {
		return err
	}
	var notReady []string
	for _, obj := range have.Items {
		if want[obj.GetName()] {
			ready, _, _ := unstructured.NestedBool(obj.Object, "status", "conditionStatus", "ready")
			if !ready && time.Since(obj.GetCreationTimestamp().Time) > a.ReadyGrace {
				notReady = append(notReady, obj.GetName())
			}
			continue
		}
		if err := res.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", obj.GetName(), err)
		}
	}
	a.mu.Lock()
	a.notReady = notReady
	a.mu.Unlock()
	return nil
}

// subset reports whether everything in want is in have: maps may have more keys (server
// defaults), lists must have the same length and matching items.
func subset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !subset(v, h[k]) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], h[i]) {
				return false
			}
		}
		return true
	default:
		return fmt.Sprint(want) == fmt.Sprint(have)
	}
}
