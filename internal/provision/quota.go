package provision

import (
	"fmt"
	"maps"
	"slices"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// quotaRoom checks, before anything is stored or committed, that what a change adds to each
// of the service's environments fits the free room of its quota as the cluster reports it:
// Kubernetes would otherwise refuse the pods, and the run would wait for a rollout that never
// comes. was is the footprint deployed now (nil for a new service); a rollout of a change
// needs Surge more pods for a moment. An autoscaler that could grow beyond the room is a
// warning, not a refusal: the quota caps it. Environments whose quota is not reported yet
// (just created, or no cluster) are not checked.
func (s *Service) quotaRoom(svc store.Service, envs []store.Environment, now blueprint.Footprint, was *blueprint.Footprint) ([]string, error) {
	var warnings []string
	inv := &errs.InvalidError{}
	pointer := "/environments"
	if now.ReplicasParameter != "" {
		pointer = "/parameters/" + now.ReplicasParameter
	}
	for _, env := range envs {
		if !slices.Contains(svc.Environments, env.Name) {
			continue
		}
		view, err := s.deps.Tenancy.Quota(env)
		if err != nil || !view.Reported {
			continue
		}
		wants := scaled(now, now.Replicas)
		grows := scaled(now, now.MaxReplicas)
		if was != nil {
			// The service's pods are in the quota's used already; the rollout adds a surge pod.
			wants = minus(scaled(now, now.Replicas+blueprint.Surge), scaled(*was, was.Replicas))
			grows = minus(grows, scaled(*was, was.Replicas))
		}
		for _, name := range slices.Sorted(maps.Keys(wants)) {
			free, ok := room(view, name)
			if !ok {
				continue
			}
			want := wants[name]
			if want.Cmp(free) > 0 {
				inv.Fields = append(inv.Fields, errs.Field{Pointer: pointer, Detail: fmt.Sprintf(
					"environment %s: quota %s in %s has %s %s, %s used; this change needs %s more. %s",
					env.Name, tenancy.QuotaName, env.Namespace, name, view.Hard[string(name)], usedOf(view, name), want.String(), remedy(env, name, view))})
				break
			}
			if g := grows[name]; g.Cmp(free) > 0 {
				warnings = append(warnings, fmt.Sprintf("environment %s: the autoscaler may grow to %d pods, but %s leaves room for less (%s free); the quota caps it",
					env.Name, now.MaxReplicas, name, free.String()))
			}
		}
	}
	if len(inv.Fields) > 0 {
		return warnings, inv
	}
	return warnings, nil
}

// remedy says what makes room: a larger tier (the smallest that would hold it) or budget, or
// fewer replicas or services.
func remedy(env store.Environment, name corev1.ResourceName, view tenancy.QuotaView) string {
	if env.Budget > 0 {
		return "Lower the replicas, remove a service, or ask a platform admin for a larger monthly budget (PATCH the environment's budget)."
	}
	cur, ok := tenancy.Tiers[env.Tier]
	if ok {
		for _, t := range []string{"small", "medium", "large"} {
			bigger, have := tenancy.Tiers[t].Quota.Hard()[name], cur.Quota.Hard()[name]
			if bigger.Cmp(have) > 0 {
				return fmt.Sprintf("Lower the replicas, remove a service, or ask a platform admin for the %s tier (%s %s; PATCH the environment's tier).",
					t, name, bigger.String())
			}
		}
	}
	return "Lower the replicas or remove a service: the environment is on the largest tier; a platform admin can give it a budget instead."
}

// room is a quota's hard limit less what is used, for one resource the quota limits.
func room(view tenancy.QuotaView, name corev1.ResourceName) (resource.Quantity, bool) {
	h, err := resource.ParseQuantity(view.Hard[string(name)])
	if err != nil {
		return resource.Quantity{}, false
	}
	if u, err := resource.ParseQuantity(view.Used[string(name)]); err == nil {
		h.Sub(u)
	}
	return h, true
}

func usedOf(view tenancy.QuotaView, name corev1.ResourceName) string {
	if u := view.Used[string(name)]; u != "" {
		return u
	}
	return "0"
}

// scaled is n pods of a footprint.
func scaled(f blueprint.Footprint, n int64) map[corev1.ResourceName]resource.Quantity {
	out := map[corev1.ResourceName]resource.Quantity{}
	for name, q := range f.Pod {
		v := q.DeepCopy()
		v.Mul(n)
		out[name] = v
	}
	return out
}

// minus is a less b, per resource (negative when a change frees room).
func minus(a, b map[corev1.ResourceName]resource.Quantity) map[corev1.ResourceName]resource.Quantity {
	out := map[corev1.ResourceName]resource.Quantity{}
	for name, q := range a {
		v := q.DeepCopy()
		if o, ok := b[name]; ok {
			v.Sub(o)
		}
		out[name] = v
	}
	return out
}
