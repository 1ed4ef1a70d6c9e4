package blueprint

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// FuzzRender feeds arbitrary service names, images, tags and parameter values through
// Resolve, CheckInput and Render. Either the input is refused, or every manifest decodes
// strictly into its own Kubernetes type (no field can be injected) with valid names and
// label values, and every file the overlays build from is where it should be.
func FuzzRender(f *testing.F) {
	f.Add("fraud-api", "registry.example.com/p/fraud", "1.0.0", "api.example.com", int64(2), true, true)
	f.Add("x", "a", "v", "a.b.co", int64(1), false, false)
	f.Add("evil\nkind: Secret", "img:latest", "latest", "x\n  - hostPath: /", int64(99), true, false)
	f.Add("a-b", "r.io:5000/a/b", "sha-123", "\"quoted\".example.com", int64(-1), true, true)
	cat, err := Load("")
	if err != nil {
		f.Fatal(err)
	}
	bp, _ := cat.Get("nodejs-api")
	f.Fuzz(func(t *testing.T, service, image, tag, host string, replicas int64, public, database bool) {
		params := map[string]any{"replicas": float64(replicas), "public": public, "database": database, "host": host, "maxReplicas": float64(50)}
		values, err := Resolve(bp, params)
		if err != nil {
			return
		}
		in := input(values)
		in.Service, in.Image, in.Tag = service, image, tag
		r, err := Render(bp, in)
		if err != nil {
			return
		}
		kinds := map[string]func() any{
			"Deployment": func() any { return &appsv1.Deployment{} }, "Service": func() any { return &corev1.Service{} },
			"ServiceAccount": func() any { return &corev1.ServiceAccount{} }, "Ingress": func() any { return &networkingv1.Ingress{} },
			"HorizontalPodAutoscaler": func() any { return &autoscalingv2.HorizontalPodAutoscaler{} },
			"PodDisruptionBudget":     func() any { return &policyv1.PodDisruptionBudget{} }, "NetworkPolicy": func() any { return &networkingv1.NetworkPolicy{} },
		}
		for _, file := range r.GitOps {
			if !strings.HasPrefix(file.Path, ServiceDir(in.Team, service)) || strings.Contains(file.Path, "..") {
				t.Fatalf("file outside the service's folder: %q", file.Path)
			}
			var head struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name   string            `json:"name"`
					Labels map[string]string `json:"labels"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(file.Content, &head); err != nil {
				t.Fatalf("%s: %v", file.Path, err)
			}
			mk, ok := kinds[head.Kind]
			if !ok {
				continue // kustomizations and the database claim
			}
			if err := yaml.UnmarshalStrict(file.Content, mk()); err != nil {
				t.Fatalf("%s is not a valid %s: %v", file.Path, head.Kind, err)
			}
			if errs := validation.IsDNS1123Label(head.Metadata.Name); len(errs) > 0 {
				t.Fatalf("%s: name %q: %v", file.Path, head.Metadata.Name, errs)
			}
			for k, v := range head.Metadata.Labels {
				if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
					t.Fatalf("%s: label %s=%s: %v", file.Path, k, v, errs)
				}
			}
		}
	})
}
