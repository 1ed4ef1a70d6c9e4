package policy_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/berth-platform/berth/internal/policy"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func readObject(t *testing.T, path string) *unstructured.Unstructured {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := yaml.Unmarshal(raw, &u.Object); err != nil {
		t.Fatal(err)
	}
	return &u
}

// allOn enforces every policy (parameters at their defaults).
func allOn(lib *policy.Library) map[string]policy.Setting {
	s := map[string]policy.Setting{}
	for _, p := range lib.List() {
		s[p.Name] = policy.Setting{Mode: policy.ModeEnforce}
	}
	return s
}

// Every policy's passing example passes the whole library, and its failing example fails that
// policy, and only it, with the policy's own message.
func TestLibraryExamples(t *testing.T) {
	lib, err := policy.Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(lib.List()); n < 15 {
		t.Fatalf("only %d policies", n)
	}
	ev, err := policy.NewEvaluator(lib, allOn(lib))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lib.List() {
		t.Run(p.Name, func(t *testing.T) {
			dir := filepath.Join("testdata", p.Name)
			pass, err := ev.Evaluate(t.Context(), []*unstructured.Unstructured{readObject(t, filepath.Join(dir, "pass.yaml"))}, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(pass) != 0 {
				t.Fatalf("the passing example fails: %+v", pass)
			}
			fail, err := ev.Evaluate(t.Context(), []*unstructured.Unstructured{readObject(t, filepath.Join(dir, "fail.yaml"))}, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(fail) != 1 || fail[0].Policy != p.Name || fail[0].Message != p.Message || fail[0].Remediation != p.Remediation || fail[0].Mode != policy.ModeEnforce {
				t.Fatalf("the failing example gives %+v, want one failure of %s saying %q", fail, p.Name, p.Message)
			}
		})
	}
}
