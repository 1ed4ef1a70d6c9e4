package signals

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Client asks one Prometheus.
type Client struct {
	api promv1.API
}

// queryTimeout bounds one query: a card waits for an answer, not for a slow Prometheus.
const queryTimeout = 10 * time.Second

// NewClient talks to the Prometheus at address (its base URL).
func NewClient(address string) (*Client, error) {
	c, err := api.NewClient(api.Config{Address: address, Client: &http.Client{Timeout: queryTimeout}})
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %w", address, err)
	}
	return &Client{api: promv1.NewAPI(c)}, nil
}

// Instant is the query's value at t: nil when Prometheus has no such series (or the value is
// not a number, as a ratio of two zero rates is).
func (c *Client) Instant(ctx context.Context, query string, t time.Time) (*float64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, _, _, err := c.api.Query(ctx, query, t, promv1.WithTimeout(queryTimeout))
	if err != nil {
		return nil, err
	}
	var x model.SampleValue
	switch v := v.(type) {
	case model.Vector:
		if len(v) == 0 {
			return nil, nil
		}
		x = v[0].Value
	case *model.Scalar:
		x = v.Value
	default:
		return nil, fmt.Errorf("the query gives a %s, not a single number", v.Type())
	}
	f := float64(x)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, nil
	}
	return &f, nil
}

// Point is one value of a range.
type Point struct {
	T time.Time
	V float64
}

// Range is the query's values from start to end every step (the first series; none when
// Prometheus has none).
func (c *Client) Range(ctx context.Context, query string, start, end time.Time, step time.Duration) ([]Point, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, _, _, err := c.api.QueryRange(ctx, query, promv1.Range{Start: start, End: end, Step: step}, promv1.WithTimeout(queryTimeout))
	if err != nil {
		return nil, err
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, fmt.Errorf("the query gives a %s, not a series", v.Type())
	}
	if len(m) == 0 {
		return nil, nil
	}
	out := make([]Point, 0, len(m[0].Values))
	for _, p := range m[0].Values {
		f := float64(p.Value)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		out = append(out, Point{T: p.Timestamp.Time().UTC(), V: f})
	}
	return out, nil
}

// ByLabel is the query's vector at t, each series' value by its labels' values joined with
// "/" (series whose value is not a number left out).
func (c *Client) ByLabel(ctx context.Context, query string, t time.Time, labels ...string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	v, _, _, err := c.api.Query(ctx, query, t, promv1.WithTimeout(queryTimeout))
	if err != nil {
		return nil, err
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("the query gives a %s, not a vector", v.Type())
	}
	out := make(map[string]float64, len(vec))
	key := make([]string, len(labels))
	for _, s := range vec {
		f := float64(s.Value)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		for i, l := range labels {
			key[i] = string(s.Metric[model.LabelName(l)])
		}
		out[strings.Join(key, "/")] = f
	}
	return out, nil
}
