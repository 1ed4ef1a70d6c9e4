package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berth-platform/berth/internal/apiclient"
	"github.com/berth-platform/berth/internal/policy"
	"k8s.io/utils/ptr"
)

const policyUsage = `Usage:
  berth policy test [flags] DIR|FILE...

Checks Kubernetes manifests (*.yaml, *.yml, *.json, several documents per file) against
Berth's guardrail library, as preflight does, and exits 1 when an enforced policy fails
(audited failures are printed as warnings). Without --server the library's default modes
apply, changed with --mode; with --server, the modes Berth enforces now (and the team's
overrides with --team) apply.

Flags:
`

// errEnforced makes the command exit 1 without printing an error of its own: the
// findings are the message.
var errEnforced = errors.New("enforced policies failed")

func policyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprint(stderr, policyUsage)
		return errUsage
	}
	fset := flag.NewFlagSet("berth policy test", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, policyUsage); fset.PrintDefaults() }
	modes := map[string]string{}
	params := map[string][]string{}
	fset.Func("mode", "`policy=off|audit|enforce` (repeatable; local check only)", func(v string) error {
		name, mode, ok := strings.Cut(v, "=")
		if !ok {
			return fmt.Errorf("want policy=mode, got %q", v)
		}
		modes[name] = mode
		return nil
	})
	fset.Func("param", "`policy=v1,v2` parameter values (repeatable; local check only)", func(v string) error {
		name, vals, ok := strings.Cut(v, "=")
		if !ok || vals == "" {
			return fmt.Errorf("want policy=v1,v2, got %q", v)
		}
		params[name] = strings.Split(vals, ",")
		return nil
	})
	namespace := fset.String("namespace", "", "namespace for objects that name none")
	output := fset.String("output", "text", "`text` or json")
	server := fset.String("server", os.Getenv("BERTH_SERVER"), "Berth's base URL: check against its current settings (env BERTH_SERVER)")
	team := fset.String("team", "", "with --server: apply this team's overrides")
	tokenFile := fset.String("token-file", os.Getenv("BERTH_TOKEN_FILE"), "with --server: file holding a Berth token (env BERTH_TOKEN_FILE)")
	if err := fset.Parse(args[1:]); err != nil {
		return err
	}
	if fset.NArg() == 0 || (*output != "text" && *output != "json") {
		fset.Usage()
		return errUsage
	}
	if *server != "" && (len(modes) > 0 || len(params) > 0) {
		return fmt.Errorf("--mode and --param change a local check; with --server Berth's settings apply")
	}
	files, err := manifestFiles(fset.Args())
	if err != nil {
		return err
	}
	var check func(ctx context.Context, raw []byte) ([]policy.Finding, int, error)
	if *server != "" {
		check, err = remoteCheck(*server, *tokenFile, *team, *namespace)
	} else {
		check, err = localCheck(modes, params, *namespace)
	}
	if err != nil {
		return err
	}
	var report policyReport
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		findings, n, err := check(ctx, raw)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		report.Objects += n
		for _, x := range findings {
			report.Findings = append(report.Findings, fileFinding{File: f, Finding: x})
		}
	}
	report.Files = len(files)
	for _, f := range report.Findings {
		if f.Mode == policy.ModeEnforce {
			report.Enforced++
		}
	}
	report.Passed = report.Enforced == 0
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		report.print(stdout)
	}
	if !report.Passed {
		return errEnforced
	}
	return nil
}

// manifestFiles expands directories (recursively, skipping hidden ones) into manifest files.
func manifestFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != a && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if p == a || slices.Contains([]string{".yaml", ".yml", ".json"}, filepath.Ext(p)) {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no manifests (*.yaml, *.yml, *.json) in %s", strings.Join(args, " "))
	}
	return out, nil
}

