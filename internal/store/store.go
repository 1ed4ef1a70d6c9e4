package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open, migrated database.
type Store struct {
	db     *sqlx.DB
	driver string
}

// Open connects to the database named by driver ("sqlite" or "pgx") and dsn. For SQLite,
// dsn is a file path; its folder is created.
func Open(ctx context.Context, driver, dsn string) (*Store, error) {
	var db *sqlx.DB
	var err error
	switch driver {
	case "sqlite":
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		// WAL lets readers run beside the writer; busy_timeout queues writers instead of failing;
		// immediate transactions take the write lock up front so they never deadlock on upgrade.
		q := "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = sqlx.Open("sqlite", "file:"+sqliteURIPath(dsn)+q)
		if err == nil {
			db.SetMaxOpenConns(8)
		}
	case "pgx":
		db, err = sqlx.Open("pgx", dsn)
		if err == nil {
			db.SetMaxOpenConns(20)
			db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, fmt.Errorf("unknown database driver %q", driver)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", driver, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", driver, err)
	}
	return &Store{db: db, driver: driver}, nil
}

// Migrate brings the schema up to date. It is safe to run on every start.
func (s *Store) Migrate(ctx context.Context) (applied int, err error) {
	dialect := goose.DialectSQLite3
	if s.driver == "pgx" {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, s.db.DB, mustSub(migrations, "migrations"))
	if err != nil {
		return 0, fmt.Errorf("migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return len(res), nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Driver names the database driver in use ("sqlite" or "pgx").
func (s *Store) Driver() string { return s.driver }

// Ping checks the database answers; readiness uses it.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Q returns queries that run outside any transaction.
func (s *Store) Q() Queries { return Queries{ext: s.db} }

// Tx runs fn in one transaction, committed only when fn returns nil.
func (s *Store) Tx(ctx context.Context, fn func(Queries) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", mapErr(err))
	}
	if err := fn(Queries{ext: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// Queries runs Berth's queries on a pool or inside a transaction.
type Queries struct {
	ext sqlx.ExtContext
}

func (q Queries) get(ctx context.Context, dst any, query string, args ...any) error {
	return mapErr(sqlx.GetContext(ctx, q.ext, dst, q.ext.Rebind(query), args...))
}

func (q Queries) selectAll(ctx context.Context, dst any, query string, args ...any) error {
	return mapErr(sqlx.SelectContext(ctx, q.ext, dst, q.ext.Rebind(query), args...))
}

func (q Queries) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.ext.ExecContext(ctx, q.ext.Rebind(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n, mapErr(err)
}

// mapErr turns driver errors into domain sentinels: no rows is ErrNotFound, a unique
// violation is ErrConflict, a database that does not answer is ErrUnavailable.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if unreachable(err) {
		return unavailable{err}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return errs.ErrNotFound
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return fmt.Errorf("%w: %s", errs.ErrConflict, pg.ConstraintName)
	}
	var lite *sqlite.Error
	if errors.As(err, &lite) && (lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY) {
		return fmt.Errorf("%w: %s", errs.ErrConflict, strings.TrimPrefix(lite.Error(), "constraint failed: "))
	}
	return err
}

// unavailable is a database that did not answer. Its message is the same whatever the cause:
// the cause (which names the server's address) stays in the chain for Berth's logs, not in
// what a caller reads.
type unavailable struct{ cause error }

func (u unavailable) Error() string {
	return "unavailable: the database did not answer; try again shortly"
}
func (u unavailable) Unwrap() []error { return []error{errs.ErrUnavailable, u.cause} }

// unreachable says whether err is the database not answering (down, restarting, shutting
// down, the connection lost) rather than refusing the query.
func unreachable(err error) bool {
	var connect *pgconn.ConnectError
	if errors.As(err, &connect) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		// Class 08 is a connection exception; 57P01-03 an administrator's shutdown or a
		// server that cannot take connections yet.
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	var op *net.OpError
	return errors.As(err, &op)
}

func micros(t time.Time) int64      { return t.UnixMicro() }
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// sqliteURIPath escapes what a file: URI would otherwise read as query or fragment, so a data
// folder named "a#b" or "a?b" is a folder, not a truncated path. SQLite decodes %HH itself.
func sqliteURIPath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}
