package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{key("web-1", "web"): {Time: time.Date(2026, 12, 3, 10, 0, 0, 123456789, time.UTC), Same: 2}, key("web-2", "web"): {Time: time.Unix(5, 0).UTC(), Same: 1}}
	got, err := ParseCursor(c.String())
	if err != nil || len(got) != 2 || got[key("web-1", "web")] != c[key("web-1", "web")] || got[key("web-2", "web")] != c[key("web-2", "web")] {
		t.Fatalf("%s parsed as %v, %v", c, got, err)
	}
	for _, bad := range []string{"", "c2~1.2.3", "c1~zz", "c1~1.2.0", "c1~1.!.1", "c1~" + strings.Repeat("a", maxCursor)} {
		if _, err := ParseCursor(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestFilter(t *testing.T) {
	f, err := NewFilter("TIMEOUT", false, []string{"^ERROR", "^WARN"}, []string{"healthz"})
	if err != nil {
		t.Fatal(err)
	}
	for line, want := range map[string]bool{"ERROR db timeout": true, "WARN Timeout again": true, "INFO timeout": false,
		"ERROR timeout on /healthz": false, "ERROR refused": false} {
		if f.Keep(line) != want {
			t.Errorf("%q: kept %v, want %v", line, !want, want)
		}
	}
	re, err := NewFilter(`status=5\d\d`, true, nil, nil)
	if err != nil || !re.Keep("GET / status=503") || re.Keep("GET / status=200") {
		t.Fatalf("regex search: %v", err)
	}
	for _, c := range []struct {
		search           string
		regex            bool
		include, exclude []string
		field            string
	}{
		{search: "(", regex: true, field: "search"},
		{search: strings.Repeat("a", MaxPattern+1), regex: true, field: "search"},
		{include: []string{"[z-a]"}, field: "include"},
		{exclude: []string{"a", "b", "c", "d", "e", "f"}, field: "exclude"},
		{include: []string{"(a{500}){4}"}, field: "include"},
	} {
		_, err := NewFilter(c.search, c.regex, c.include, c.exclude)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%+v: %v, want an error naming %s", c, err, c.field)
		}
	}
}

func TestReadLineCutsLongLines(t *testing.T) {
	long := strings.Repeat("x", MaxLine+500)
	br := bufio.NewReaderSize(strings.NewReader(long+"\nshort\r\nlast"), 4096)
	first, err := readLine(br)
	if err != nil || len(first) != MaxLine+len("…") || !strings.HasSuffix(first, "…") {
		t.Fatalf("long line: %d bytes, %v", len(first), err)
	}
	if second, err := readLine(br); second != "short" || err != nil {
		t.Fatalf("second: %q %v", second, err)
	}
	if last, err := readLine(br); last != "last" || err != io.EOF {
		t.Fatalf("last: %q %v", last, err)
	}
}

// fakeSource is a kubelet for the engine's unit tests: fixed lines per container, sinceTime
// honoured to the whole second as the API sends it. The adapter is tested on the plane.
type fakeSource struct {
	mu      sync.Mutex
	lines   map[string][]string // "pod/container" → "RFC3339Nano text"
	denied  error
	refused bool
}

func (f *fakeSource) Containers() []Container {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Container
	for k := range f.lines {
		pod, c, _ := strings.Cut(k, "/")
		out = append(out, Container{Pod: pod, Name: c, Started: true})
	}
	return out
}

func (f *fakeSource) Open(_ context.Context, pod, container string, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	if f.refused {
		return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods/log"}, pod, errors.New("no"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, l := range f.lines[pod+"/"+container] {
		ts, _, _ := strings.Cut(l, " ")
		at, _ := time.Parse(time.RFC3339Nano, ts)
		if o.SinceTime != nil && at.Before(o.SinceTime.Time) {
			continue
		}
		b.WriteString(l + "\n")
	}
	return io.NopCloser(strings.NewReader(b.String())), nil
}

func (f *fakeSource) Allowed(context.Context) error { return f.denied }

func collect(t *testing.T, src Source, q Query) []Event {
	t.Helper()
	var out []Event
	err := Stream(t.Context(), src, q, func(e Event) error { out = append(out, e); return nil }, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Cut after any line, the stream resumed from that line's id sends exactly the lines after it:
// none lost, none repeated, lines that share a timestamp included.
func TestResumeLosesAndRepeatsNothing(t *testing.T) {
	src := &fakeSource{lines: map[string][]string{
		"web-1/web": {"2026-12-03T10:00:00.100000000Z a1", "2026-12-03T10:00:00.100000000Z a2", "2026-12-03T10:00:00.900000000Z a3",
			"2026-12-03T10:00:01.000000000Z a4", "2026-12-03T10:00:01.000000000Z a5", "2026-12-03T10:00:01.000000000Z a6", "2026-12-03T10:00:02.500000000Z a7"},
		"web-2/web": {"2026-12-03T10:00:00.500000000Z b1", "2026-12-03T10:00:01.000000000Z b2", "2026-12-03T10:00:01.000000000Z b3"},
	}}
	all := collect(t, src, Query{})
	lines := func(es []Event) []string {
		var out []string
		for _, e := range es {
			if e.Kind == KindLine {
				out = append(out, e.Pod+":"+e.Line)
			}
		}
		return out
	}
	if got := lines(all); len(got) != 10 {
		t.Fatalf("all lines: %v", got)
	}
	for i, e := range all {
		cursor, err := ParseCursor(e.ID)
		if err != nil {
			t.Fatal(err)
		}
		rest := lines(collect(t, src, Query{Resume: cursor}))
		sent := map[string]bool{}
		for _, l := range lines(all[:i+1]) {
			sent[l] = true
		}
		var want []string
		for _, l := range lines(all) {
			if !sent[l] {
				want = append(want, l)
			}
		}
		if fmt.Sprint(rest) != fmt.Sprint(want) && !sameSet(rest, want) {
			t.Fatalf("resumed after %s: got %v, want %v", e.Line, rest, want)
		}
	}
}

// sameSet: two pods' lines interleave in any order; each must come exactly once.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	n := map[string]int{}
	for _, x := range a {
		n[x]++
	}
	for _, x := range b {
		if n[x]--; n[x] < 0 {
			return false
		}
	}
	return true
}

// A client that stalls gets a gap event with the count of what it missed; every line is either
// sent or counted.
func TestSlowClientGetsAGap(t *testing.T) {
	old := stallFor
	stallFor = 50 * time.Millisecond
	defer func() { stallFor = old }()
	var ls []string
	for i := range 50000 {
		ls = append(ls, fmt.Sprintf("2026-12-03T10:00:%02d.%09dZ line %d %s", i/10000, i, i, strings.Repeat("x", 80)))
	}
	src := &fakeSource{lines: map[string][]string{"web-1/web": ls}}
	sent, dropped := 0, 0
	err := Stream(t.Context(), src, Query{}, func(e Event) error {
		switch e.Kind {
		case KindLine:
			sent++
			if sent == 1000 {
				time.Sleep(500 * time.Millisecond) // stalled, ten times longer than the readers wait
			}
		case KindGap:
			dropped += e.Dropped
		}
		return nil
	}, func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if dropped == 0 || sent+dropped != len(ls) {
		t.Fatalf("sent %d, dropped %d, of %d", sent, dropped, len(ls))
	}
}

func TestAccessEnds(t *testing.T) {
	src := &fakeSource{lines: map[string][]string{"web-1/web": {"2026-12-03T10:00:00Z a"}}, refused: true}
	err := Stream(t.Context(), src, Query{Follow: true}, func(Event) error { return nil }, func() error { return nil })
	if !errors.Is(err, ErrAccess) {
		t.Fatalf("Kubernetes refused the read: %v, want ErrAccess", err)
	}
	src = &fakeSource{lines: map[string][]string{}, denied: fmt.Errorf("%w: gone", ErrAccess)}
	if err := Stream(t.Context(), src, Query{Follow: true}, func(Event) error { return nil }, func() error { return nil }); !errors.Is(err, ErrAccess) {
		t.Fatalf("no access at the start: %v", err)
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(2, 3)
	r1, _ := l.Acquire("jane")
	if _, err := l.Acquire("jane"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire("jane"); !errors.Is(err, errs.ErrTooMany) {
		t.Fatalf("third of jane's: %v", err)
	}
	if _, err := l.Acquire("joe"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire("ann"); !errors.Is(err, errs.ErrTooMany) {
		t.Fatalf("fourth in all: %v", err)
	}
	r1()
	r1() // twice is once
	if _, err := l.Acquire("ann"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if _, err := l.Acquire("bob"); !errors.Is(err, errs.ErrTooMany) {
		t.Fatalf("a double release freed two: %v", err)
	}
}

// A followed stream forgets the positions of pods that are gone: its ids stay as short as
// the pods it still has.
func TestCursorForgetsGonePods(t *testing.T) {
	old := reconcileEvery
	reconcileEvery = 20 * time.Millisecond
	defer func() { reconcileEvery = old }()
	src := &fakeSource{lines: map[string][]string{
		"web-1/web": {"2026-12-03T10:00:00Z a"},
		"web-2/web": {"2026-12-03T10:00:00Z b"},
	}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events := make(chan Event, 100)
	go func() {
		_ = Stream(ctx, src, Query{Follow: true}, func(e Event) error { events <- e; return nil }, func() error { return nil })
	}()
	var last Event
	for lines := 0; lines < 2; {
		if last = <-events; last.Kind == KindLine {
			lines++
		}
	}
	if c, _ := ParseCursor(last.ID); len(c) != 2 {
		t.Fatalf("two pods' lines, a cursor of %d", len(c))
	}
	src.mu.Lock()
	delete(src.lines, "web-1/web")
	src.lines["web-3/web"] = []string{"2026-12-03T10:00:05Z c"}
	src.mu.Unlock()
	deadline := time.After(5 * time.Second)
	for {
		var e Event
		select {
		case e = <-events:
		case <-deadline:
			t.Fatal("the cursor still holds web-1 five seconds after it went")
		}
		if e.Kind == KindLine && e.Pod == "web-3" {
			c, _ := ParseCursor(e.ID)
			if _, ok := c[key("web-1", "web")]; ok {
				// Not forgotten yet: another line of web-3 will tell.
				src.mu.Lock()
				src.lines["web-3/web"] = append(src.lines["web-3/web"], "2026-12-03T10:00:06Z d")
				src.mu.Unlock()
				continue
			}
			if len(c) != 2 {
				t.Fatalf("cursor after web-1 went: %v", c)
			}
			return
		}
	}
}

// A client that reads as fast as it can loses nothing, however much faster the log comes than
// it reads: the readers wait for it.
func TestFastClientLosesNothing(t *testing.T) {
	var ls []string
	for i := range 50000 {
		ls = append(ls, fmt.Sprintf("2026-12-03T10:00:%02d.%09dZ line %d %s", i/10000, i, i, strings.Repeat("x", 80)))
	}
	src := &fakeSource{lines: map[string][]string{"web-1/web": ls}}
	sent := 0
	err := Stream(t.Context(), src, Query{}, func(e Event) error {
		switch e.Kind {
		case KindLine:
			sent++
			if sent%5000 == 0 {
				time.Sleep(20 * time.Millisecond) // a client busy now and then
			}
		case KindGap:
			t.Fatalf("a gap of %d for a client that kept reading", e.Dropped)
		}
		return nil
	}, func() error { return nil })
	if err != nil || sent != len(ls) {
		t.Fatalf("sent %d of %d: %v", sent, len(ls), err)
	}
}
