package findings

import (
	"context"
	"slices"
	"time"

	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/store"
)

// Merge puts the record of a service environment beside its current findings fs: a holding
// cause takes the first time it was recorded (its events may have expired since), a cause the
// record lacks is recorded now (so that one a person saw between two ticks is kept, and the
// recorder resolves it), and the causes resolved in the last Keep that do not hold now are
// returned, newest resolution first.
func Merge(ctx context.Context, st *store.Store, serviceID, env string, fs []diagnose.Finding, now time.Time) ([]diagnose.Finding, []store.FindingRecord, error) {
	recs, err := st.Q().Findings(ctx, serviceID, env, now.Add(-Keep))
	if err != nil {
		return fs, nil, err
	}
	held := map[string]time.Time{}
	var resolved []store.FindingRecord
	for _, rec := range recs {
		if rec.ResolvedAt.IsZero() {
			held[rec.Fingerprint] = rec.FirstSeen
		} else {
			resolved = append(resolved, rec)
		}
	}
	holds := func(fp string) bool { _, ok := held[fp]; return ok }
	if err := seen(ctx, st.Q(), envKey{serviceID, env}, fs, holds, now); err != nil {
		return fs, nil, err
	}
	present := map[string]bool{}
	for i := range fs {
		fp := Fingerprint(fs[i])
		present[fp] = true
		if first, ok := held[fp]; ok && (fs[i].FirstSeen.IsZero() || first.Before(fs[i].FirstSeen)) {
			fs[i].FirstSeen = first
		}
	}
	out := resolved[:0]
	for _, rec := range resolved {
		if !present[rec.Fingerprint] {
			out = append(out, rec)
		}
	}
	slices.SortStableFunc(out, func(a, b store.FindingRecord) int { return b.ResolvedAt.Compare(a.ResolvedAt) })
	return fs, out, nil
}
