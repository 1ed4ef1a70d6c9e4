package config_test

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/config"
)

func parse(t *testing.T, env map[string]string, args ...string) (*config.Config, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var c config.Config
	fs := config.NewFlagSet("berth serve", &c)
	fs.SetOutput(&bytes.Buffer{})
	return &c, config.Parse(fs, args, &c)
}

func TestEnvironmentFallbackAndFlagsWin(t *testing.T) {
	c, err := parse(t, map[string]string{
		"BERTH_ADDR": "127.0.0.1:9999", "BERTH_SERVICE_TOKENS": "ci=ci-token-0123456789,bs=sha256:" + strings.Repeat("0f", 32),
		"BERTH_PLATFORM_ADMINS": "group:default/platform, user:default/root",
	}, "--addr", "127.0.0.1:7777")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7777" {
		t.Fatalf("flag must win over environment: %s", c.Addr)
	}
	if len(c.ServiceTokens) != 2 || c.ServiceTokens[0].Hash != sha256.Sum256([]byte("ci-token-0123456789")) {
		t.Fatalf("tokens: %+v", c.ServiceTokens)
	}
	if strings.Join(c.PlatformAdmins, "|") != "group:default/platform|user:default/root" {
		t.Fatalf("admins: %q", c.PlatformAdmins)
	}
	if driver, dsn := c.DatabaseDSN(); driver != "sqlite" || !strings.HasSuffix(dsn, "berth.db") {
		t.Fatalf("default database: %s %s", driver, dsn)
	}
}

// A list flag on the command line replaces its variable's list rather than adding to it.
func TestCommandLineListsReplaceTheEnvironments(t *testing.T) {
	c, err := parse(t, map[string]string{"BERTH_PLATFORM_ADMINS": "user:default/mallory", "BERTH_SERVICE_TOKENS": "old=old-token-0123456789"},
		"--platform-admins", "user:default/root", "--service-tokens", "ci=ci-token-0123456789", "--in-cluster")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.PlatformAdmins, "|") != "user:default/root" || len(c.ServiceTokens) != 1 || c.ServiceTokens[0].Name != "ci" || !c.InCluster {
		t.Fatalf("admins %q, tokens %+v, in-cluster %v", c.PlatformAdmins, c.ServiceTokens, c.InCluster)
	}
}

