package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
)

// Service database providers.
const (
	DatabasesNone       = "none"
	DatabasesPostgres   = "postgres"
	DatabasesCrossplane = "crossplane"
)

// Databases is where services' databases (a blueprint's `database` parameter) come from.
type Databases struct {
	// Provider: none (a service asking for a database is refused), postgres (Berth creates a
	// role and a database per service environment on a platform PostgreSQL server) or
	// crossplane (the service's claim is synced by Argo CD and Crossplane writes the Secret).
	Provider string
	// AdminURLFile holds the URL Berth administers the server with (a role with CREATEROLE
	// and CREATEDB); a file, as it carries a password.
	AdminURLFile string
	// Host is host:port as services reach the server (default: the admin URL's).
	Host    string
	SSLMode string
	// PasswordKey derives each role's password (HMAC), so a retried or moved run writes the
	// same password and no password is stored.
	PasswordKey []byte
	// Deletion is what happens to a database when its environment or team is deleted:
	// retain (default: the data stays, the audit log names it) or drop.
	Deletion string
}

func bindDatabases(fs *flag.FlagSet, c *Config) {
	d := &c.Databases
	fs.StringVar(&d.Provider, "service-databases", DatabasesNone, "where services' databases come from: none, postgres (a platform PostgreSQL server Berth administers) or crossplane (a claim Argo CD syncs)")
	fs.StringVar(&d.AdminURLFile, "service-databases-admin-url-file", "", "file holding the postgres:// URL of a role with CREATEROLE and CREATEDB on the platform PostgreSQL server")
	fs.StringVar(&d.Host, "service-databases-host", "", "host:port services connect to (default: the admin URL's host and port)")
	fs.StringVar(&d.SSLMode, "service-databases-sslmode", "require", "sslmode in services' connection URLs: disable, require, verify-ca or verify-full")
	fs.Func("service-databases-password-key", "32-byte key in base64 (openssl rand -base64 32) that derives each database role's password", func(v string) (err error) {
		d.PasswordKey, err = key32(v)
		return err
	})
	fs.StringVar(&d.Deletion, "service-databases-deletion", "retain", "what deleting an environment or team does to its databases: retain or drop")
}

func (c *Config) validateDatabases() []error {
	var errs []error
	d := c.Databases
	switch d.Provider {
	case DatabasesNone, DatabasesCrossplane:
	case DatabasesPostgres:
		if d.AdminURLFile == "" {
			errs = append(errs, errors.New("--service-databases-admin-url-file: required with --service-databases=postgres"))
		}
		if len(d.PasswordKey) == 0 {
			errs = append(errs, errors.New("--service-databases-password-key: required with --service-databases=postgres"))
		}
	default:
		errs = append(errs, fmt.Errorf("--service-databases: %q is not none, postgres or crossplane", d.Provider))
	}
	if d.Host != "" {
		if _, _, err := net.SplitHostPort(d.Host); err != nil {
			errs = append(errs, fmt.Errorf("--service-databases-host: %w", err))
		}
	}
	switch d.SSLMode {
	case "disable", "require", "verify-ca", "verify-full":
	default:
		errs = append(errs, fmt.Errorf("--service-databases-sslmode: %q is not disable, require, verify-ca or verify-full", d.SSLMode))
	}
	if d.Deletion != "retain" && d.Deletion != "drop" {
		errs = append(errs, fmt.Errorf("--service-databases-deletion: %q is not retain or drop", d.Deletion))
	}
	return errs
}
