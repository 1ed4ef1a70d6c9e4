// Package cli is the berth command line: it parses subcommands and configuration and wires
// the capabilities together. Logic lives in the capability packages, not here.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/version"
)

const usage = `berth: the self-service Kubernetes platform behind Backstage.

Usage:
  berth serve [flags]     run the API server
  berth dev [flags]       start a local control plane and serve against it (make dev)
  berth migrate [flags]   bring the database schema up to date and exit
  berth policy test DIR   check manifests against the guardrail library (for CI pipelines)
  berth diagnose T/S      why a service is failing, per environment (from a Berth server)
  berth logs T/S          its pods' logs; -f follows them (and resumes when the connection drops)
  berth cost T[/S]        what a team's services (or one) cost, per environment and day, against budgets
  berth templates [flags] write Backstage software templates for the blueprints
  berth version           print the version

Run "berth <command> --help" for the flags of a command; every flag has a BERTH_* variable.
`

// errUsage is a command line that cannot be run; the usage has been printed.
var errUsage = errors.New("usage")

// Run runs one subcommand and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stderr)
	case "dev":
		err = devCmd(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = migrateCmd(ctx, args[1:], stdout, stderr)
	case "templates":
		err = templatesCmd(ctx, args[1:], stdout, stderr)
	case "policy":
		err = policyCmd(ctx, args[1:], stdout, stderr)
	case "diagnose":
		err = diagnoseCmd(ctx, args[1:], stdout, stderr)
	case "logs":
		err = logsCmd(ctx, args[1:], stdout, stderr)
	case "cost":
		err = costCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "berth", version.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "berth: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errEnforced), errors.Is(err, errFindings):
		return 1
	}
	if err != nil {
		fmt.Fprintln(stderr, "berth:", err)
		return 1
	}
	return 0
}

// loadConfig parses flags and environment for a subcommand.
func loadConfig(name string, args []string, stderr io.Writer) (*config.Config, error) {
	var c config.Config
	fs := config.NewFlagSet("berth "+name, &c)
	fs.SetOutput(stderr)
	if err := config.Parse(fs, args, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

func newLogger(c *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := loadConfig("migrate", args, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "database schema is up to date")
	return nil
}
