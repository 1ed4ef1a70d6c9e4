package databases

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/url"
	"regexp"
	"strings"
)

// Target is one service environment's database.
type Target struct{ TeamID, Team, Service, Env string }

// Connection is how a service reaches its database.
type Connection struct {
	Host, Port, Database, Username, Password, SSLMode string
}

// URL is the connection as a postgres:// URL (the blueprints' DATABASE_URL).
func (c Connection) URL() string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.Username, c.Password), Host: net.JoinHostPort(c.Host, c.Port),
		Path: "/" + c.Database, RawQuery: url.Values{"sslmode": {c.SSLMode}}.Encode()}
	return u.String()
}

// SecretData is the connection as the keys of the service's Secret.
func (c Connection) SecretData() map[string]string {
	return map[string]string{"host": c.Host, "port": c.Port, "database": c.Database, "username": c.Username,
		"password": c.Password, "sslmode": c.SSLMode, "url": c.URL()}
}

// Provider makes and removes service databases.
type Provider interface {
	// Ensure makes the target's database and role if they are missing (and repairs their
	// grants and password if they are not as Berth made them); it returns the connection.
	Ensure(ctx context.Context, t Target) (Connection, error)
	// Drop removes the target's database and role; missing ones are not an error.
	Drop(ctx context.Context, t Target) error
}

var unsafe = regexp.MustCompile(`[^a-z0-9]+`)

// Name is the database's and the role's name: readable parts, then a hash of the team's id,
// the service and the environment, within PostgreSQL's 63 bytes and of [a-z0-9_] only.
func Name(t Target) string {
	sum := sha256.Sum256([]byte(t.TeamID + "/" + t.Service + "/" + t.Env))
	readable := strings.Trim(unsafe.ReplaceAllString(t.Team+"_"+t.Service+"_"+t.Env, "_"), "_")
	if len(readable) > 40 {
		readable = strings.TrimRight(readable[:40], "_")
	}
	return "berth_" + readable + "_" + hex.EncodeToString(sum[:6])
}
