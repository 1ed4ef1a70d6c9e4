// Package config is Berth's one typed configuration: filled from flags with BERTH_*
// environment fallbacks, validated once before anything starts. It does no I/O beyond
// reading the environment.
package config

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Team creation policies.
const (
	TeamCreationAnyone = "anyone"
	TeamCreationAdmins = "admins"
)

// ServiceToken is a static token for machines. Only its SHA-256 is kept in memory.
type ServiceToken struct {
	Name string
	Hash [sha256.Size]byte
}

// Config is everything `berth serve` needs.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string
	LogLevel        string
	LogFormat       string
	MaxBodyBytes    int64
	ShutdownTimeout time.Duration
	// RateLimit and RateBurst bound each caller's requests a second; RequestTimeout each
	// request's time (streams excepted).
	RateLimit      float64
	RateBurst      int
	RequestTimeout time.Duration
	// TrustedProxies are the proxies in front of Berth whose X-Forwarded-For names the
	// caller's address (CIDRs or addresses); TrustedProxyPrefixes is them parsed.
	TrustedProxies []string

	Kubeconfig string
	InCluster  bool

	ClusterSecretKey []byte

	SCIMToken *ServiceToken
	// MetricsToken, when set, is the bearer token /metrics asks of scrapers.
	MetricsToken   *ServiceToken
	SCIMGroupRoles []string

	BlueprintsDir   string
	GitOpsRepo      string
	ArgoCDNamespace string
	ManualSync      []string
	GitOps          GitOps
	ArgoCD          ArgoCD
	BlueprintsGit   BlueprintsGit

	Environments     []string
	NamespacePattern string
	DefaultTier      string
	PodSecurity      string
	IngressNamespace string
	BudgetCPUShare   float64
	BudgetLimitRatio float64
	PriceCPUCoreHour float64
	PriceRAMGiBHour  float64
	// PricePVGiBMonth and PriceLoadBalancerHour price volumes and load balancers in Berth's
	// cost model.
	PricePVGiBMonth       float64
	PriceLoadBalancerHour float64

	// OpenCostURLs are the OpenCost servers by cluster ("" is Berth's own); CostSampleEvery
	// and CostCompactAfter drive Berth's own cost model.
	OpenCostURLs     []string
	CostSampleEvery  time.Duration
	CostCompactAfter time.Duration
	// CostAlertWebhook receives budget alerts (BERTH_COST_ALERT_WEBHOOK keeps a URL with a
	// token out of the process list); CostAlertEvery is how often budgets are checked.
	CostAlertWebhook string
	CostAlertEvery   time.Duration
	// SleepCheckEvery is how often sleep schedules are brought to what they want.
	SleepCheckEvery time.Duration
	// LeaderElectionNamespace and LeaderElectionLease: the Lease that picks the one replica
	// that runs led loops (the sleep schedules), in Berth's own cluster.
	LeaderElectionNamespace string
	LeaderElectionLease     time.Duration
	// LeaderElectionIdentity names this replica in the Lease (its pod name, say).
	LeaderElectionIdentity string

	// LogStreamsPerCaller and LogStreams bound the log streams open at once.
	LogStreamsPerCaller, LogStreams int

	// PrometheusURL is where the golden signals are read ("" : not configured).
	PrometheusURL  string
	SignalsQueries string
	SignalsWindow  time.Duration

	ServiceTokens  []ServiceToken
	PlatformAdmins []string
	TeamCreation   string

	BackstageJWKSURL  string
	BackstageIssuer   string
	BackstageAudience string

	OIDCIssuer        string
	OIDCAudience      string
	OIDCUsernameClaim string
	OIDCGroupsClaim   string
	OIDCUserPrefix    string
	OIDCGroupPrefix   string

	Boundary  Boundary
	Databases Databases
	Runs      Runs
}

// Runs bound how provisioning runs execute.
type Runs struct {
	// Workers is how many runs execute at once in all; PerTeam how many of one team's.
	Workers, PerTeam int
	// RolloutTimeout is how long a run waits for Argo CD to report a rollout Healthy.
	RolloutTimeout time.Duration
	// GitTimeout is how long a run waits for a Git remote that cannot be reached or refuses
	// its push.
	GitTimeout time.Duration
	// OutageTimeout is how long a run step waits for another server that does not answer (the
	// Kubernetes API server restarting, PostgreSQL failing over).
	OutageTimeout time.Duration
}

