package tenancy_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/seal"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Cluster-per-team on two real control planes: an environment placed on a registered cluster
// has its namespace there and not on Berth's own, and moves back when placed back.
func TestEnvironmentsPlacedOnARegisteredCluster(t *testing.T) {
	own := plane.Get(t)
	edge, err := plane.Up(t.TempDir(), "--minimal")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = edge.Down() })

	st := storetest.Open(t, "sqlite")
	kc, err := kube.Connect(own.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, _ := seal.New(key)
	fleet := tenancy.NewFleet(st, kc.Core, kc.Config, sealer, tenancy.ReconcilerOptions{PodSecurity: "baseline", IngressNamespace: "ingress-nginx",
		Prices: tenancy.DefaultPrices, Resync: time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	opts := tenancy.DefaultOptions()
	opts.NamespacePattern = "fleet-{team}-{env}"
	opts.Notify, opts.Quotas, opts.Fleet, opts.Sealer = fleet.Enqueue, fleet, fleet, sealer
	svc := tenancy.NewService(st, opts)
	// Attachments (the policy applier, the report watch) follow clusters in and out.
	var mu sync.Mutex
	attached := map[string]string{}
	fleet.Attach(func(ctx context.Context, cluster string, cfg *rest.Config) {
		state := "reached " + cfg.Host
		if _, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion(); err != nil {
			state = err.Error()
		}
		mu.Lock()
		attached[cluster] = state
		mu.Unlock()
		<-ctx.Done()
		mu.Lock()
		attached[cluster] = "stopped"
		mu.Unlock()
	})
	attachment := func(cluster, want string) {
		t.Helper()
		plane.Eventually(t, 10*time.Second, "attachment of "+cluster+": "+want, func() (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			return attached[cluster] == want, fmt.Errorf("%q", attached[cluster])
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = fleet.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	root := person("user:default/root")
	root.PlatformAdmin = true
	in := tenancy.NewCluster{Name: "edge", Server: edge.Config.Host, CAData: edge.PKI(t, "ca.crt"),
		Credentials: tenancy.ClusterCredentials{ClientCert: edge.PKI(t, "admin.crt"), ClientKey: edge.PKI(t, "admin.key")}}

	bad := in
	bad.Credentials = tenancy.ClusterCredentials{Token: "not-a-token"}
	if _, err := svc.RegisterCluster(t.Context(), root, bad); !errors.Is(err, errs.ErrInvalid) {
		t.Fatalf("registering with bad credentials: %v", err)
	}
	if _, err := svc.RegisterCluster(t.Context(), person("user:default/jane"), in); !errors.Is(err, errs.ErrForbidden) {
		t.Fatalf("a non-admin registered a cluster: %v", err)
	}
	cl, err := svc.RegisterCluster(t.Context(), root, in)
	if err != nil {
		t.Fatal(err)
	}
	attachment("", "reached "+own.Config.Host)
	attachment("edge", "reached "+edge.Config.Host)
	stored, _ := st.Q().ClusterByName(t.Context(), "edge")
	if stored.Credentials == "" || containsAny(stored.Credentials, "BEGIN", "PRIVATE") || cl.Name != "edge" {
		t.Fatalf("credentials are not sealed at rest: %.40s", stored.Credentials)
	}

	if _, err := svc.CreateTeam(t.Context(), person("user:default/jane"), tenancy.NewTeam{Name: "shipping"}); err != nil {
		t.Fatal(err)
	}
	waitNS := func(cs kubernetes.Interface, ns string, present bool) {
		t.Helper()
		plane.Eventually(t, 30*time.Second, fmt.Sprintf("namespace %s present=%v", ns, present), func() (bool, error) {
			n, err := cs.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{})
			if present {
				return err == nil && n.DeletionTimestamp == nil && n.Labels[access.LabelTeam] == "shipping", err
			}
			return err != nil || n.DeletionTimestamp != nil, nil
		})
	}
	waitNS(own.Client, "fleet-shipping-prod", true)
	if _, err := svc.PlaceEnvironment(t.Context(), root, "shipping", "prod", "edge"); err != nil {
		t.Fatal(err)
	}
	waitNS(edge.Client, "fleet-shipping-prod", true)
	waitNS(own.Client, "fleet-shipping-prod", false)
	// The namespace comes first and its quota and roles a moment later, in the same reconcile.
	plane.Eventually(t, 30*time.Second, "quota on the registered cluster", func() (bool, error) {
		_, err := edge.Client.CoreV1().ResourceQuotas("fleet-shipping-prod").Get(t.Context(), tenancy.QuotaName, metav1.GetOptions{})
		return err == nil, err
	})
	plane.Eventually(t, 30*time.Second, "Berth roles on the registered cluster", func() (bool, error) {
		_, err := edge.Client.RbacV1().ClusterRoles().Get(t.Context(), access.ClusterRoleName(access.Editor), metav1.GetOptions{})
		return err == nil, err
	})
	waitNS(edge.Client, "fleet-shipping-dev", false) // dev stays at home
	if err := svc.DeleteCluster(t.Context(), root, "edge"); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("unregistering a cluster in use: %v", err)
	}

	if _, err := svc.PlaceEnvironment(t.Context(), root, "shipping", "prod", ""); err != nil {
		t.Fatal(err)
	}
	waitNS(own.Client, "fleet-shipping-prod", true)
	waitNS(edge.Client, "fleet-shipping-prod", false)
	if err := svc.DeleteCluster(t.Context(), root, "edge"); err != nil {
		t.Fatal(err)
	}
	attachment("edge", "stopped")
	attachment("", "reached "+own.Config.Host)
}

func containsAny(s string, subs ...string) bool {
	return slices.ContainsFunc(subs, func(x string) bool { return strings.Contains(s, x) })
}
