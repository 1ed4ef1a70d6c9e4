// Package store is Berth's database: SQLite (pure Go, WAL, busy timeout) by default and
// PostgreSQL on request, opened with sqlx, migrated with goose from embedded SQL files.
// It owns SQL and nothing else: no HTTP, no authorisation, no Kubernetes. Queries take a
// Queries value so that a domain operation and its audit record share one transaction.
package store