// DatabaseDSN returns the driver name and DSN for the configured database.
func (c *Config) DatabaseDSN() (driver, dsn string) {
	if c.DatabaseURL != "" {
		return "pgx", c.DatabaseURL
	}
	return "sqlite", filepath.Join(c.DataDir, "berth.db")
}

// NewFlagSet binds every option to fs. Environment fallbacks are applied by Parse.
func NewFlagSet(name string, c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.StringVar(&c.DataDir, "data-dir", ".berth/data", "folder for the SQLite database and local state")
	fs.StringVar(&c.DatabaseURL, "database-url", "", "PostgreSQL URL (postgres://...); SQLite in --data-dir when empty")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of the cluster Berth manages; empty means no cluster (or in-cluster with --in-cluster)")
	fs.BoolVar(&c.InCluster, "in-cluster", false, "use the service account Berth runs as (when deployed in the cluster)")
	fs.Func("cluster-secret-key", "32-byte key in base64 (openssl rand -base64 32) that encrypts registered clusters' credentials at rest", func(v string) (err error) {
		c.ClusterSecretKey, err = key32(v)
		return err
	})
	fs.Func("metrics-token", "bearer token Prometheus sends to scrape /metrics (or sha256:HEX); without it /metrics is open", func(v string) error {
		t, err := ParseServiceToken("metrics=" + v)
		if err != nil {
			return err
		}
		c.MetricsToken = &t
		return nil
	})
	fs.Func("scim-token", "bearer token of the identity provider's SCIM 2.0 client (or sha256:HEX); enables /scim/v2", func(v string) error {
		t, err := ParseServiceToken("scim=" + v)
		if err != nil {
			return err
		}
		c.SCIMToken = &t
		return nil
	})
	fs.Var((*stringList)(&c.SCIMGroupRoles), "scim-group-roles", "IdP groups that give team roles, as GROUP=TEAM:ROLE or GROUP=id:TEAM-ID:ROLE, comma-separated (e.g. payments-devs=payments:editor)")
	fs.StringVar(&c.GitOpsRepo, "gitops-repo", "", "GitOps repository Berth commits to and Argo CD follows: a local path (created bare if missing) or an https:// URL; default <data-dir>/gitops.git")
	fs.StringVar(&c.ArgoCDNamespace, "argocd-namespace", "argocd", "namespace of Argo CD's Applications and AppProjects")
	c.ManualSync = []string{"prod"}
	fs.Var((*replaceList)(&c.ManualSync), "manual-sync-environments", "environments whose Argo CD Applications a person syncs (others sync automatically with prune and self-heal); default prod")
	fs.StringVar(&c.BlueprintsDir, "blueprints-dir", "", "folder of ServiceBlueprint YAML files added to (or replacing) the built-in ones")
	bindGitOps(fs, c)
	c.Environments = []string{"dev", "staging", "prod"}
	fs.Var((*replaceList)(&c.Environments), "environments", "environments every new team gets, comma-separated (default dev,staging,prod)")
	fs.StringVar(&c.NamespacePattern, "namespace-pattern", "{team}-{env}", "name of a team environment's namespace; {team} and {env} are replaced")
	fs.StringVar(&c.DefaultTier, "default-tier", "small", "quota tier of new environments: small, medium or large")
	fs.StringVar(&c.PodSecurity, "pod-security", "restricted", "Pod Security admission level of team namespaces: privileged, baseline or restricted")
	fs.StringVar(&c.IngressNamespace, "ingress-namespace", "ingress-nginx", "namespace of the ingress controller, allowed into team namespaces")
	fs.Float64Var(&c.BudgetCPUShare, "budget-cpu-share", 0.5, "part of a monthly budget spent on CPU (the rest buys memory)")
	fs.Float64Var(&c.BudgetLimitRatio, "budget-limit-ratio", 2, "quota limits as a multiple of the requests a budget buys")
	fs.Float64Var(&c.PriceCPUCoreHour, "price-cpu-core-hour", 0.031611, "price of a CPU core-hour (OpenCost's default)")
	fs.Float64Var(&c.PriceRAMGiBHour, "price-ram-gib-hour", 0.004237, "price of a GiB-hour of memory (OpenCost's default)")
	fs.Float64Var(&c.PricePVGiBMonth, "price-pv-gib-month", 0.04, "price of a GiB-month of a bound volume (OpenCost's default)")
	fs.Float64Var(&c.PriceLoadBalancerHour, "price-load-balancer-hour", 0.025, "price of an hour of a LoadBalancer Service")
	fs.Var((*stringList)(&c.OpenCostURLs), "opencost-url", "OpenCost's Allocation API per cluster, [CLUSTER=]URL comma-separated (no CLUSTER: Berth's own); other clusters' costs come from Berth's model")
	fs.DurationVar(&c.CostSampleEvery, "cost-sample-every", time.Minute, "how often Berth's cost model samples the running pods")
	fs.DurationVar(&c.CostCompactAfter, "cost-compact-after", 7*24*time.Hour, "how long the cost model keeps hours (days are kept for good)")
	fs.StringVar(&c.CostAlertWebhook, "cost-alert-webhook", "", "URL that receives a JSON alert when an environment's month-end forecast crosses its budget (the audit log records it either way)")
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", "berth-system", "namespace of the Lease that picks the replica running the sleep schedules (made when missing)")
	fs.StringVar(&c.LeaderElectionIdentity, "leader-election-identity", "", "this replica's name in the Lease (default: the host name and a random suffix; in Kubernetes, the pod name)")
	fs.DurationVar(&c.LeaderElectionLease, "leader-election-lease", 15*time.Second, "how long a leader holds the Lease without renewing it: a replica takes over within it")
	fs.DurationVar(&c.SleepCheckEvery, "sleep-check-every", 30*time.Second, "how often environments are slept and woken to their schedules")
	fs.DurationVar(&c.CostAlertEvery, "cost-alert-every", 15*time.Minute, "how often budgets are checked against their forecasts")
	fs.IntVar(&c.LogStreamsPerCaller, "log-streams-per-caller", 5, "log streams and downloads one caller may have open at once")
	fs.IntVar(&c.LogStreams, "log-streams", 200, "log streams and downloads Berth serves at once, in all")
	fs.StringVar(&c.PrometheusURL, "prometheus-url", "", "Prometheus' base URL, for services' golden signals (latency, traffic, errors, saturation)")
	fs.StringVar(&c.SignalsQueries, "signals-queries", "", "YAML file of PromQL templates per blueprint runtime that replace the default signals queries")
	fs.DurationVar(&c.SignalsWindow, "signals-window", 5*time.Minute, "the window of the signals' rates")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "json or text")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", 1<<20, "largest request body accepted")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "how long in-flight requests get on SIGTERM")
	fs.Float64Var(&c.RateLimit, "rate-limit", 100, "requests a second each caller (subject, or address without credentials) may make; past it, 429 with Retry-After (0: no limit)")
	fs.IntVar(&c.RateBurst, "rate-burst", 200, "requests a caller may make at once beyond --rate-limit's pace")
	fs.Var((*replaceList)(&c.TrustedProxies), "trusted-proxies", "the proxies in front of Berth (an ingress controller's, a load balancer's addresses or CIDRs, comma-separated) whose X-Forwarded-For names the caller's address for the rate limits; default none: the header is ignored")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", 2*time.Minute, "how long a request may take before it is stopped with 503 (log and run streams excepted; 0: no limit)")
	fs.Var((*tokenList)(&c.ServiceTokens), "service-tokens", "static service tokens as NAME=TOKEN or NAME=sha256:HEX; repeatable, comma-separated in the environment")
	fs.Var((*stringList)(&c.PlatformAdmins), "platform-admins", "subjects or groups (e.g. user:default/jane, group:default/platform, service:ci) that administer Berth; comma-separated")
	fs.StringVar(&c.TeamCreation, "team-creation", TeamCreationAnyone, "who may create teams: anyone (the creator becomes the team's admin) or admins")
	fs.StringVar(&c.BackstageJWKSURL, "backstage-jwks-url", "", "Backstage's JWKS URL (e.g. https://backstage.example.com/api/auth/.well-known/jwks.json); enables Backstage user tokens")
	fs.StringVar(&c.BackstageIssuer, "backstage-issuer", "", "expected issuer of Backstage user tokens (Backstage's auth base URL)")
	fs.StringVar(&c.BackstageAudience, "backstage-audience", "backstage", "expected audience of Backstage user tokens")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", "", "OIDC issuer URL (discovery at /.well-known/openid-configuration); enables IdP tokens")
	fs.StringVar(&c.OIDCAudience, "oidc-audience", "", "expected audience (client id) of OIDC tokens")
	fs.StringVar(&c.OIDCUsernameClaim, "oidc-username-claim", "sub", "claim that names the user")
	fs.StringVar(&c.OIDCGroupsClaim, "oidc-groups-claim", "groups", "claim that lists the user's groups")
	fs.StringVar(&c.OIDCUserPrefix, "oidc-user-prefix", "oidc:", "prefix added to OIDC user names, so an IdP user can never be a Backstage user or a service token")
	bindBoundary(fs, c)
	bindDatabases(fs, c)
	fs.IntVar(&c.Runs.Workers, "run-workers", 8, "provisioning runs executing at once (a run waiting for its rollout holds none)")
	fs.IntVar(&c.Runs.PerTeam, "runs-per-team", 2, "runs of one team executing at once; teams take turns")
	fs.DurationVar(&c.Runs.RolloutTimeout, "rollout-timeout", 5*time.Minute, "how long a run waits for Argo CD to report a rollout synced and healthy")
	fs.DurationVar(&c.Runs.GitTimeout, "git-timeout", 10*time.Minute, "how long a run waits for a GitOps remote that cannot be reached or refuses its push (a hook, a frozen branch) before it fails")
	fs.DurationVar(&c.Runs.OutageTimeout, "outage-timeout", 10*time.Minute, "how long a run step waits for a server that does not answer (a Kubernetes API server restarting, PostgreSQL failing over) before the run fails")
	return fs
}