func TestValidationReportsEveryProblem(t *testing.T) {
	_, err := parse(t, nil, "--addr", "nonsense", "--log-level", "loud", "--database-url", "mysql://x",
		"--team-creation", "everyone", "--oidc-issuer", "ftp://idp", "--backstage-jwks-url", "https://bs/jwks",
		"--log-streams-per-caller", "0", "--prometheus-url", "prometheus:9090", "--signals-window", "0s")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"--addr", "--log-level", "--database-url", "--team-creation", "--oidc-issuer", "--oidc-audience", "--backstage-issuer",
		"--log-streams-per-caller", "--prometheus-url", "--signals-window"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestServiceTokensAreCheckedAndNeverPrinted(t *testing.T) {
	for _, bad := range []string{"noequals", "=x", "short=abc", "a:b=0123456789abcdef", "x=sha256:zz"} {
		if _, err := config.ParseServiceToken(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	var c config.Config
	fs := config.NewFlagSet("berth serve", &c)
	_ = fs.Set("service-tokens", "ci=ci-token-0123456789")
	if s := fs.Lookup("service-tokens").Value.String(); strings.Contains(s, "ci-token") {
		t.Fatalf("token printed: %s", s)
	}
	_, err := parse(t, nil, "--service-tokens", "ci=ci-token-0123456789,ci=ci-token-abcdefghij")
	if err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Fatalf("duplicate names: %v", err)
	}
	_, err = parse(t, nil)
	if err == nil || !strings.Contains(err.Error(), "no way to authenticate") {
		t.Fatalf("no authentication configured: %v", err)
	}
}

func TestHelpNamesEveryEnvironmentVariable(t *testing.T) {
	var c config.Config
	fs := config.NewFlagSet("berth serve", &c)
	var out bytes.Buffer
	fs.SetOutput(&out)
	config.PrintUsage(fs)
	for _, want := range []string{"BERTH_DATA_DIR", "BERTH_DATABASE_URL", "BERTH_SERVICE_TOKENS", `(default "127.0.0.1:8080")`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %s", want)
		}
	}
}

func TestGitOpsCredentialsMustFitTheRemote(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--gitops-repo", "git@github.com:org/gitops.git"}, "--gitops-ssh-key-file: required"},
		{[]string{"--gitops-repo", "git@github.com:org/gitops.git", "--gitops-ssh-key-file", "/k"}, "--gitops-ssh-known-hosts: required"},
		{[]string{"--gitops-repo", "https://git.example.com/gitops.git", "--gitops-ssh-key-file", "/k"}, "the GitOps repository is HTTPS"},
		{[]string{"--gitops-repo", "ssh://git@h/r.git", "--gitops-ssh-key-file", "/k", "--gitops-ssh-known-hosts", "/kh", "--gitops-token-file", "/t"}, "the GitOps repository is SSH"},
		{[]string{"--gitops-token-file", "/t"}, "only for an https:// or SSH --gitops-repo"},
		{[]string{"--argocd-server", "https://argocd.example.com"}, "--argocd-token-file: required"},
		{[]string{"--argocd-server", "argocd:443", "--argocd-token-file", "/t"}, "is not an http(s) URL"},
		{[]string{"--argocd-token-file", "/t"}, "need --argocd-server"},
		{[]string{"--blueprints-repo", "/srv/bp.git", "--blueprints-path", "../etc"}, "must be a folder inside"},
		{[]string{"--blueprints-repo", "/srv/bp.git", "--blueprints-refresh", "1s"}, "0 or at least 10s"},
		{[]string{"--blueprints-repo", "git@h:bp.git"}, "needs the GitOps repository to be SSH"},
	} {
		var cfg config.Config
		fs := config.NewFlagSet("serve", &cfg)
		err := config.Parse(fs, append([]string{"--service-tokens", "ci=0123456789abcdef0123"}, c.args...), &cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want %q, got %v", c.args, c.want, err)
		}
	}
	var cfg config.Config
	ok := []string{"--service-tokens", "ci=0123456789abcdef0123", "--gitops-repo", "ssh://git@h/r.git", "--gitops-ssh-key-file", "/k", "--gitops-ssh-known-hosts", "/kh",
		"--argocd-server", "http://127.0.0.1:8080", "--argocd-token-file", "/t", "--blueprints-repo", "https://github.com/org/blueprints.git"}
	if err := config.Parse(config.NewFlagSet("serve", &cfg), ok, &cfg); err != nil {
		t.Fatal(err)
	}
}

// A run's waits are bounded below (a run that gives up at once on a restarting API server
// would fail where it should wait), and parsed into Runs.
func TestRunTimeouts(t *testing.T) {
	base := []string{"--service-tokens", "ci=0123456789abcdef0123"}
	for flag, want := range map[string]string{"--rollout-timeout": "--rollout-timeout: at least 10s",
		"--git-timeout": "--git-timeout: at least 10s", "--outage-timeout": "--outage-timeout: at least 10s"} {
		var cfg config.Config
		err := config.Parse(config.NewFlagSet("serve", &cfg), append(base, flag, "5s"), &cfg)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s 5s: want %q, got %v", flag, want, err)
		}
	}
	var cfg config.Config
	if err := config.Parse(config.NewFlagSet("serve", &cfg), append(base, "--outage-timeout", "90s"), &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Runs.OutageTimeout != 90*time.Second || cfg.Runs.GitTimeout != 10*time.Minute {
		t.Fatalf("runs: %+v", cfg.Runs)
	}
}

// Trusted proxies are addresses or CIDRs; anything else is refused by name.
func TestTrustedProxies(t *testing.T) {
	base := []string{"--service-tokens", "ci=0123456789abcdef0123"}
	var cfg config.Config
	if err := config.Parse(config.NewFlagSet("serve", &cfg), append(base, "--trusted-proxies", "10.0.0.0/8,192.168.1.7,fd00::1/64"), &cfg); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range cfg.TrustedProxyPrefixes() {
		got = append(got, p.String())
	}
	if strings.Join(got, ",") != "10.0.0.0/8,192.168.1.7/32,fd00::/64" {
		t.Fatalf("prefixes: %v", got)
	}
	err := config.Parse(config.NewFlagSet("serve", &cfg), append(base, "--trusted-proxies", "10.0.0.0/8,ingress"), &cfg)
	if err == nil || !strings.Contains(err.Error(), `--trusted-proxies: "ingress" is not an address or a CIDR`) {
		t.Fatalf("a name: %v", err)
	}
}
