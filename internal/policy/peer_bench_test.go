package policy_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/test/bench"
	"sigs.k8s.io/yaml"
)

// BenchmarkPreflightBesideKyvernoApply checks the same objects against the same policies
// twice: with Berth's in-process preflight (the engine compiled once, as serve keeps it), and
// with `kyverno apply` (Kyverno's CLI, the version of the engine Berth embeds; built by `make
// bench`), as a CI job or a person would check manifests before a commit. Both rows go to
// test/bench/policy-preflight-peer.txt.
func BenchmarkPreflightBesideKyvernoApply(b *testing.B) {
	root, err := kube.RepoRoot()
	if err != nil {
		b.Fatal(err)
	}
	out, err := exec.Command("bash", "-c", ". "+filepath.Join(root, "hack", "kube", "versions.sh")+" && echo $ADDONS_BIN").Output()
	if err != nil {
		b.Fatal(err)
	}
	cli := filepath.Join(strings.TrimSpace(string(out)), "kubectl-kyverno")
	if _, err := os.Stat(cli); err != nil {
		b.Skipf("Kyverno's CLI is not built (make bench builds it: hack/bench-tools.sh): %v", err)
	}
	lib := policy.MustLoad()
	files := benchService(b)
	objs, err := policy.Objects(files)
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	policies, resources := filepath.Join(dir, "policies"), filepath.Join(dir, "resources")
	for _, d := range []string{policies, resources} {
		if err := os.Mkdir(d, 0o755); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range lib.List() {
		vp := p.Kyverno(p.Name, policy.ModeEnforce, nil, nil)
		vp.Spec.MatchConstraints.NamespaceSelector = nil
		vp.APIVersion, vp.Kind = "policies.kyverno.io/v1beta1", "ValidatingPolicy"
		raw, err := yaml.Marshal(vp)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(policies, p.Name+".yaml"), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	// Berth checks each object as if created in payments-dev; the CLI loads them all into one
	// fake cluster, where the overlays' objects of the same name (one per environment) must
	// differ by namespace.
	seen := map[string]int{}
	for i, obj := range objs {
		obj = obj.DeepCopy()
		if obj.GetNamespace() == "" {
			obj.SetNamespace("payments-dev")
		}
		key := obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
		if seen[key]++; seen[key] > 1 {
			obj.SetNamespace(fmt.Sprintf("%s-%d", obj.GetNamespace(), seen[key]))
		}
		raw, err := yaml.Marshal(obj.Object)
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(resources, fmt.Sprintf("%02d.yaml", i)), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ev, err := policy.NewEvaluator(lib, allOn(lib))
	if err != nil {
		b.Fatal(err)
	}
	// Berth: many preflights in a second, each objects through every policy.
	const berthFor = 3 * time.Second
	n, t0 := 0, time.Now()
	for time.Since(t0) < berthFor {
		if findings, err := ev.Evaluate(b.Context(), objs, "payments-dev"); err != nil || len(findings) != 0 {
			b.Fatalf("%v %v", findings, err)
		}
		n++
	}
	berthPer := time.Since(t0) / time.Duration(n)
	// The peer: one process per check, as it runs.
	const runs = 10
	passes := regexp.MustCompile(`pass: (\d+), fail: 0,`)
	var peerTotal time.Duration
	var peerPasses string
	for range runs {
		t := time.Now()
		out, err := exec.CommandContext(b.Context(), cli, "apply", policies, "--resource", resources).CombinedOutput()
		peerTotal += time.Since(t)
		m := passes.FindStringSubmatch(string(out))
		if err != nil || m == nil || m[1] == "0" {
			b.Fatalf("kyverno apply: %v\n%s", err, out)
		}
		peerPasses = m[1]
	}
	peerPer := peerTotal / runs
	b.ReportMetric(float64(berthPer.Microseconds())/1000, "berth-ms/check")
	b.ReportMetric(float64(peerPer.Microseconds())/1000, "kyverno-apply-ms/check")
	perSec := func(d time.Duration) string { return fmt.Sprintf("%.0f", float64(len(objs))/d.Seconds()) }
	var w strings.Builder
	fmt.Fprintf(&w, "# Policy preflight beside kyverno apply, %s: go-api (public, 3 replicas) in 3 environments, %d objects, %d policies in enforce\n",
		time.Now().UTC().Format(time.RFC3339), len(objs), len(lib.List()))
	fmt.Fprintf(&w, "# berth: the in-process engine, %d checks in %s; kyverno apply: %s, %d runs (one process each), %s passes per run\n\n", n, berthFor, filepath.Base(cli), runs, peerPasses)
	fmt.Fprintf(&w, "%-16s %12s %12s\n", "checker", "per check", "objects/s")
	fmt.Fprintf(&w, "%-16s %12s %12s\n", "berth", berthPer.Round(time.Microsecond), perSec(berthPer))
	fmt.Fprintf(&w, "%-16s %12s %12s\n", "kyverno apply", peerPer.Round(time.Millisecond), perSec(peerPer))
	if err := bench.Write("policy-preflight-peer.txt", w.String()); err != nil {
		b.Error(err)
	}
	if err := bench.WriteFigures("policy-preflight", "Policy preflight of one service", "policy-preflight-peer.txt", []bench.Figure{
		{What: fmt.Sprintf("one check of %d objects against %d policies", len(objs), len(lib.List())), Berth: berthPer.Round(time.Microsecond).String(),
			PeerName: "kyverno apply", Peer: peerPer.Round(time.Millisecond).String()},
		{What: "objects/s", Berth: perSec(berthPer), PeerName: "kyverno apply", Peer: perSec(peerPer)}}); err != nil {
		b.Error(err)
	}
}