// key32 reads a 32-byte key given in base64.
func key32(v string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(k) != 32 {
		return nil, errors.New("must be 32 bytes in base64")
	}
	return k, nil
}

// EnvName is the environment variable that backs a flag: --data-dir is BERTH_DATA_DIR.
func EnvName(flagName string) string {
	return "BERTH_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse applies environment fallbacks, then args (which win), then validates. A flag given on
// the command line ignores its variable altogether: list flags (--platform-admins,
// --service-tokens) would otherwise add the command line's entries to the environment's.
func Parse(fs *flag.FlagSet, args []string, c *Config) error {
	given := givenFlags(fs, args)
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(EnvName(f.Name)); ok && envErr == nil {
			if err := fs.Set(f.Name, v); err != nil {
				envErr = fmt.Errorf("%s: %w", EnvName(f.Name), err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	fs.Usage = func() { PrintUsage(fs) }
	if err := fs.Parse(args); err != nil {
		return err
	}
	return c.Validate()
}

// givenFlags names the flags args set, found by parsing them into stand-ins that keep nothing.
func givenFlags(fs *flag.FlagSet, args []string) map[string]bool {
	probe := flag.NewFlagSet("", flag.ContinueOnError)
	probe.SetOutput(io.Discard)
	probe.Usage = func() {}
	fs.VisitAll(func(f *flag.Flag) {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		probe.Var(discard{isBool: ok && b.IsBoolFlag()}, f.Name, "")
	})
	_ = probe.Parse(args) // errors are the real parse's to report
	given := map[string]bool{}
	probe.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given
}

type discard struct{ isBool bool }

func (discard) String() string     { return "" }
func (discard) Set(string) error   { return nil }
func (d discard) IsBoolFlag() bool { return d.isBool }

// PrintUsage prints every flag with its default and environment variable.
func PrintUsage(fs *flag.FlagSet) {
	out := fs.Output()
	fmt.Fprintf(out, "Usage of %s:\n", fs.Name())
	fs.VisitAll(func(f *flag.Flag) {
		def := ""
		if f.DefValue != "" {
			def = fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(out, "  --%s\n      %s%s [%s]\n", f.Name, f.Usage, def, EnvName(f.Name))
	})
}

// Validate checks the whole configuration and reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr: %w", err))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir: required when --database-url is empty"))
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			errs = append(errs, errors.New("--database-url: must be a postgres:// URL"))
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level: %q is not debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("--log-format: %q is not json or text", c.LogFormat))
	}
	errs = append(errs, c.validateGitOps()...)
	errs = append(errs, c.validateBoundary()...)
	errs = append(errs, c.validateDatabases()...)
	if c.Runs.Workers < 1 || c.Runs.PerTeam < 1 || c.Runs.PerTeam > c.Runs.Workers {
		errs = append(errs, errors.New("--run-workers and --runs-per-team: at least 1, and no more per team than in all"))
	}
	if c.LogStreamsPerCaller < 1 || c.LogStreams < c.LogStreamsPerCaller {
		errs = append(errs, errors.New("--log-streams-per-caller and --log-streams: at least 1, and no more per caller than in all"))
	}
	if c.PrometheusURL != "" {
		if u, err := url.Parse(c.PrometheusURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("--prometheus-url: must be an http:// or https:// URL"))
		}
	}
	if _, err := c.OpenCost(); err != nil {
		errs = append(errs, err)
	}
	if c.CostSampleEvery < time.Second || c.CostSampleEvery > time.Hour || time.Hour%c.CostSampleEvery != 0 {
		errs = append(errs, errors.New("--cost-sample-every: between 1s and 1h, and dividing an hour"))
	}
	if c.CostCompactAfter < 48*time.Hour {
		errs = append(errs, errors.New("--cost-compact-after: at least 48h"))
	}
	if c.CostAlertWebhook != "" {
		if u, err := url.Parse(c.CostAlertWebhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("--cost-alert-webhook: must be an http:// or https:// URL"))
		}
	}
	if c.LeaderElectionLease < 2*time.Second || c.LeaderElectionLease > 5*time.Minute {
		errs = append(errs, errors.New("--leader-election-lease: between 2s and 5m"))
	}
	if c.SleepCheckEvery < time.Second || c.SleepCheckEvery > 10*time.Minute {
		errs = append(errs, errors.New("--sleep-check-every: between 1s and 10m"))
	}
	if c.CostAlertEvery < time.Second {
		errs = append(errs, errors.New("--cost-alert-every: at least 1s"))
	}
	if c.SignalsWindow < time.Second {
		errs = append(errs, errors.New("--signals-window: at least 1s"))
	}
	if c.Runs.RolloutTimeout < 10*time.Second {
		errs = append(errs, errors.New("--rollout-timeout: at least 10s"))
	}
	if c.Runs.GitTimeout < 10*time.Second {
		errs = append(errs, errors.New("--git-timeout: at least 10s"))
	}
	if c.Runs.OutageTimeout < 10*time.Second {
		errs = append(errs, errors.New("--outage-timeout: at least 10s"))
	}
	if c.Kubeconfig != "" && c.InCluster {
		errs = append(errs, errors.New("--kubeconfig and --in-cluster: choose one"))
	}
	for _, m := range c.SCIMGroupRoles {
		if _, err := ParseGroupRole(m); err != nil {
			errs = append(errs, fmt.Errorf("--scim-group-roles: %w", err))
		}
	}
	if len(c.SCIMGroupRoles) > 0 && c.SCIMToken == nil {
		errs = append(errs, errors.New("--scim-group-roles: needs --scim-token"))
	}
	if !strings.Contains(c.NamespacePattern, "{team}") || !strings.Contains(c.NamespacePattern, "{env}") {
		errs = append(errs, fmt.Errorf("--namespace-pattern: %q must contain {team} and {env}", c.NamespacePattern))
	}
	if len(c.Environments) == 0 {
		errs = append(errs, errors.New("--environments: at least one"))
	}
	for _, e := range c.Environments {
		if !dnsLabel.MatchString(e) || len(e) > 20 {
			errs = append(errs, fmt.Errorf("--environments: %q is not a DNS label of at most 20 characters", e))
		}
	}
	switch c.DefaultTier {
	case "small", "medium", "large":
	default:
		errs = append(errs, fmt.Errorf("--default-tier: %q is not small, medium or large", c.DefaultTier))
	}
	switch c.PodSecurity {
	case "privileged", "baseline", "restricted":
	default:
		errs = append(errs, fmt.Errorf("--pod-security: %q is not privileged, baseline or restricted", c.PodSecurity))
	}
	if !(c.BudgetCPUShare > 0 && c.BudgetCPUShare < 1) {
		errs = append(errs, errors.New("--budget-cpu-share: between 0 and 1"))
	}
	if !(c.BudgetLimitRatio >= 1 && c.BudgetLimitRatio <= 10) {
		errs = append(errs, errors.New("--budget-limit-ratio: between 1 and 10"))
	}
	if !(c.PriceCPUCoreHour > 0) || !(c.PriceRAMGiBHour > 0) {
		errs = append(errs, errors.New("--price-cpu-core-hour and --price-ram-gib-hour: positive"))
	}
	if !(c.PricePVGiBMonth >= 0) || !(c.PriceLoadBalancerHour >= 0) {
		errs = append(errs, errors.New("--price-pv-gib-month and --price-load-balancer-hour: zero or more"))
	}
	if !(c.RateLimit >= 0) || c.RateBurst < 1 || c.RequestTimeout < 0 {
		errs = append(errs, errors.New("--rate-limit, --rate-burst and --request-timeout: zero or more (a burst of at least 1)"))
	}
	for _, v := range c.TrustedProxies {
		if _, err := proxyPrefix(v); err != nil {
			errs = append(errs, fmt.Errorf("--trusted-proxies: %q is not an address or a CIDR", v))
		}
	}
	if c.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("--max-body-bytes: must be at least 1024"))
	}
	if c.TeamCreation != TeamCreationAnyone && c.TeamCreation != TeamCreationAdmins {
		errs = append(errs, fmt.Errorf("--team-creation: %q is not anyone or admins", c.TeamCreation))
	}
	if (c.BackstageJWKSURL == "") != (c.BackstageIssuer == "") {
		errs = append(errs, errors.New("--backstage-jwks-url and --backstage-issuer: set both or neither"))
	}
	for name, v := range map[string]string{"--backstage-jwks-url": c.BackstageJWKSURL, "--oidc-issuer": c.OIDCIssuer} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", name, v))
		}
	}
	if c.OIDCIssuer != "" && c.OIDCAudience == "" {
		errs = append(errs, errors.New("--oidc-audience: required with --oidc-issuer"))
	}
	seen := map[string]bool{}
	for _, t := range c.ServiceTokens {
		if seen[t.Name] {
			errs = append(errs, fmt.Errorf("--service-tokens: name %q given twice", t.Name))
		}
		seen[t.Name] = true
	}
	if len(c.ServiceTokens) == 0 && c.BackstageJWKSURL == "" && c.OIDCIssuer == "" {
		errs = append(errs, errors.New("no way to authenticate: set --service-tokens, --backstage-jwks-url or --oidc-issuer"))
	}
	return errors.Join(errs...)
}

