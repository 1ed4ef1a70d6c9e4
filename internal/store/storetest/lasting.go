package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/berth-platform/berth/internal/store"
)

// Lasting opens a migrated, empty store of the driver that outlives any one test or
// benchmark run: a fixture a benchmark seeds once and measures at every -count, which a
// testing.TB's cleanup would close after the first. The caller closes it in TestMain with
// the returned function, which removes its SQLite folder or drops its PostgreSQL database.
func Lasting(driver string) (*store.Store, func(), error) {
	ctx := context.Background()
	var dsn string
	var remove func()
	switch driver {
	case "sqlite":
		dir, err := os.MkdirTemp("", "berth-store-")
		if err != nil {
			return nil, nil, err
		}
		dsn, remove = filepath.Join(dir, "berth.db"), func() { _ = os.RemoveAll(dir) }
	case "pgx":
		base := os.Getenv(EnvPostgres)
		if base == "" {
			return nil, nil, errors.New(EnvPostgres + " not set: run with `make bench` (it starts PostgreSQL), or point it at a server")
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		name := "berth_bench_" + hex.EncodeToString(b[:])
		if err := onServerDo(base, "CREATE DATABASE "+name); err != nil {
			return nil, nil, err
		}
		u, err := url.Parse(base)
		if err != nil {
			return nil, nil, err
		}
		u.Path = "/" + name
		dsn, remove = u.String(), func() { _ = onServerDo(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }
	default:
		return nil, nil, fmt.Errorf("no driver %q", driver)
	}
	st, err := store.Open(ctx, driver, dsn)
	if err != nil {
		remove()
		return nil, nil, fmt.Errorf("open %s: %w", driver, err)
	}
	done := func() { st.Close(); remove() }
	if _, err := st.Migrate(ctx); err != nil {
		done()
		return nil, nil, fmt.Errorf("migrate %s: %w", driver, err)
	}
	return st, done, nil
}

// onServerDo runs one statement as the test server's superuser.
func onServerDo(base, stmt string) error {
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
