package server

import (
	"net/http/httptest"
	"testing"

	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/workloads"
)

// An answer is built once per stamp, built anew when the stamp changes, and never remembered
// without one; its ETag is what viewTag gives the same content.
func TestAnswerMemo(t *testing.T) {
	var m answerMemo
	builds := 0
	build := func(v string) func() any { return func() any { builds++; return map[string]string{"v": v} } }
	a, _ := m.get("shop/web", "s1", build("one"))
	b, _ := m.get("shop/web", "s1", build("two"))
	if builds != 1 || string(b.body) != string(a.body) || a.etag != viewTag(map[string]string{"v": "one"}) {
		t.Fatalf("same stamp: %d builds, %s then %s, etag %s", builds, a.body, b.body, a.etag)
	}
	c, _ := m.get("shop/web", "s2", build("two"))
	if builds != 2 || string(c.body) != "{\"v\":\"two\"}\n" || c.etag == a.etag {
		t.Fatalf("new stamp: %d builds, %s", builds, c.body)
	}
	m.get("shop/web", "", build("three"))
	m.get("shop/web", "", build("three"))
	if builds != 4 {
		t.Fatalf("an unstamped answer was remembered: %d builds", builds)
	}
	rec := httptest.NewRecorder()
	_ = encodedAnswer{answer: c, notModified: true}.write(rec)
	if rec.Code != 304 || rec.Body.Len() != 0 || rec.Header().Get("ETag") != c.etag {
		t.Fatalf("not modified: %d %q %q", rec.Code, rec.Body.String(), rec.Header().Get("ETag"))
	}
	views := []workloads.EnvironmentView{{Env: store.Environment{ID: "e1", Name: "dev", Namespace: "shop-dev"}, Synced: true, View: workloads.View{Stamp: "x.1"}}}
	if stampOf(views) == "" {
		t.Fatal("a synced view from a cache has a stamp")
	}
	views[0].View.Stamp = ""
	if stampOf(views) != "" {
		t.Fatal("a synced view without a stamp must not be remembered")
	}
}
