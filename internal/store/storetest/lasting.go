package storetest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berth-platform/berth/internal/store"
)

// Lasting opens a migrated, empty store of the driver that outlives any one test or
// benchmark run: a fixture a benchmark seeds once and measures at every -count, which a
// testing.TB's cleanup would close after the first. The caller closes it in TestMain with
// the returned function, which removes its SQLite folder or drops its PostgreSQL database.
func Lasting(driver string) (*store.Store, func(), error) {
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
		name, u, err := onServerAt(base, "berth_bench_", "CREATE DATABASE %s")
		if err != nil {
			return nil, nil, err
		}
		u.Path = "/" + name
		dsn, remove = u.String(), func() { _ = execOn(base, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") }
	default:
		return nil, nil, fmt.Errorf("no driver %q", driver)
	}
	st, err := openMigrated(driver, dsn)
	if err != nil {
		remove()
		return nil, nil, err
	}
	return st, func() { st.Close(); remove() }, nil
}
