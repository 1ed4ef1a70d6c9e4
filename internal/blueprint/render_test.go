package blueprint

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", os.Getenv("UPDATE_GOLDEN") == "1", "rewrite golden files")

func input(values Values) Input {
	in := Input{Team: "payments", Service: "fraud-api", Image: "registry.example.com/payments/fraud-api", Tag: "1.0.0",
		Repo: "https://github.com/company/fraud-api", GitOpsRepo: "company/gitops", IngressNamespace: "ingress-nginx",
		Environments: []Environment{{Name: "dev", Namespace: "payments-dev"}, {Name: "prod", Namespace: "payments-prod"}}, Values: values}
	if hosts, err := DefaultHosts.Hosts(in.Team, in.Service, []string{"dev", "prod"}, values.str("host")); err == nil {
		for i := range in.Environments {
			in.Environments[i].Host = hosts[in.Environments[i].Name]
		}
	}
	return in
}

func mustResolve(t testing.TB, bp *Blueprint, in map[string]any) Values {
	t.Helper()
	v, err := Resolve(bp, in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Golden files hold every file each blueprint renders for a few parameter sets; refresh them
// with UPDATE_GOLDEN=1 and read the diff.
func TestRenderGolden(t *testing.T) {
	cat, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, blueprint string
		params          map[string]any
		claim           bool // the database is a Crossplane claim
	}{
		{"nodejs-api-defaults", "nodejs-api", nil, false},
		{"nodejs-api-public-db", "nodejs-api", map[string]any{"nodeVersion": "20", "public": true, "host": "fraud.apps.example.com", "database": true, "replicas": float64(3)}, false},
		{"go-api-defaults", "go-api", nil, false},
		{"worker-db", "worker", map[string]any{"database": true, "nodeVersion": "18"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bp, err := cat.Get(c.blueprint)
			if err != nil {
				t.Fatal(err)
			}
			in := input(mustResolve(t, bp, c.params))
			in.DatabaseClaim = c.claim
			r, err := Render(bp, in)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			for _, f := range append(r.GitOps, r.App...) {
				got.WriteString("# file: " + f.Path + "\n")
				got.Write(f.Content)
				got.WriteString("---\n")
			}
			path := filepath.Join("testdata", c.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("%s differs from its golden file; run with UPDATE_GOLDEN=1 and review the diff", c.name)
			}
			checkOverlaysBuild(t, r)
		})
	}
}

// checkOverlaysBuild runs kustomize on every overlay, as Argo CD's repo server will, and
// checks the Deployment comes out in the environment's namespace with the restricted
// security context.
func checkOverlaysBuild(t *testing.T, r Rendered) {
	t.Helper()
	fs := filesys.MakeFsInMemory()
	var overlays []string
	for _, f := range r.GitOps {
		if err := fs.WriteFile("/"+f.Path, f.Content); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(f.Path, "/overlays/") && strings.HasSuffix(f.Path, "kustomization.yaml") {
			overlays = append(overlays, "/"+filepath.Dir(f.Path))
		}
	}
	if len(overlays) == 0 {
		t.Fatal("no overlays rendered")
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	hosts := map[string]string{} // each environment has a host of its own
	for _, o := range overlays {
		res, err := k.Run(fs, o)
		if err != nil {
			t.Fatalf("kustomize build %s: %v", o, err)
		}
		env := filepath.Base(o)
		found := false
		for _, rs := range res.Resources() {
			if rs.GetNamespace() != "payments-"+env && rs.GetKind() != "PostgreSQLInstance" {
				t.Errorf("%s %s is in namespace %q", rs.GetKind(), rs.GetName(), rs.GetNamespace())
			}
			if rs.GetKind() != "Deployment" {
				continue
			}
			found = true
			b, _ := rs.AsYAML()
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict(b, &d); err != nil {
				t.Fatal(err)
			}
			c := d.Spec.Template.Spec.Containers[0]
			sc := c.SecurityContext
			if !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || sc.Capabilities.Drop[0] != "ALL" ||
				sc.SeccompProfile.Type != "RuntimeDefault" || c.LivenessProbe == nil || c.ReadinessProbe == nil || c.Resources.Limits.Cpu().IsZero() {
				t.Errorf("%s: deployment is not hardened: %+v", env, c)
			}
			if d.Labels["berth.dev/environment"] != env {
				t.Errorf("%s: environment label missing", env)
			}
		}
		if !found {
			t.Fatalf("%s: no Deployment", o)
		}
		for _, rs := range res.Resources() {
			if rs.GetKind() != "Ingress" {
				continue
			}
			b, _ := rs.AsYAML()
			var ing networkingv1.Ingress
			if err := yaml.UnmarshalStrict(b, &ing); err != nil {
				t.Fatal(err)
			}
			if host := ing.Spec.Rules[0].Host; hosts[host] != "" {
				t.Errorf("%s: host %s is also %s's", env, host, hosts[host])
			} else {
				hosts[host] = env
			}
		}
	}
}

// Hosts: one per environment from the pattern, a custom one for production only and only
// under an allowed domain.
func TestHostsPerEnvironment(t *testing.T) {
	h := DefaultHosts
	got, err := h.Hosts("payments", "api", []string{"dev", "staging", "prod"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if got["dev"] != "api.dev.payments.apps.example.com" || got["prod"] != "api.prod.payments.apps.example.com" || len(got) != 3 {
		t.Fatalf("hosts: %v", got)
	}
	got, err = h.Hosts("payments", "api", []string{"dev", "prod"}, "shop.apps.example.com")
	if err != nil || got["prod"] != "shop.apps.example.com" || got["dev"] != "api.dev.payments.apps.example.com" {
		t.Fatalf("custom host: %v %v", got, err)
	}
	for name, tc := range map[string]struct {
		envs   []string
		custom string
	}{
		"outside the domains": {[]string{"prod"}, "shop.example.org"},
		"suffix trick":        {[]string{"prod"}, "evilapps.example.com"},
		"no production":       {[]string{"dev"}, "shop.apps.example.com"},
	} {
		if _, err := h.Hosts("payments", "api", tc.envs, tc.custom); err == nil || !strings.Contains(err.Error(), "/parameters/host") {
			t.Errorf("%s: %v, want an error naming /parameters/host", name, err)
		}
	}
}

func TestResolveNamesEveryBadParameter(t *testing.T) {
	cat, _ := Load("")
	bp, _ := cat.Get("nodejs-api")
	_, err := Resolve(bp, map[string]any{"nodeVersion": "16", "replicas": float64(0), "public": "yes", "host": "not a host", "colour": "red", "maxReplicas": float64(1.5)})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"/parameters/nodeVersion", "/parameters/replicas", "/parameters/public", "/parameters/host", "/parameters/colour", "/parameters/maxReplicas"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no field %s in %v", want, err)
		}
	}
	if _, err := Resolve(bp, map[string]any{"replicas": float64(8), "maxReplicas": float64(4)}); err == nil || !strings.Contains(err.Error(), "/parameters/maxReplicas") {
		t.Errorf("maxReplicas below replicas: %v", err)
	}
	v := mustResolve(t, bp, nil)
	if v["nodeVersion"] != "22" || v["replicas"] != int64(2) || v["public"] != false {
		t.Fatalf("defaults: %v", v)
	}
	s := JSONSchema(bp)
	props := s["properties"].(map[string]any)
	if props["nodeVersion"].(map[string]any)["enum"] == nil || props["replicas"].(map[string]any)["maximum"] != int64(10) || s["additionalProperties"] != false {
		t.Fatalf("schema: %v", s)
	}
}

func TestBrokenBlueprintsAreRefusedAtLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) error {
		if err := os.WriteFile(filepath.Join(dir, "bp.yaml"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		return err
	}
	good, _ := os.ReadFile("builtin/go-api.yaml")
	if err := write(strings.Replace(string(good), "name: go-api", "name: custom-go", 1)); err != nil {
		t.Fatalf("a valid custom blueprint was refused: %v", err)
	}
	for name, mutate := range map[string]func(string) string{
		"unknown field": func(s string) string { return strings.Replace(s, "spec:", "spec:\n  colour: red", 1) },
		"bad default":   func(s string) string { return strings.Replace(s, "default: 2", "default: 20", 1) },
		"dangling reference": func(s string) string {
			return strings.Replace(s, "replicasParameter: replicas", "replicasParameter: nope", 1)
		},
		"bad quantity":        func(s string) string { return strings.Replace(s, "cpuRequest: 50m", "cpuRequest: lots", 1) },
		"wrong kind":          func(s string) string { return strings.Replace(s, "kind: ServiceBlueprint", "kind: Other", 1) },
		"relative probe path": func(s string) string { return strings.Replace(s, "livenessPath: /healthz", "livenessPath: healthz", 1) },
	} {
		if err := write(mutate(string(good))); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
