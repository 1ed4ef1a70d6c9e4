// Package storetest opens real, migrated databases for tests: a SQLite file in the test's
// temporary folder, and a fresh database on the PostgreSQL server named by
// BERTH_TEST_DATABASE_URL (which `make test` starts via hack/with-postgres.sh).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/store"
)

// EnvPostgres names the PostgreSQL server tests use.
const EnvPostgres = "BERTH_TEST_DATABASE_URL"

// Drivers are the database drivers every store test runs against.
var Drivers = []string{"sqlite", "pgx"}

// Open returns a migrated, empty store of the driver, closed at the end of the test.
// Without BERTH_TEST_DATABASE_URL, PostgreSQL tests are skipped in -short mode and fail
// otherwise: a silently skipped database is a database nobody tested.
func Open(t testing.TB, driver string) *store.Store {
	t.Helper()
	var dsn string
	switch driver {
	case "sqlite":
		dsn = filepath.Join(t.TempDir(), "berth.db")
	case "pgx":
		dsn = freshPostgres(t)
	}
	st, err := openMigrated(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openMigrated opens the store at dsn and migrates it; it is closed again if that fails.
func openMigrated(driver, dsn string) (*store.Store, error) {
	ctx := context.Background()
	st, err := store.Open(ctx, driver, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", driver, err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate %s: %w", driver, err)
	}
	return st, nil
}

// ServerURL is the test PostgreSQL server's URL (a superuser's). Without
// BERTH_TEST_DATABASE_URL the test is skipped in -short mode and fails otherwise.
func ServerURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if testing.Short() {
			t.Skip(EnvPostgres + " not set")
		}
		t.Fatal(EnvPostgres + " not set: run the tests with `make test` (it starts PostgreSQL), or point it at a server")
	}
	return base
}

// onServer runs stmt as the test server's superuser with a fresh name in it (%s) and returns
// the name and the server's URL, parsed.
func onServer(t testing.TB, prefix, stmt string) (string, *url.URL) {
	t.Helper()
	name, u, err := onServerAt(ServerURL(t), prefix, stmt)
	if err != nil {
		t.Fatal(err)
	}
	return name, u
}

// onServerAt is onServer on the server at base, for callers without a testing.TB.
func onServerAt(base, prefix, stmt string) (string, *url.URL, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	if err := execOn(base, strings.ReplaceAll(stmt, "%s", name)); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(base)
	return name, u, err
}

// execOn runs one statement on the server at base.
func execOn(base, stmt string) error {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.Exec(stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// FreshDatabase is the URL of a new, empty database on the test server (dropped after the
// test), for Berth processes that share one.
func FreshDatabase(t testing.TB) string { return freshPostgres(t) }

func freshPostgres(t testing.TB) string {
	t.Helper()
	name, u := onServer(t, "berth_test_", "CREATE DATABASE %s")
	base := ServerURL(t)
	t.Cleanup(func() { _ = execOn(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u.Path = "/" + name
	return u.String()
}

// DatabaseAdminURL is the URL of a fresh role on the test server with what a platform gives
// Berth to make service databases: LOGIN, CREATEROLE and CREATEDB, not a superuser. Its
// password is its name.
func DatabaseAdminURL(t testing.TB) string {
	t.Helper()
	name, u := onServer(t, "dbadmin_", "CREATE ROLE %s LOGIN CREATEROLE CREATEDB PASSWORD '%s'")
	u.User = url.UserPassword(name, name)
	return u.String()
}

// SeedService stores team t1 "shop", its environment e1 "dev" in namespace and its service s1
// "api" deployed there, as of at.
func SeedService(t testing.TB, st *store.Store, namespace string, at time.Time) {
	t.Helper()
	ctx, q := t.Context(), st.Q()
	if err := q.CreateTeam(ctx, store.Team{ID: "t1", Name: "shop", DisplayName: "shop", CreatedBy: "user:default/jane", CreatedAt: at, UpdatedAt: at, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if err := q.CreateEnvironment(ctx, store.Environment{ID: "e1", TeamID: "t1", Name: "dev", Namespace: namespace, Tier: "small", Phase: "Ready", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := q.CreateService(ctx, store.Service{ID: "s1", TeamID: "t1", Name: "api", Blueprint: "worker", Image: "x", Tag: "1",
		Parameters: map[string]any{}, Environments: []string{"dev"}, CreatedBy: "user:default/jane", CreatedAt: at, UpdatedAt: at}); err != nil {
		t.Fatal(err)
	}
}
