// Package loop runs Berth's background work on an interval: the cost sampler and budget alerts,
// the findings record, the blueprints repository, the idempotency-key purge. Each loop's
// package says whether it is safe on every replica (claimed in the database) or must be led.
package loop