func localCheck(modes map[string]string, params map[string][]string, namespace string) (func(context.Context, []byte) ([]policy.Finding, int, error), error) {
	lib, err := policy.Load()
	if err != nil {
		return nil, err
	}
	settings := map[string]policy.Setting{}
	for _, p := range lib.List() {
		settings[p.Name] = policy.Setting{Mode: p.DefaultMode}
	}
	for name, mode := range modes {
		if lib.Get(name) == nil {
			return nil, fmt.Errorf("--mode: no policy %q in the library", name)
		}
		if !slices.Contains([]string{policy.ModeOff, policy.ModeAudit, policy.ModeEnforce}, mode) {
			return nil, fmt.Errorf("--mode %s: mode must be off, audit or enforce", name)
		}
		settings[name] = policy.Setting{Mode: mode}
	}
	for name, vals := range params {
		p := lib.Get(name)
		if p == nil || p.Parameter == "" {
			return nil, fmt.Errorf("--param: %q is not a library policy with a parameter", name)
		}
		if err := policy.CheckParameter(vals); err != nil {
			return nil, fmt.Errorf("--param %s: %w", name, err)
		}
		s := settings[name]
		s.Param = vals
		settings[name] = s
	}
	ev, err := policy.NewEvaluator(lib, settings)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, raw []byte) ([]policy.Finding, int, error) {
		objs, err := policy.Parse(raw)
		if err != nil {
			return nil, 0, err
		}
		findings, err := ev.Evaluate(ctx, objs, namespace)
		return findings, len(objs), err
	}, nil
}

func remoteCheck(server, tokenFile, team, namespace string) (func(context.Context, []byte) ([]policy.Finding, int, error), error) {
	c, err := apiClient(server, tokenFile)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, raw []byte) ([]policy.Finding, int, error) {
		in := apiclient.PolicyCheckInput{Manifests: string(raw)}
		if team != "" {
			in.Team = &team
		}
		if namespace != "" {
			in.Namespace = &namespace
		}
		res, err := c.CheckPoliciesWithResponse(ctx, in)
		if err != nil {
			return nil, 0, err
		}
		if res.JSON200 == nil {
			return nil, 0, fmt.Errorf("Berth answered %s: %s", res.Status(), strings.TrimSpace(string(res.Body)))
		}
		var out []policy.Finding
		for _, v := range res.JSON200.Violations {
			out = append(out, policy.Finding{Policy: v.Policy, Title: v.Title, Severity: v.Severity, Mode: string(v.Mode),
				Kind: v.Kind, Namespace: ptr.Deref(v.Namespace, ""), Name: v.Name, Message: v.Message, Remediation: v.Remediation})
		}
		return out, res.JSON200.Objects, nil
	}, nil
}

// apiClient talks to a Berth server with the token in tokenFile.
func apiClient(server, tokenFile string) (*apiclient.ClientWithResponses, error) {
	if server == "" {
		return nil, fmt.Errorf("--server (or BERTH_SERVER) is needed")
	}
	if tokenFile == "" {
		return nil, fmt.Errorf("--server needs --token-file")
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, err
	}
	bearer := "Bearer " + strings.TrimSpace(string(tok))
	return apiclient.NewClientWithResponses(strings.TrimSuffix(server, "/"), apiclient.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", bearer)
		return nil
	}))
}

type fileFinding struct {
	File string `json:"file"`
	policy.Finding
}

type policyReport struct {
	Passed   bool          `json:"passed"`
	Files    int           `json:"files"`
	Objects  int           `json:"objects"`
	Enforced int           `json:"enforced"`
	Findings []fileFinding `json:"findings"`
}

func (r policyReport) print(w io.Writer) {
	for _, f := range r.Findings {
		label := "FAIL"
		if f.Mode != policy.ModeEnforce {
			label = "WARN"
		}
		fmt.Fprintf(w, "%s %s: %s %s: %s [%s, %s]\n", label, f.File, f.Kind, f.Name, f.Message, f.Policy, f.Severity)
		fmt.Fprintf(w, "     fix: %s\n", f.Remediation)
	}
	fmt.Fprintf(w, "%d objects in %d files: %d enforced failures, %d warnings\n", r.Objects, r.Files, r.Enforced, len(r.Findings)-r.Enforced)
}
