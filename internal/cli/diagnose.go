package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

// errFindings ends `berth diagnose` with exit code 1: an environment has an error finding.
var errFindings = errors.New("findings")

const diagnoseUsage = `Usage: berth diagnose TEAM/SERVICE [--env ENV] [--output text|json] --server URL --token-file FILE

Says why a service is failing, per environment: each finding's code, the resource, a summary
in plain words, the evidence and what to do. Exit 1 when an environment has an error finding.
`

func diagnoseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("berth diagnose", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, diagnoseUsage); fset.PrintDefaults() }
	server, tokenFile := serverFlags(fset)
	env := fset.String("env", "", "only this environment")
	output := fset.String("output", "text", "text or json")
	target, team, service, ok, err := parseTarget(fset, args)
	if err != nil {
		return err
	}
	if !ok || team == "" || service == "" || (*output != "text" && *output != "json") {
		fset.Usage()
		return errUsage
	}
	c, err := apiClient(*server, *tokenFile)
	if err != nil {
		return err
	}
	res, err := c.DiagnoseServiceWithResponse(ctx, team, service, nil)
	if err != nil {
		return err
	}
	if res.JSON200 == nil {
		return fmt.Errorf("Berth answered %s: %s", res.Status(), strings.TrimSpace(string(res.Body)))
	}
	envs := res.JSON200.Environments
	if *env != "" {
		kept := envs[:0]
		for _, e := range envs {
			if e.Name == *env {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("service %s is not deployed to %q", target, *env)
		}
		envs = kept
	}
	failing := false
	for _, e := range envs {
		for _, f := range e.Findings {
			failing = failing || f.Severity == apiclient.FindingSeverityError
		}
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"environments": envs}); err != nil {
			return err
		}
	} else {
		printDiagnosis(stdout, target, envs)
	}
	if failing {
		return errFindings
	}
	return nil
}

func printDiagnosis(w io.Writer, target string, envs []apiclient.EnvironmentDiagnosis) {
	for _, e := range envs {
		switch {
		case !e.Synced:
			fmt.Fprintf(w, "%s in %s (%s): not known yet: Berth's view of that cluster is still loading\n", target, e.Name, e.Namespace)
			continue
		case len(e.Findings) == 0:
			fmt.Fprintf(w, "%s in %s (%s): nothing wrong found\n", target, e.Name, e.Namespace)
			printResolved(w, e.Resolved)
			continue
		}
		fmt.Fprintf(w, "%s in %s (%s): %d findings\n", target, e.Name, e.Namespace, len(e.Findings))
		for _, f := range e.Findings {
			where := f.Resource.Kind + "/" + f.Resource.Name
			if f.Resource.Container != nil {
				where += " container " + *f.Resource.Container
			}
			fmt.Fprintf(w, "\n  %s %s (%s)\n  %s\n", strings.ToUpper(string(f.Severity)), f.Code, where, f.Summary)
			for _, ev := range f.Evidence {
				line := fmt.Sprintf("    evidence: %s %s = %s", ev.Source, ev.Field, ev.Value)
				if ev.Reason != nil && *ev.Reason != "" {
					line += ": " + *ev.Reason
				}
				if ev.Count != nil && *ev.Count > 1 {
					line += fmt.Sprintf(" (x%d)", *ev.Count)
				}
				fmt.Fprintln(w, line)
				if ev.Lines != nil {
					for _, l := range *ev.Lines {
						fmt.Fprintf(w, "      | %s\n", l)
					}
				}
			}
			fmt.Fprintf(w, "  fix: %s\n", f.Recommendation)
		}
		printResolved(w, e.Resolved)
		fmt.Fprintln(w)
	}
}

// printResolved lists what recovered, so that a cause gone by itself is not mistaken for one
// never seen.
func printResolved(w io.Writer, rs *[]apiclient.ResolvedFinding) {
	if rs == nil || len(*rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n  resolved in the last 24 hours:\n")
	for _, r := range *rs {
		where := r.Resource.Kind + "/" + r.Resource.Name
		if r.Resource.Container != nil {
			where += " container " + *r.Resource.Container
		}
		fmt.Fprintf(w, "    %s (%s) %s to %s: %s\n", r.Code, where, r.FirstSeen.Local().Format(time.DateTime), r.ResolvedAt.Local().Format(time.DateTime), r.Summary)
	}
}

// serverFlags are the flags of a command that talks to a Berth server.
func serverFlags(fset *flag.FlagSet) (server, tokenFile *string) {
	return fset.String("server", os.Getenv("BERTH_SERVER"), "Berth's base URL (env BERTH_SERVER)"),
		fset.String("token-file", os.Getenv("BERTH_TOKEN_FILE"), "file holding a Berth token (env BERTH_TOKEN_FILE)")
}

// parseTarget parses the flags and TEAM/SERVICE, which may come before them (berth diagnose
// payments/api --env dev) or after.
func parseTarget(fset *flag.FlagSet, args []string) (target, team, service string, ok bool, err error) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fset.Parse(args); err != nil {
		return "", "", "", false, err
	}
	if target == "" && fset.NArg() == 1 {
		target = fset.Arg(0)
	}
	team, service, ok = strings.Cut(target, "/")
	return target, team, service, ok, nil
}
