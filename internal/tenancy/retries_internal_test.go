package tenancy

import (
	"testing"
	"time"
)

// A namespace that keeps failing (the API server down) is retried at least every 30 s, not
// after client-go's default 1000 s, and a success starts its backoff over.
func TestRetriesAreCapped(t *testing.T) {
	r := retries()
	var last time.Duration
	for range 30 {
		last = r.When("shop-dev")
	}
	if last != maxRetryDelay {
		t.Fatalf("after 30 failures: %s, want %s", last, maxRetryDelay)
	}
	r.Forget("shop-dev")
	if d := r.When("shop-dev"); d > 10*time.Millisecond {
		t.Fatalf("after a success: %s", d)
	}
}
