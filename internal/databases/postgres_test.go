package databases_test

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/jackc/pgx/v5/pgconn"
)

func provider(t *testing.T) (*databases.Postgres, string) {
	t.Helper()
	adminURL := storetest.DatabaseAdminURL(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	p, err := databases.NewPostgres(databases.PostgresOptions{AdminURL: adminURL, SSLMode: "disable", PasswordKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p, adminURL
}

// open connects as a service would, with its connection URL, and says who it is.
func open(t *testing.T, rawURL string) (user, database string, err error) {
	t.Helper()
	db, err := sql.Open("pgx", rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRow("SELECT current_user, current_database()").Scan(&user, &database)
	return user, database, err
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Against the real test server, administered by a role that is not a superuser: each service
// environment gets a database only its own role opens (with the password in its Secret),
// Ensure is idempotent and concurrent-safe, what Berth did not make is never touched, and
// Drop removes both.
func TestPostgresDatabasePerServiceEnvironment(t *testing.T) {
	p, adminURL := provider(t)
	ctx := t.Context()
	// Roles are the server's, not a database's: ids of this test only.
	id := func() string { return rand.Text() }
	a := databases.Target{TeamID: id(), Team: "payments", Service: "ledger", Env: "dev"}
	b := databases.Target{TeamID: id(), Team: "search", Service: "indexer", Env: "dev"}

	// Two runs of the same environment at once (a retry beside a resume) make one of each.
	var wg sync.WaitGroup
	conns := make([]databases.Connection, 2)
	errc := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); conns[i], errc[i] = p.Ensure(ctx, a) }()
	}
	wg.Wait()
	if errc[0] != nil || errc[1] != nil {
		t.Fatalf("concurrent ensures: %v, %v", errc[0], errc[1])
	}
	ca := conns[0]
	if conns[1] != ca || ca.Database != databases.Name(a) || ca.Username != ca.Database || len(ca.Password) < 32 {
		t.Fatalf("connections differ or are malformed: %+v %+v", conns[0], conns[1])
	}
	user, db, err := open(t, ca.URL())
	if err != nil || user != ca.Username || db != ca.Database {
		t.Fatalf("the service's URL opens %s as %s: %v", db, user, err)
	}
	again, err := p.Ensure(ctx, a)
	if err != nil || again.Password != ca.Password {
		t.Fatalf("a second ensure changed the password or failed: %v", err)
	}
	if _, _, err := open(t, ca.URL()); err != nil {
		t.Fatalf("after a second ensure: %v", err)
	}
	cb, err := p.Ensure(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	// Another service's role may not connect to this database; a wrong password opens nothing.
	u, _ := url.Parse(ca.URL())
	u.User = url.UserPassword(cb.Username, cb.Password)
	if _, _, err := open(t, u.String()); pgCode(err) != "42501" {
		t.Fatalf("another service's role connected to %s: %v", ca.Database, err)
	}
	u.User = url.UserPassword(ca.Username, "wrong")
	if _, _, err := open(t, u.String()); pgCode(err) != "28P01" {
		t.Fatalf("a wrong password: %v", err)
	}
	// The role can do nothing beyond its database.
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var super, createDB, createRole bool
	if err := admin.QueryRow("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = $1", ca.Username).Scan(&super, &createDB, &createRole); err != nil || super || createDB || createRole {
		t.Fatalf("role attributes: super %v, createdb %v, createrole %v, %v", super, createDB, createRole, err)
	}

	// A role of a target's name that Berth did not make is a conflict, and stays as it was.
	c := databases.Target{TeamID: id(), Team: "ops", Service: "tools", Env: "prod"}
	if _, err := admin.Exec("CREATE ROLE " + databases.Name(c) + " LOGIN PASSWORD 'theirs'"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Ensure(ctx, c); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("ensuring over a foreign role: %v", err)
	}
	if err := p.Drop(ctx, c); !errors.Is(err, errs.ErrConflict) {
		t.Fatalf("dropping a foreign role: %v", err)
	}
	var n int
	if err := admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", databases.Name(c)).Scan(&n); err != nil || n != 0 {
		t.Fatalf("a database was made for the foreign role: %d %v", n, err)
	}

	// Drop closes the service's connections and removes database and role; twice is fine.
	held, err := sql.Open("pgx", ca.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := held.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := p.Drop(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := p.Drop(ctx, a); err != nil {
		t.Fatalf("second drop: %v", err)
	}
	if err := admin.QueryRow("SELECT (SELECT count(*) FROM pg_database WHERE datname = $1) + (SELECT count(*) FROM pg_roles WHERE rolname = $1)", ca.Database).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after drop: %d left, %v", n, err)
	}
	if _, _, err := open(t, cb.URL()); err != nil {
		t.Fatalf("dropping one service's database touched another's: %v", err)
	}
}

func TestNamesAreDistinctAndFitPostgreSQL(t *testing.T) {
	// Names that join to the same string ("a-b" + "c" and "a" + "b-c") differ in the hash.
	x := databases.Name(databases.Target{TeamID: "1", Team: "a-b", Service: "c", Env: "dev"})
	y := databases.Name(databases.Target{TeamID: "2", Team: "a", Service: "b-c", Env: "dev"})
	long := databases.Name(databases.Target{TeamID: "3", Team: strings.Repeat("t", 40), Service: strings.Repeat("s", 40), Env: "staging"})
	if x == y || len(long) > 63 || strings.Trim(long, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" {
		t.Fatalf("names: %s %s %s", x, y, long)
	}
}
