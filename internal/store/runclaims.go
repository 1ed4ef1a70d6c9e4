package store

import (
	"context"
	"fmt"
	"time"
)

// ClaimRun makes owner the executor of a run until until, unless another owner's claim still
// holds at now; true when owner holds it. Claiming again what owner holds renews it.
func (q Queries) ClaimRun(ctx context.Context, id, owner string, until, now time.Time) (bool, error) {
	n, err := q.exec(ctx, `UPDATE runs SET claimed_by = ?, claim_until = ?
		WHERE id = ? AND (claimed_by = '' OR claimed_by = ? OR claim_until < ?)`, owner, micros(until), id, owner, micros(now))
	if err != nil {
		return false, fmt.Errorf("claim run: %w", err)
	}
	return n == 1, nil
}

// ReleaseRun gives owner's claim on a run up, so that any replica may take it at once.
func (q Queries) ReleaseRun(ctx context.Context, id, owner string) error {
	if _, err := q.exec(ctx, `UPDATE runs SET claimed_by = '', claim_until = 0 WHERE id = ? AND claimed_by = ?`, id, owner); err != nil {
		return fmt.Errorf("release run: %w", err)
	}
	return nil
}
