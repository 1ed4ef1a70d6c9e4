package opencost

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// pod is a pod's allocation for one day, as OpenCost computes it.
type pod struct {
	namespace, app string
	day            int
	cpuHours, cost float64
}

// server answers /allocation in OpenCost's documented shape ({code, data: [set per step]},
// sets keyed by the aggregate's values joined by "/", __idle__ with includeIdle), honouring
// filter only when it knows it (OpenCost before 1.110 ignored it).
func server(t *testing.T, pods []pod, knowsFilter bool, asked *[]string) *httptest.Server {
	filterRE := regexp.MustCompile(`^namespace:"([^"]*)"\+label\[([^\]]*)\]:"([^"]*)"$`)
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		*asked = append(*asked, r.URL.RawQuery)
		if r.URL.Path != "/allocation" || q.Get("window") == "" {
			w.WriteHeader(400)
			_ = json.NewEncoder(w).Encode(map[string]any{"code": 400, "message": "window is required"})
			return
		}
		var fns, fapp string
		if f := q.Get("filter"); f != "" && knowsFilter {
			m := filterRE.FindStringSubmatch(f)
			if m == nil || m[2] != "app_kubernetes_io_name" {
				w.WriteHeader(400)
				_ = json.NewEncoder(w).Encode(map[string]any{"code": 400, "message": "bad filter"})
				return
			}
			fns, fapp = m[1], m[3]
		}
		day0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		var sets []map[string]Allocation
		for day := range 2 {
			set := map[string]Allocation{}
			for _, p := range pods {
				if p.day != day || (fns != "" && (p.namespace != fns || p.app != fapp)) {
					continue
				}
				k := p.namespace + "/" + p.app
				if p.app == "" {
					k = p.namespace + "/__unallocated__"
				}
				a := set[k]
				a.Name = k
				a.Properties = Properties{Cluster: "default", Namespace: p.namespace, Labels: map[string]string{"app_kubernetes_io_name": p.app}}
				a.Window = Window{Start: day0.AddDate(0, 0, day), End: day0.AddDate(0, 0, day+1)}
				a.CPUCoreHours += p.cpuHours
				a.TotalCost += p.cost
				set[k] = a
			}
			if q.Get("includeIdle") == "true" {
				set[Idle] = Allocation{Name: Idle, TotalCost: 1}
			}
			sets = append(sets, set)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"code": 200, "data": sets})
	}))
}

var pods = []pod{
	{"shop-dev", "web", 0, 4, 0.20}, {"shop-dev", "web", 0, 2, 0.10}, {"shop-dev", "web", 1, 6, 0.30},
	{"shop-dev", "web-api", 0, 50, 9}, {"other-dev", "web", 0, 70, 11}, {"shop-dev", "", 1, 1, 5},
}

// The service's days, from a server that knows the filter and from one that ignores it: the
// same figures, and the client stops sending a filter the server ignores.
func TestServiceCosts(t *testing.T) {
	for _, knows := range []bool{true, false} {
		var asked []string
		srv := server(t, pods, knows, &asked)
		c, err := New(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 2 {
			days, err := c.ServiceCosts(t.Context(), Service{Namespace: "shop-dev", Name: "web", Label: "app.kubernetes.io/name"}, "2026-12-01T00:00:00Z,2026-12-03T00:00:00Z", "1d")
			if err != nil {
				t.Fatal(err)
			}
			if len(days) != 2 || days[0].CPUCoreHours != 6 || !near(days[0].TotalCost, 0.30) || days[1].CPUCoreHours != 6 || !near(days[1].TotalCost, 0.30) ||
				!days[1].Window.Start.Equal(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)) {
				t.Fatalf("knows filter %v, round %d: %+v", knows, round, days)
			}
		}
		sentFilter := strings.Contains(asked[1], "filter=")
		if sentFilter != knows || !strings.Contains(asked[0], "filter=") || !strings.Contains(asked[0], "aggregate=namespace%2Clabel%3Aapp_kubernetes_io_name") {
			t.Errorf("knows filter %v: asked %v", knows, asked)
		}
		srv.Close()
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestErrors(t *testing.T) {
	var asked []string
	srv := server(t, pods, true, &asked)
	defer srv.Close()
	c, _ := New(srv.URL)
	_, err := c.Allocation(t.Context(), Query{})
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "window is required") {
		t.Fatalf("a refused query: %v", err)
	}
	sets, err := c.Allocation(t.Context(), Query{Window: "7d", Aggregate: []string{"namespace"}, IncludeIdle: true})
	if err != nil || len(sets) != 2 || sets[0][Idle].TotalCost != 1 {
		t.Fatalf("idle: %v %v", sets, err)
	}
	srv.Close()
	if _, err := c.Allocation(t.Context(), Query{Window: "7d"}); !errors.Is(err, ErrServer) {
		t.Fatalf("a server gone: %v", err)
	}
	for _, bad := range []string{"", "opencost:9003", "ftp://x"} {
		if _, err := New(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