var (
	dnsLabel = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	hostName = regexp.MustCompile(`^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,63}$`)
)

type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// TrustedProxyPrefixes are the trusted proxies as networks (an address is a network of one);
// Validate has refused any that is neither.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range c.TrustedProxies {
		if p, err := proxyPrefix(v); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func proxyPrefix(v string) (netip.Prefix, error) {
	if a, err := netip.ParseAddr(v); err == nil {
		return a.Prefix(a.BitLen())
	}
	p, err := netip.ParsePrefix(v)
	return p.Masked(), err
}

// replaceList is a comma-separated list whose every Set replaces the whole list.
type replaceList []string

func (s *replaceList) String() string { return strings.Join(*s, ",") }
func (s *replaceList) Set(v string) error {
	*s = nil
	return (*stringList)(s).Set(v)
}

type tokenList []ServiceToken

func (t *tokenList) String() string {
	names := make([]string, len(*t))
	for i, tok := range *t {
		names[i] = tok.Name + "=<redacted>"
	}
	return strings.Join(names, ",")
}

func (t *tokenList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		tok, err := ParseServiceToken(p)
		if err != nil {
			return err
		}
		*t = append(*t, tok)
	}
	return nil
}

// ParseServiceToken reads NAME=TOKEN or NAME=sha256:HEX. The plain token is hashed at once.
func ParseServiceToken(s string) (ServiceToken, error) {
	name, secret, ok := strings.Cut(s, "=")
	if !ok || name == "" || secret == "" {
		return ServiceToken{}, errors.New("service token must be NAME=TOKEN or NAME=sha256:HEX")
	}
	if strings.ContainsAny(name, ":/ ") {
		return ServiceToken{}, fmt.Errorf("service token name %q: use letters, digits, - and _", name)
	}
	tok := ServiceToken{Name: name}
	if h, ok := strings.CutPrefix(secret, "sha256:"); ok {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != sha256.Size {
			return ServiceToken{}, fmt.Errorf("service token %q: sha256 must be 64 hex digits", name)
		}
		copy(tok.Hash[:], b)
		return tok, nil
	}
	if len(secret) < 16 {
		return ServiceToken{}, fmt.Errorf("service token %q: at least 16 characters", name)
	}
	tok.Hash = sha256.Sum256([]byte(secret))
	return tok, nil
}

// OpenCost reads --opencost-url into a URL per cluster ("" is Berth's own).
func (c *Config) OpenCost() (map[string]string, error) {
	out := map[string]string{}
	for _, e := range c.OpenCostURLs {
		cluster, u := "", e
		if k, v, ok := strings.Cut(e, "="); ok && !strings.Contains(k, "/") {
			cluster, u = k, v
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("--opencost-url: %q is not [CLUSTER=]http(s)://host", e)
		}
		if _, dup := out[cluster]; dup {
			return nil, fmt.Errorf("--opencost-url: cluster %q named twice", cluster)
		}
		out[cluster] = u
	}
	return out, nil
}
