package signals

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"text/template"

	"sigs.k8s.io/yaml"
)

// Names of the signals, as the API and the queries file name them.
const (
	RequestRate = "requestRate"
	ErrorRatio  = "errorRatio"
	LatencyP50  = "latencyP50"
	LatencyP95  = "latencyP95"
	LatencyP99  = "latencyP99"
	CPU         = "cpu"
	Memory      = "memory"
)

// Names lists every signal, in the order answers give them.
var Names = []string{LatencyP50, LatencyP95, LatencyP99, RequestRate, ErrorRatio, CPU, Memory}

// Vars fill a query: the environment's namespace, the service's name, a regular expression of
// its pods' names, and the rate window.
type Vars struct {
	Namespace, Service, Pods, Window string
}

// selector is the label matcher the default queries share: the service's pods in its
// namespace, as Prometheus' Kubernetes discovery labels them.
const selector = `namespace="{{.Namespace}}",pod=~"{{.Pods}}"`

// Defaults are queries over the metrics most HTTP servers export (Prometheus' client
// libraries' http_requests_total and http_request_duration_seconds) and cAdvisor's container
// metrics.
var Defaults = map[string]string{
	RequestRate: `sum(rate(http_requests_total{` + selector + `}[{{.Window}}]))`,
	ErrorRatio:  `sum(rate(http_requests_total{` + selector + `,code=~"5.."}[{{.Window}}])) / sum(rate(http_requests_total{` + selector + `}[{{.Window}}]))`,
	LatencyP50:  `histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{` + selector + `}[{{.Window}}])))`,
	LatencyP95:  `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{` + selector + `}[{{.Window}}])))`,
	LatencyP99:  `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{` + selector + `}[{{.Window}}])))`,
	CPU:         `sum(rate(container_cpu_usage_seconds_total{` + selector + `,container!="",container!="POD"}[{{.Window}}]))`,
	Memory:      `sum(container_memory_working_set_bytes{` + selector + `,container!="",container!="POD"})`,
}

// Queries are the templates per blueprint runtime ("go", "nodejs", ...); a runtime's missing
// signals, and runtimes not named, take "default", and its missing ones Defaults.
type Queries struct {
	byRuntime map[string]map[string]*template.Template
}

// QueriesFile is the file a platform writes (--signals-queries):
//
//	default:
//	  requestRate: sum(rate(http_server_requests_total{namespace="{{.Namespace}}",pod=~"{{.Pods}}"}[{{.Window}}]))
//	nodejs:
//	  latencyP99: ...
type QueriesFile map[string]map[string]string

// LoadQueries reads a queries file; "" gives the defaults.
func LoadQueries(path string) (*Queries, error) {
	file := QueriesFile{}
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(raw, &file); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return NewQueries(file)
}

// NewQueries compiles the templates, with Defaults beneath them.
func NewQueries(file QueriesFile) (*Queries, error) {
	q := &Queries{byRuntime: map[string]map[string]*template.Template{}}
	if _, ok := file["default"]; !ok {
		file = mergeDefault(file)
	}
	for runtime, signals := range file {
		q.byRuntime[runtime] = map[string]*template.Template{}
		for name, text := range signals {
			if !known(name) {
				return nil, fmt.Errorf("runtime %s: unknown signal %q (known: %v)", runtime, name, Names)
			}
			t, err := template.New(runtime + "." + name).Option("missingkey=error").Parse(text)
			if err != nil {
				return nil, fmt.Errorf("runtime %s, signal %s: %w", runtime, name, err)
			}
			q.byRuntime[runtime][name] = t
		}
	}
	for _, name := range Names {
		if _, ok := q.byRuntime["default"][name]; !ok {
			q.byRuntime["default"][name] = template.Must(template.New("default." + name).Parse(Defaults[name]))
		}
	}
	return q, nil
}

func mergeDefault(file QueriesFile) QueriesFile {
	out := QueriesFile{"default": {}}
	for k, v := range file {
		out[k] = v
	}
	return out
}

func known(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
}

// safe is what a value put into a query may hold: names Berth validated (DNS labels), a
// duration, or the pods' expression Berth builds; nothing that could end a label matcher.
var safe = regexp.MustCompile(`^[-a-z0-9.*|^$()\[\]{},]+$`)

// PodsOf is the expression of a service's Deployment pods' names (service-<hash>-<suffix>),
// which no other service's pods match, even one whose name starts with this one's.
func PodsOf(service string) string { return service + "-[a-z0-9]{5,10}-[a-z0-9]{5}" }

// Render fills signal's query for runtime.
func (q *Queries) Render(runtime, signal string, v Vars) (string, error) {
	for _, s := range []string{v.Namespace, v.Service, v.Pods, v.Window} {
		if !safe.MatchString(s) {
			return "", fmt.Errorf("signals: %q cannot go into a query", s)
		}
	}
	t := q.byRuntime[runtime][signal]
	if t == nil {
		t = q.byRuntime["default"][signal]
	}
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return "", err
	}
	return b.String(), nil
}
