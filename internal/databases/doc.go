// Package databases gives services the databases their blueprints ask for: a Provider makes
// (idempotently) one database and one role per service environment and says how to connect.
// Postgres administers a platform PostgreSQL server directly. Names derive from the team's
// id, the service and the environment (so no two share one however their names join), and
// passwords from a key (so a retried or moved run gives the same password and none is
// stored). Every database Berth made carries a comment naming its owner: Berth never adopts
// or drops one it did not make.
package databases
