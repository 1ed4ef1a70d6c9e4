package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/cli"
)

// manifests writes a pipeline's manifests: one compliant Deployment and one on :latest.
func manifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{
		"good/deploy.yaml": "../policy/testdata/disallow-latest-tag/pass.yaml",
		"bad/deploy.yml":   "../policy/testdata/disallow-latest-tag/fail.yaml",
	} {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		_ = os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Hidden folders and other files are not manifests.
	_ = os.MkdirAll(filepath.Join(dir, ".git"), 0o755)
	_ = os.WriteFile(filepath.Join(dir, ".git", "x.yaml"), []byte("kind: [broken"), 0o644)
	_ = os.WriteFile(filepath.Join(dir, "README.md"), []byte("# not yaml"), 0o644)
	return dir
}

func runBerth(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPolicyTestCommand(t *testing.T) {
	dir := manifests(t)
	code, out, errOut := runBerth(t, "policy", "test", dir)
	if code != 1 || !strings.Contains(out, "FAIL "+filepath.Join(dir, "bad/deploy.yml")) || !strings.Contains(out, "[disallow-latest-tag, high]") ||
		!strings.Contains(out, "fix: ") || !strings.Contains(out, "2 objects in 2 files: 1 enforced failures") || errOut != "" {
		t.Fatalf("enforced failure: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = runBerth(t, "policy", "test", "--mode", "disallow-latest-tag=audit", "--output", "json", dir)
	var rep struct {
		Passed   bool
		Objects  int
		Findings []struct{ File, Policy, Mode, Name, Remediation string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.Passed || rep.Objects != 2 || len(rep.Findings) != 1 ||
		rep.Findings[0].Policy != "disallow-latest-tag" || rep.Findings[0].Mode != "audit" || rep.Findings[0].Remediation == "" {
		t.Fatalf("audited failure: exit %d %v\n%s", code, err, out)
	}
	code, out, _ = runBerth(t, "policy", "test", "--mode", "disallow-latest-tag=off", filepath.Join(dir, "bad"))
	if code != 0 || !strings.Contains(out, "1 objects in 1 files: 0 enforced failures, 0 warnings") {
		t.Fatalf("policy off: exit %d\n%s", code, out)
	}
	for _, bad := range [][]string{
		{"policy", "test", "--mode", "no-such-policy=enforce", dir},
		{"policy", "test", "--mode", "disallow-latest-tag=loud", dir},
		{"policy", "test", "--param", "require-limits=x", dir},
		{"policy", "test", t.TempDir()},
	} {
		if code, _, errOut := runBerth(t, bad...); code != 1 || !strings.Contains(errOut, "berth:") {
			t.Errorf("%v: exit %d, %q", bad, code, errOut)
		}
	}
	if code, _, _ := runBerth(t, "policy", "lint", dir); code != 2 {
		t.Errorf("unknown policy subcommand: exit %d", code)
	}
}

// With --server the check runs in Berth with the settings it enforces now.
func TestPolicyTestAgainstServer(t *testing.T) {
	addr, _, cancel, done := startServe(t)
	t.Cleanup(func() { cancel(); <-done })
	tok := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tok, []byte("ci-token-0123456789\n"), 0o600)
	dir := manifests(t)
	code, out, errOut := runBerth(t, "policy", "test", "--server", "http://"+addr, "--token-file", tok, dir)
	if code != 1 || !strings.Contains(out, "FAIL "+filepath.Join(dir, "bad/deploy.yml")) || !strings.Contains(out, "1 enforced failures") {
		t.Fatalf("remote check: exit %d\n%s%s", code, out, errOut)
	}
	_ = os.WriteFile(tok, []byte("wrong-token-0123456789"), 0o600)
	if code, _, errOut := runBerth(t, "policy", "test", "--server", "http://"+addr, "--token-file", tok, dir); code != 1 || !strings.Contains(errOut, "401") {
		t.Fatalf("wrong token: exit %d %s", code, errOut)
	}
	if code, _, errOut := runBerth(t, "policy", "test", "--server", "http://"+addr, "--token-file", tok, "--mode", "disallow-latest-tag=off", dir); code != 1 || !strings.Contains(errOut, "--mode") {
		t.Fatalf("--mode with --server: exit %d %s", code, errOut)
	}
}
