package databases

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver
	"github.com/jmoiron/sqlx"
)

// Postgres makes databases on a platform PostgreSQL server that Berth administers with a role
// that has CREATEROLE and CREATEDB (not a superuser). Each service environment gets a role
// that can log in and do nothing else (no superuser, database or role creation, replication
// or RLS bypass; at most 50 connections) and a database it owns, which no other role but the
// admin may connect to.
type Postgres struct {
	db          *sqlx.DB
	host, port  string
	sslmode     string
	passwordKey []byte
}

// PostgresOptions configure Postgres.
type PostgresOptions struct {
	// AdminURL is the postgres:// URL Berth administers the server with.
	AdminURL string
	// Host is host:port as services reach the server ("" for the admin URL's).
	Host        string
	SSLMode     string
	PasswordKey []byte
}

// NewPostgres connects lazily: an unreachable server fails the runs that need it, not Berth's
// start.
func NewPostgres(o PostgresOptions) (*Postgres, error) {
	u, err := url.Parse(o.AdminURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("service databases: the admin URL must be a postgres:// URL")
	}
	if len(o.PasswordKey) < 16 {
		return nil, errors.New("service databases: a password key of at least 16 bytes is needed")
	}
	hostport := o.Host
	if hostport == "" {
		hostport = u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "5432"
	}
	db, err := sqlx.Open("pgx", o.AdminURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	return &Postgres{db: db, host: host, port: port, sslmode: o.SSLMode, passwordKey: o.PasswordKey}, nil
}

// Close ends the admin connections.
func (p *Postgres) Close() error { return p.db.Close() }

// Ping checks the admin connection (readiness).
func (p *Postgres) Ping(ctx context.Context) error { return p.db.PingContext(ctx) }

// password is the role's password: derived, never stored.
func (p *Postgres) password(name string) string {
	m := hmac.New(sha256.New, p.passwordKey)
	m.Write([]byte("berth/service-database/" + name))
	return hex.EncodeToString(m.Sum(nil))[:40]
}

// owner is the comment that marks a role and a database as Berth's, for this target.
func owner(t Target) string {
	return fmt.Sprintf("made by Berth for team %s (id %s), service %s, environment %s", t.Team, t.TeamID, t.Service, t.Env)
}

// Ensure makes the target's role and database, idempotently.
func (p *Postgres) Ensure(ctx context.Context, t Target) (Connection, error) {
	name := Name(t)
	conn := Connection{Host: p.host, Port: p.port, Database: name, Username: name, Password: p.password(name), SSLMode: p.sslmode}
	err := p.locked(ctx, name, func(s *session) error {
		if err := s.ensureRole(t, name, conn.Password); err != nil {
			return err
		}
		return s.ensureDatabase(t, name)
	})
	if err != nil {
		return Connection{}, err
	}
	return conn, nil
}

// session is one admin connection holding a target's lock.
type session struct {
	ctx  context.Context
	conn *sql.Conn
}

// locked runs fn on one connection that holds an advisory lock on name: concurrent runs of
// one target (a retry beside a resume, two Berth replicas) take turns, as PostgreSQL refuses
// concurrent changes of one role.
func (p *Postgres) locked(ctx context.Context, name string, fn func(*session) error) error {
	conn, err := p.db.Conn(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", name); err != nil {
		return unavailable(err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)
	}()
	return fn(&session{ctx: ctx, conn: conn})
}

func (s *session) ensureRole(t Target, name, password string) error {
	found, ours, err := s.roleMark(t, name)
	if err != nil {
		return err
	}
	if found && !ours {
		return foreign("role", name)
	}
	// SUPERUSER, REPLICATION and BYPASSRLS are off by default and only a superuser could turn
	// them on (or name them at all): Berth's admin role is not one.
	attrs := " LOGIN PASSWORD " + literal(password) + " NOCREATEDB NOCREATEROLE CONNECTION LIMIT 50"
	if !found {
		// The role and its mark in one transaction: no role of this name is ever unmarked.
		err := s.tx("CREATE ROLE "+ident(name)+attrs, "COMMENT ON ROLE "+ident(name)+" IS "+literal(owner(t)))
		// A concurrent run made it: duplicate_object, or the catalog's unique index.
		if err != nil && !isCode(err, "42710") && !isCode(err, "23505") {
			return err
		}
	}
	// Also repairs a role whose password or attributes were changed by hand.
	for _, stmt := range []string{"ALTER ROLE " + ident(name) + " WITH" + attrs,
		// CREATE DATABASE ... OWNER needs the admin to be able to act as the role.
		"GRANT " + ident(name) + " TO CURRENT_USER"} {
		if err := s.exec(stmt); err != nil {
			return err
		}
	}
	return nil
}

func (s *session) ensureDatabase(t Target, name string) error {
	found, ours, err := s.databaseMark(t, name)
	if err != nil {
		return err
	}
	if found && !ours {
		return foreign("database", name)
	}
	if !found {
		if err := s.exec("CREATE DATABASE " + ident(name) + " OWNER " + ident(name)); err != nil && !isCode(err, "42P04") && !isCode(err, "23505") {
			return err
		}
	}
	for _, stmt := range []string{"COMMENT ON DATABASE " + ident(name) + " IS " + literal(owner(t)),
		// Other services' roles (PUBLIC) may not even connect.
		"REVOKE ALL ON DATABASE " + ident(name) + " FROM PUBLIC"} {
		if err := s.exec(stmt); err != nil {
			return err
		}
	}
	return nil
}

// Drop removes the target's database (closing its connections) and role, if Berth made them
// for this target.
func (p *Postgres) Drop(ctx context.Context, t Target) error {
	name := Name(t)
	return p.locked(ctx, name, func(s *session) error {
		found, ours, err := s.databaseMark(t, name)
		if err != nil {
			return err
		}
		if found && !ours {
			return foreign("database", name)
		}
		if found {
			if err := s.exec("DROP DATABASE IF EXISTS " + ident(name) + " WITH (FORCE)"); err != nil {
				return err
			}
		}
		if found, ours, err = s.roleMark(t, name); err != nil || !found {
			return err
		}
		if !ours {
			return foreign("role", name)
		}
		return s.exec("DROP ROLE IF EXISTS " + ident(name))
	})
}

// roleMark says whether a role of the name exists and whether Berth made it for t.
func (s *session) roleMark(t Target, name string) (found, ours bool, err error) {
	found, comment, err := s.described(`SELECT coalesce(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1`, name)
	return found, comment == owner(t), err
}

// databaseMark is roleMark for the database. CREATE DATABASE cannot share a transaction with
// its comment: a database owned by the target's role (Berth's, see ensureRole) is Berth's
// even before it is marked.
func (s *session) databaseMark(t Target, name string) (found, ours bool, err error) {
	found, got, err := s.described(`SELECT coalesce(shobj_description(oid, 'pg_database'), '') || '|' || pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1`, name)
	return found, got == owner(t)+"|"+name || got == "|"+name, err
}

func (s *session) described(query, name string) (found bool, comment string, err error) {
	err = s.conn.QueryRowContext(s.ctx, query, name).Scan(&comment)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", unavailable(err)
	}
	return true, comment, nil
}

// tx runs statements in one transaction.
func (s *session) tx(stmts ...string) error {
	tx, err := s.conn.BeginTx(s.ctx, nil)
	if err != nil {
		return unavailable(err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(s.ctx, stmt); err != nil {
			return unavailable(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

func (s *session) exec(stmt string) error {
	if _, err := s.conn.ExecContext(s.ctx, stmt); err != nil {
		return unavailable(err)
	}
	return nil
}

func unavailable(err error) error {
	return fmt.Errorf("%w: service database server: %w", errs.ErrUnavailable, err)
}

func foreign(kind, name string) error {
	return fmt.Errorf("%w: a %s %s exists on the database server and was not made by Berth for this service; Berth changed nothing", errs.ErrConflict, kind, name)
}

func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// ident quotes a name Berth made (Name gives [a-z0-9_] only).
func ident(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// literal quotes a string constant (DDL takes no parameters).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
