package policy_test

import (
	"testing"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/policy"
)

// Every built-in blueprint, with and without its options, passes the whole library in
// enforce mode (restrict-image-registries allowing the registry the images come from).
func TestBuiltinBlueprintsPassTheLibrary(t *testing.T) {
	lib := policy.MustLoad()
	ev, err := policy.NewEvaluator(lib, allOn(lib))
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := blueprint.Load("")
	if err != nil {
		t.Fatal(err)
	}
	for _, bp := range catalog.List() {
		for _, params := range []map[string]any{{}, {"database": true, "public": true, "replicas": float64(3)}} {
			for k := range params {
				if !hasParam(bp, k) {
					delete(params, k)
				}
			}
			values, err := blueprint.Resolve(bp, params)
			if err != nil {
				t.Fatal(err)
			}
			r, err := blueprint.Render(bp, blueprint.Input{Team: "payments", Service: "api", Image: "registry.example.com/payments/api", Tag: "1.0.0",
				GitOpsRepo: "https://git.example.com/gitops.git", IngressNamespace: "ingress-nginx",
				Environments: []blueprint.Environment{{Name: "dev", Namespace: "payments-dev", Host: "api.dev.payments.apps.example.com"}}, Values: values})
			if err != nil {
				t.Fatal(err)
			}
			objs, err := policy.Objects(r.GitOps)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) < 3 {
				t.Fatalf("%s: only %d objects", bp.Metadata.Name, len(objs))
			}
			findings, err := ev.Evaluate(t.Context(), objs, "payments-dev")
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range findings {
				t.Errorf("%s %v: %s %s/%s: %s", bp.Metadata.Name, params, f.Policy, f.Kind, f.Name, f.Message)
			}
		}
	}
}

func hasParam(bp *blueprint.Blueprint, name string) bool {
	for _, p := range bp.Spec.Parameters {
		if p.Name == name {
			return true
		}
	}
	return false
}
