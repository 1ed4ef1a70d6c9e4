package policy_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/test/bench"
)

// A go-api service with a database and an ingress in three environments: what preflight
// checks for a typical request.
func benchService(b *testing.B) []blueprint.File {
	catalog, err := blueprint.Load("")
	if err != nil {
		b.Fatal(err)
	}
	bp, err := catalog.Get("go-api")
	if err != nil {
		b.Fatal(err)
	}
	values, err := blueprint.Resolve(bp, map[string]any{"public": true, "replicas": float64(3)})
	if err != nil {
		b.Fatal(err)
	}
	r, err := blueprint.Render(bp, blueprint.Input{Team: "payments", Service: "api", Image: "registry.example.com/payments/api", Tag: "1.0.0",
		GitOpsRepo: "https://git.example.com/gitops.git", IngressNamespace: "ingress-nginx", Values: values,
		Environments: []blueprint.Environment{{Name: "dev", Namespace: "payments-dev", Host: "api.dev.payments.apps.example.com"},
			{Name: "staging", Namespace: "payments-staging", Host: "api.staging.payments.apps.example.com"}, {Name: "prod", Namespace: "payments-prod", Host: "api.prod.payments.apps.example.com"}}})
	if err != nil {
		b.Fatal(err)
	}
	return r.GitOps
}

var (
	summaryMu sync.Mutex
	summary   = map[string]string{}
)

// record keeps a benchmark's line and rewrites test/bench/policy-preflight.txt.
func record(b *testing.B, key, line string) {
	summaryMu.Lock()
	defer summaryMu.Unlock()
	summary[key] = line
	var out strings.Builder
	fmt.Fprintf(&out, "# Policy preflight, %s: go-api (public, 3 replicas) in 3 environments, whole library in enforce\n", time.Now().UTC().Format(time.RFC3339))
	for _, k := range []string{"evaluate", "run"} {
		if l, ok := summary[k]; ok {
			out.WriteString(l + "\n")
		}
	}
	if err := bench.Write("policy-preflight.txt", out.String()); err != nil {
		b.Error(err)
	}
}

// BenchmarkPreflightThroughput is objects per second through every policy of the library
// with Kyverno's in-process engine.
func BenchmarkPreflightThroughput(b *testing.B) {
	lib := policy.MustLoad()
	ev, err := policy.NewEvaluator(lib, allOn(lib))
	if err != nil {
		b.Fatal(err)
	}
	objs, err := policy.Objects(benchService(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		findings, err := ev.Evaluate(b.Context(), objs, "payments-dev")
		if err != nil || len(findings) != 0 {
			b.Fatalf("%v %v", findings, err)
		}
	}
	perSec := float64(b.N*len(objs)) / b.Elapsed().Seconds()
	b.ReportMetric(perSec, "objects/s")
	record(b, "evaluate", fmt.Sprintf("throughput: %.0f objects/s through %d policies (%d objects per service)", perSec, len(lib.List()), len(objs)))
}

// BenchmarkPreflightPerRun is what preflight adds to a provisioning run: reading the
// settings from the database, parsing the rendered files and evaluating them. A run pays
// it twice (when the request is accepted and again before the commit).
func BenchmarkPreflightPerRun(b *testing.B) {
	st := storetest.Open(b, "sqlite")
	svc := policy.NewService(policy.MustLoad(), st, teams{st}, nil)
	files := benchService(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := svc.Preflight(b.Context(), "payments", files); err != nil {
			b.Fatal(err)
		}
	}
	per := b.Elapsed() / time.Duration(b.N)
	record(b, "run", fmt.Sprintf("per preflight: %s; per run (two preflights): %s", per.Round(time.Microsecond), (2*per).Round(time.Microsecond)))
}
