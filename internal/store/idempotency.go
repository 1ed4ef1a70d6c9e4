package store

import (
	"context"
	"fmt"
	"time"
)

// IdempotencyRecord is the first response to a request made with an Idempotency-Key.
// Status 0 means the first request is still being served.
type IdempotencyRecord struct {
	Subject   string `db:"subject"`
	Key       string `db:"key"`
	Method    string `db:"method"`
	Path      string `db:"path"`
	BodyHash  string `db:"body_hash"`
	Status    int    `db:"status"`
	Headers   string `db:"headers"`
	Body      string `db:"body"`
	CreatedAt int64  `db:"created_at"`
}

// ClaimIdempotencyKey inserts a pending record. If the key is already taken (and younger
// than notBefore) it returns the existing record and claimed=false.
func (q Queries) ClaimIdempotencyKey(ctx context.Context, r IdempotencyRecord, notBefore time.Time) (existing IdempotencyRecord, claimed bool, err error) {
	// An expired record is the same as none: drop it so the key can be used again.
	if _, err := q.exec(ctx, "DELETE FROM idempotency_keys WHERE subject = ? AND key = ? AND created_at < ?", r.Subject, r.Key, micros(notBefore)); err != nil {
		return existing, false, fmt.Errorf("expire idempotency key: %w", err)
	}
	r.Status, r.Headers, r.Body = 0, "{}", ""
	n, err := q.exec(ctx, "INSERT INTO idempotency_keys (subject, key, method, path, body_hash, status, headers, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
		r.Subject, r.Key, r.Method, r.Path, r.BodyHash, r.Status, r.Headers, r.Body, r.CreatedAt)
	if err != nil {
		return existing, false, fmt.Errorf("claim idempotency key: %w", err)
	}
	if n == 1 {
		return r, true, nil // ours: nothing to read back
	}
	if err := q.get(ctx, &existing, "SELECT subject, key, method, path, body_hash, status, headers, body, created_at FROM idempotency_keys WHERE subject = ? AND key = ?", r.Subject, r.Key); err != nil {
		return existing, false, fmt.Errorf("read idempotency key: %w", err)
	}
	return existing, false, nil
}

// CompleteIdempotencyKey stores the response for replay.
func (q Queries) CompleteIdempotencyKey(ctx context.Context, subject, key string, status int, headers, body string) error {
	if _, err := q.exec(ctx, "UPDATE idempotency_keys SET status = ?, headers = ?, body = ? WHERE subject = ? AND key = ?", status, headers, body, subject, key); err != nil {
		return fmt.Errorf("store idempotent response: %w", err)
	}
	return nil
}

// ReleaseIdempotencyKey forgets a claim whose request failed in a way worth retrying.
func (q Queries) ReleaseIdempotencyKey(ctx context.Context, subject, key string) error {
	if _, err := q.exec(ctx, "DELETE FROM idempotency_keys WHERE subject = ? AND key = ? AND status = 0", subject, key); err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

// PurgeIdempotencyKeys deletes records created before t.
func (q Queries) PurgeIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	return q.exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < ?", micros(before))
}
