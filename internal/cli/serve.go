package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/cost"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/findings"
	"github.com/berth-platform/berth/internal/idpsync"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/lead"
	"github.com/berth-platform/berth/internal/loop"
	"github.com/berth-platform/berth/internal/opencost"
	"github.com/berth-platform/berth/internal/rightsize"
	"github.com/berth-platform/berth/internal/scim"
	"github.com/berth-platform/berth/internal/seal"
	"github.com/berth-platform/berth/internal/server"
	"github.com/berth-platform/berth/internal/signals"
	"github.com/berth-platform/berth/internal/sleeper"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/berth-platform/berth/internal/version"
	"github.com/berth-platform/berth/internal/workloads"
	"k8s.io/client-go/kubernetes"
)

// findingsEvery is how often the findings record is brought up to date.
const findingsEvery = 15 * time.Second

func serveCmd(ctx context.Context, args []string, stderr io.Writer) error {
	c, err := loadConfig("serve", args, stderr)
	if err != nil {
		return err
	}
	return Serve(ctx, c, newLogger(c, stderr), nil)
}

func openStore(ctx context.Context, c *config.Config) (*store.Store, error) {
	driver, dsn := c.DatabaseDSN()
	st, err := store.Open(ctx, driver, dsn)
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// Serve runs Berth until ctx ends, then drains in-flight requests. ready, if not nil,
// receives the listening address once requests are accepted.
func Serve(ctx context.Context, c *config.Config, log *slog.Logger, ready chan<- string) error {
	st, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()

	checks := map[string]func(context.Context) error{"database": st.Ping}
	prices := tenancy.Prices{CPUCoreHour: c.PriceCPUCoreHour, RAMGiBHour: c.PriceRAMGiBHour, HoursPerMonth: tenancy.DefaultPrices.HoursPerMonth}
	topts := tenancy.Options{AnyoneCreatesTeams: c.TeamCreation == config.TeamCreationAnyone, Environments: c.Environments,
		DefaultTier: c.DefaultTier, NamespacePattern: c.NamespacePattern, CPUShare: c.BudgetCPUShare, LimitRatio: c.BudgetLimitRatio, Prices: prices,
		ReservedNamespaces: c.Boundary.ReservedNamespaces, MaxTeamsPerUser: c.Boundary.MaxTeamsPerUser}
	var kc *kube.Clients
	var fleet *tenancy.Fleet
	if c.Kubeconfig != "" || c.InCluster {
		if kc, err = kube.Connect(c.Kubeconfig); err != nil {
			return err
		}
		checks["kubernetes"] = kc.Ready
		if c.ClusterSecretKey != nil {
			if topts.Sealer, err = seal.New(c.ClusterSecretKey); err != nil {
				return err
			}
		}
		fleet = tenancy.NewFleet(st, kc.Core, kc.Config, topts.Sealer, tenancy.ReconcilerOptions{PodSecurity: c.PodSecurity, IngressNamespace: c.IngressNamespace, Prices: prices}, log.With("loop", "tenancy"))
		topts.Notify, topts.Quotas, topts.Fleet, topts.Namespaces = fleet.Enqueue, fleet, fleet, fleet
	}
	var scimHandler *scim.Handler
	var deactivated func(context.Context, string) (bool, error)
	if c.SCIMToken != nil {
		var mappings []idpsync.Mapping
		for _, m := range c.SCIMGroupRoles {
			mp, err := idpsync.ParseMapping(m)
			if err != nil {
				return err
			}
			mappings = append(mappings, mp)
		}
		sync := idpsync.NewService(st, mappings, c.OIDCUserPrefix, topts.Notify, log.With("loop", "idpsync"))
		if err := sync.Resync(ctx); err != nil {
			return fmt.Errorf("apply identity-provider group mappings: %w", err)
		}
		topts.TeamCreated = sync.Resync
		scimHandler = scim.New(sync, c.SCIMToken.Hash, c.MaxBodyBytes)
		deactivated = sync.Deactivated
	}
	catalog, err := blueprint.Load(c.BlueprintsDir)
	if err != nil {
		return err
	}
	creds, err := gitCredentials(c)
	if err != nil {
		return err
	}
	notes := map[string]func(context.Context) error{}
	if c.BlueprintsGit.Repo != "" {
		bp, err := newBlueprintRepo(c, creds, catalog, log.With("loop", "blueprints"))
		if err != nil {
			return err
		}
		// An unreachable blueprints repository does not stop Berth: the built-in blueprints
		// (and the folder's) serve until it answers.
		if err := bp.sync(ctx); err != nil {
			log.Error("blueprints repository not loaded", "error", err)
		}
		if c.BlueprintsGit.Refresh > 0 {
			go bp.run(ctx, c.BlueprintsGit.Refresh)
		}
		notes["blueprints-repo"] = bp.check
	}
	ten := tenancy.NewService(st, topts)
	policies, err := startPolicies(st, ten, fleet, notes, log)
	if err != nil {
		return err
	}
	var views *workloads.Service
	var registry *workloads.Registry
	var costs *cost.Service
	// Schedules are kept without a cluster too; only a cluster sleeps and wakes.
	sleepers := sleeper.New(st, ten, func(ctx context.Context, cluster string) (kubernetes.Interface, error) {
		if fleet == nil {
			return nil, fmt.Errorf("%w: no cluster (--kubeconfig or --in-cluster)", errs.ErrUnavailable)
		}
		cfg, err := fleet.ClusterConfig(ctx, cluster)
		if err != nil {
			return nil, err
		}
		return kubernetes.NewForConfig(cfg)
	}, log)
	sleepers.Prices = costPrices(c)
	if fleet != nil {
		// Every cluster's workloads are watched for the workloads view, the diagnosis and runs.
		registry = workloads.NewRegistry()
		fleet.Attach(registry.Attach)
		views = workloads.NewService(st, ten, registry)
		// The record of findings: a cause's age past the event TTL, and what resolved.
		go findings.NewRecorder(st, registry, log).Run(ctx, findingsEvery)
		// Berth's cost model: every replica samples; each slot counts once. With Prometheus,
		// containers of Berth's own cluster are billed their usage where it passes the request.
		var usage cost.UsageSource
		if c.PrometheusURL != "" {
			pc, err := signals.NewClient(c.PrometheusURL)
			if err != nil {
				return fmt.Errorf("--prometheus-url: %w", err)
			}
			usage = cost.PrometheusUsage{Client: pc, Rate: max(c.SignalsWindow, c.CostSampleEvery)}
		}
		go (&cost.Sampler{Store: st, Registry: registry, Interval: c.CostSampleEvery, CompactAfter: c.CostCompactAfter, Usage: usage, Log: log}).Run(ctx)
		// Sleep schedules: led, so each transition is made (and audited) once.
		own, err := fleet.ClusterConfig(ctx, "")
		if err != nil {
			return err
		}
		leases, err := kubernetes.NewForConfig(own)
		if err != nil {
			return err
		}
		go lead.Election{Client: leases, Namespace: c.LeaderElectionNamespace, Name: "berth-sleeper", Identity: c.LeaderElectionIdentity,
			Lease: c.LeaderElectionLease, Log: log}.
			Run(ctx, func(ctx context.Context) { sleepers.Run(ctx, c.SleepCheckEvery) })
		// Budget alerts: claimed in the database, so every replica may check.
		go (&cost.Alerts{Store: st, Prices: costPrices(c),
			Webhook: c.CostAlertWebhook, Log: log}).Run(ctx, c.CostAlertEvery)
		if costs, err = costService(c, st, ten); err != nil {
			return err
		}
		// Started after the policies attached to it, so every cluster gets them.
		go func() {
			if err := fleet.Run(ctx); err != nil {
				log.Error("tenancy reconcilers stopped", "error", err)
			}
		}()
	}
	prov, provStopped, err := startProvisioning(ctx, c, creds, st, ten, catalog, kc, fleet, registry, policies.Preflight, notes, log)
	if err != nil {
		return err
	}
	sig, rs, err := signalsReader(c)
	if err != nil {
		return err
	}
	deps := server.Deps{Hosts: hostNamer(c), Signals: sig, Rightsize: rs, Costs: costs, Sleeper: sleepers, LogStreamsPerCaller: c.LogStreamsPerCaller, LogStreams: c.LogStreams,
		Blueprints: catalog, Provision: prov, Policies: policies, Workloads: views,
		Log: log, Store: st, Auth: auth.New(c), Admins: access.NewAdmins(c.PlatformAdmins),
		Tenancy:      ten,
		MaxBodyBytes: c.MaxBodyBytes,
		Limits:       server.Limits{PerCaller: c.RateLimit, Burst: c.RateBurst, Request: c.RequestTimeout, TrustedProxies: c.TrustedProxyPrefixes()},
		ReadyChecks:  checks,
		ReadyNotes:   notes,
		Deactivated:  deactivated,
	}
	if c.MetricsToken != nil {
		deps.MetricsToken = &c.MetricsToken.Hash
	}
	if scimHandler != nil {
		deps.SCIM = scimHandler
	}
	e, err := server.New(deps)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	go purgeIdempotencyKeys(ctx, st, log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	driver, _ := c.DatabaseDSN()
	log.Info("berth serving", "addr", ln.Addr().String(), "version", version.Version, "database", driver)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", c.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Runs finish the step they are in before Berth exits: a push cut off by the exit could
	// leave its receiving process writing to the remote after Berth is gone.
	select {
	case <-provStopped:
	case <-sctx.Done():
		log.Warn("runs still executing at the end of the grace period; they resume at the next start")
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func purgeIdempotencyKeys(ctx context.Context, st *store.Store, log *slog.Logger) {
	loop.Every(ctx, time.Hour, true, log, "purge idempotency keys", func(ctx context.Context, now time.Time) error {
		n, err := st.Q().PurgeIdempotencyKeys(ctx, now.Add(-server.IdempotencyTTL))
		if n > 0 {
			log.Info("purged idempotency keys", "count", n)
		}
		return err
	})
}

// signalsReader reads golden signals from the configured Prometheus; nil without one.
// signalsReader reads the golden signals and the containers' usage for rightsizing from
// --prometheus-url (neither without it).
func signalsReader(c *config.Config) (*signals.Reader, *rightsize.Reader, error) {
	if c.PrometheusURL == "" {
		return nil, nil, nil
	}
	queries, err := signals.LoadQueries(c.SignalsQueries)
	if err != nil {
		return nil, nil, fmt.Errorf("--signals-queries: %w", err)
	}
	client, err := signals.NewClient(c.PrometheusURL)
	if err != nil {
		return nil, nil, fmt.Errorf("--prometheus-url: %w", err)
	}
	return signals.NewReader(client, queries, c.SignalsWindow), rightsize.NewReader(client, c.SignalsWindow, rightsize.DefaultPolicy), nil
}

// costService attributes costs with the configured prices, asking each cluster's OpenCost.
func costService(c *config.Config, st *store.Store, ten *tenancy.Service) (*cost.Service, error) {
	urls, err := c.OpenCost()
	if err != nil {
		return nil, err
	}
	clients := map[string]*opencost.Client{}
	for cluster, u := range urls {
		if clients[cluster], err = opencost.New(u); err != nil {
			return nil, err
		}
	}
	return cost.NewService(st, ten, costPrices(c), clients), nil
}

func costPrices(c *config.Config) cost.Prices {
	return cost.Prices{CPUCoreHour: c.PriceCPUCoreHour, RAMGiBHour: c.PriceRAMGiBHour, PVGiBMonth: c.PricePVGiBMonth, LoadBalancerHour: c.PriceLoadBalancerHour}
}
