package provision_test

import (
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/tenancy"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// opensDatabase reads a service's connection Secret in a namespace and connects with its URL:
// it must open exactly the database Berth made for that environment, as its role.
func opensDatabase(t *testing.T, cs kubernetes.Interface, ns, secret string, want databases.Target) {
	t.Helper()
	sec, err := cs.CoreV1().Secrets(ns).Get(t.Context(), secret, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("secret %s in %s: %v", secret, ns, err)
	}
	db, err := sql.Open("pgx", string(sec.Data["url"]))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var user, name string
	if err := db.QueryRowContext(t.Context(), "SELECT current_user, current_database()").Scan(&user, &name); err != nil {
		t.Fatalf("the secret in %s does not open its database: %v", ns, err)
	}
	if name != databases.Name(want) || user != name {
		t.Fatalf("the secret in %s opens %s as %s, want %s", ns, name, user, databases.Name(want))
	}
}

// databaseGone asks the server, connected as a probe service's role (pg_database is readable
// by every role).
func databaseGone(t *testing.T, f *fixture, target databases.Target) bool {
	t.Helper()
	probe, err := f.deps.Databases.Ensure(t.Context(), databases.Target{TeamID: "probe-" + target.TeamID, Team: "probe", Service: "probe", Env: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", probe.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM pg_database WHERE datname = $1", databases.Name(target)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 0
}

// A service that asks for a database gets one per environment on the platform PostgreSQL
// server, and one Secret per environment that opens it; deleting an environment retains its
// database by default and drops it when the platform says so.
func TestServiceDatabasesPerEnvironment(t *testing.T) {
	f := newFixture(t, "db-{team}-{env}")
	ctx := t.Context()
	ivy := person("user:default/ivy")
	team, err := f.ten.CreateTeam(ctx, ivy, tenancy.NewTeam{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	f.created(t, ivy, "orders", provision.NewService{Name: "api", Blueprint: "worker", Image: "registry.example.com/orders/api", Tag: "1.0.0",
		Parameters: map[string]any{"database": true, "replicas": 1}, Environments: []string{"dev", "staging"}})
	target := func(env string) databases.Target {
		return databases.Target{TeamID: team.ID, Team: "orders", Service: "api", Env: env}
	}
	for _, env := range []string{"dev", "staging"} {
		opensDatabase(t, f.p.Client, f.ns("orders", env), "api-db", target(env))
	}
	// A retried release writes nothing new: the Secret still opens the same database.
	run, err := f.prov.Update(ctx, ivy, "orders", "api", provision.Release{Parameters: map[string]any{"replicas": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if run = waitRun(t, f, ivy, run.ID); run.Status != provision.StatusSucceeded {
		t.Fatalf("update: %s", run.Error)
	}
	opensDatabase(t, f.p.Client, f.ns("orders", "dev"), "api-db", target("dev"))

	if err := f.ten.DeleteEnvironment(ctx, ivy, "orders", "staging"); err != nil {
		t.Fatal(err)
	}
	if databaseGone(t, f, target("staging")) {
		t.Fatal("the staging database was dropped, though the policy is to retain")
	}
	f.stop()
	f.deps.DropDatabases = true
	f.startExecutor(t)
	if err := f.ten.DeleteEnvironment(ctx, ivy, "orders", "dev"); err != nil {
		t.Fatal(err)
	}
	if !databaseGone(t, f, target("dev")) {
		t.Fatal("the dev database outlived its environment, though the policy is to drop")
	}

	// Without a provider, a service asking for a database is refused at the request.
	f.stop()
	f.deps.Databases = nil
	f.startExecutor(t)
	_, err = f.prov.Create(ctx, ivy, "orders", provision.NewService{Name: "jobs", Blueprint: "worker", Image: "registry.example.com/orders/jobs", Tag: "1.0.0",
		Parameters: map[string]any{"database": true}})
	var inv *errs.InvalidError
	if !errors.As(err, &inv) || inv.Fields[0].Pointer != "/parameters/database" {
		t.Fatalf("a database without a provider: %v", fmt.Sprint(err))
	}
}
