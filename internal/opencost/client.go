package opencost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Allocation is one entry of an allocation set, in OpenCost's field names.
type Allocation struct {
	Name                  string     `json:"name"`
	Properties            Properties `json:"properties"`
	Window                Window     `json:"window"`
	Start                 time.Time  `json:"start"`
	End                   time.Time  `json:"end"`
	Minutes               float64    `json:"minutes"`
	CPUCoreHours          float64    `json:"cpuCoreHours"`
	CPUCoreRequestAverage float64    `json:"cpuCoreRequestAverage"`
	CPUCoreUsageAverage   float64    `json:"cpuCoreUsageAverage"`
	CPUCost               float64    `json:"cpuCost"`
	CPUEfficiency         float64    `json:"cpuEfficiency"`
	GPUCost               float64    `json:"gpuCost"`
	RAMByteHours          float64    `json:"ramByteHours"`
	RAMByteRequestAverage float64    `json:"ramByteRequestAverage"`
	RAMByteUsageAverage   float64    `json:"ramByteUsageAverage"`
	RAMCost               float64    `json:"ramCost"`
	RAMEfficiency         float64    `json:"ramEfficiency"`
	PVByteHours           float64    `json:"pvByteHours"`
	PVCost                float64    `json:"pvCost"`
	NetworkCost           float64    `json:"networkCost"`
	LoadBalancerCost      float64    `json:"loadBalancerCost"`
	SharedCost            float64    `json:"sharedCost"`
	ExternalCost          float64    `json:"externalCost"`
	TotalCost             float64    `json:"totalCost"`
	TotalEfficiency       float64    `json:"totalEfficiency"`
}

// Properties say what an allocation is of.
type Properties struct {
	Cluster        string            `json:"cluster"`
	Node           string            `json:"node"`
	Namespace      string            `json:"namespace"`
	Controller     string            `json:"controller"`
	ControllerKind string            `json:"controllerKind"`
	Pod            string            `json:"pod"`
	Container      string            `json:"container"`
	Labels         map[string]string `json:"labels"`
}

// Window is an allocation's time range.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Idle is the name OpenCost gives a cluster's unallocated cost.
const Idle = "__idle__"

// Query is one /allocation request.
type Query struct {
	// Window is OpenCost's: "today", "7d", "month", or "RFC3339,RFC3339".
	Window    string
	Step      string // "1d": one set per day
	Aggregate []string
	// Filter is a filter expression (OpenCost 1.110 and later); a server that does not know it
	// answers everything.
	Filter      string
	Accumulate  bool
	IncludeIdle bool
	ShareIdle   bool
}

// Client talks to one OpenCost.
type Client struct {
	base   string
	http   *http.Client
	filter atomic.Int32 // 0 not known, 1 honoured, -1 ignored
}

// New is a client of the OpenCost at base (e.g. http://opencost.opencost:9003).
func New(base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("opencost: %q is not an http(s) URL", base)
	}
	return &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// ErrServer is an answer of OpenCost that is not a success.
var ErrServer = errors.New("opencost")

// Allocation asks for allocation sets, one per step.
func (c *Client) Allocation(ctx context.Context, q Query) ([]map[string]Allocation, error) {
	v := url.Values{"window": {q.Window}}
	if q.Step != "" {
		v.Set("step", q.Step)
	}
	if len(q.Aggregate) > 0 {
		v.Set("aggregate", strings.Join(q.Aggregate, ","))
	}
	if q.Filter != "" && c.filter.Load() >= 0 {
		v.Set("filter", q.Filter)
	}
	v.Set("accumulate", fmt.Sprint(q.Accumulate))
	v.Set("includeIdle", fmt.Sprint(q.IncludeIdle))
	v.Set("shareIdle", fmt.Sprint(q.ShareIdle))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/allocation?"+v.Encode(), nil)
	if err != nil {
		return nil, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w did not answer: %v", ErrServer, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var out struct {
		Code    int                     `json:"code"`
		Message string                  `json:"message"`
		Data    []map[string]Allocation `json:"data"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%w answered %d, not an allocation response: %.200s", ErrServer, res.StatusCode, body)
	}
	if res.StatusCode != http.StatusOK || (out.Code != 0 && out.Code != http.StatusOK) {
		return nil, fmt.Errorf("%w answered %d: %s", ErrServer, res.StatusCode, out.Message)
	}
	return out.Data, nil
}

// Labels are sanitised by OpenCost (and Prometheus) as label names: app.kubernetes.io/name is
// app_kubernetes_io_name.
func Label(name string) string {
	return strings.NewReplacer(".", "_", "/", "_", "-", "_").Replace(name)
}

// Service is one service's cost in a namespace, per step, from allocations aggregated by
// namespace and its label (the label's value is the service's name).
type Service struct {
	Namespace, Name, Label string
}

// ServiceCosts asks OpenCost for the service's allocations over window, one set per step;
// each set holds at most one allocation, the service's (absent when it had none then).
func (c *Client) ServiceCosts(ctx context.Context, s Service, window, step string) ([]Allocation, error) {
	label := Label(s.Label)
	sets, err := c.Allocation(ctx, Query{Window: window, Step: step, Aggregate: []string{"namespace", "label:" + label},
		Filter: fmt.Sprintf(`namespace:"%s"+label[%s]:"%s"`, s.Namespace, label, s.Name)})
	if err != nil {
		return nil, err
	}
	want := s.Namespace + "/" + s.Name
	var out []Allocation
	foreign := false
	for _, set := range sets {
		a, ok := set[want]
		for k := range set {
			if k != want && k != Idle {
				foreign = true
			}
		}
		if ok {
			out = append(out, a)
		}
	}
	switch {
	case foreign:
		c.filter.Store(-1) // it answered for others too: it ignored the filter; stop sending it
	case c.filter.Load() == 0:
		c.filter.Store(1)
	}
	return out, nil
}
