package workloads

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/store"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Bounds of one log read made for a diagnosis: a few lines, a few KiB, a short wait.
const (
	logBytes   = 16 << 10
	logWait    = 3 * time.Second
	lineLength = 500
	memoSize   = 512
	memoTTL    = 5 * time.Minute
)

// LastLines reads the last n lines of a container's log in env as p: Kubernetes RBAC decides
// (the team's viewers may read pods/log), and the API server's audit log names p. previous is
// the container's run before its last restart, where a crash loop's error is. restarts is the
// container's restart count: the previous run's log cannot change until it grows, so answers
// are remembered per caller until then (or a few minutes), and a polling card costs the
// kubelet nothing.
func (s *Service) LastLines(ctx context.Context, p access.Principal, env store.Environment, pod, container string, previous bool, restarts int32, n int64) ([]string, error) {
	key := logKey{user: p.Subject, groups: strings.Join(slices.Sorted(slices.Values(p.Groups)), "\n"), cluster: env.Cluster, namespace: env.Namespace, pod: pod, container: container, previous: previous, restarts: restarts}
	if lines, err, ok := s.logs.get(key); ok {
		return lines, err
	}
	c := s.registry.Get(env.Cluster)
	if c == nil || c.cfg == nil {
		return nil, fmt.Errorf("no connection to cluster %q", env.Cluster)
	}
	cs, err := kube.AsUserOn(c.cfg, p.Subject, p.Groups)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, logWait)
	defer cancel()
	raw, err := cs.CoreV1().Pods(env.Namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: previous,
		TailLines: ptr.To(n), LimitBytes: ptr.To(int64(logBytes))}).DoRaw(ctx)
	var lines []string
	if err == nil {
		lines = splitLines(raw)
	}
	if ctx.Err() == nil { // a timeout says nothing lasting
		s.logs.put(key, lines, err)
	}
	return lines, err
}

// splitLines cuts a log into lines, each at most lineLength bytes (a minified JSON line would
// otherwise fill the answer).
func splitLines(raw []byte) []string {
	var out []string
	for _, l := range bytes.Split(bytes.TrimRight(raw, "\n"), []byte("\n")) {
		line := strings.TrimRight(string(l), "\r")
		if len(line) > lineLength {
			line = strings.ToValidUTF8(line[:lineLength], "") + "…"
		}
		out = append(out, line)
	}
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

// logKey names an answer: Kubernetes decided it for this user with these groups.
type logKey struct {
	user, groups, cluster, namespace, pod, container string
	previous                                         bool
	restarts                                         int32
}

type logAnswer struct {
	lines []string
	err   error
	at    time.Time
}

// logMemo remembers log answers, bounded in count and age.
type logMemo struct {
	mu sync.Mutex
	m  map[logKey]logAnswer
}

func (m *logMemo) get(k logKey) ([]string, error, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.m[k]
	if !ok || time.Since(a.at) > memoTTL {
		return nil, nil, false
	}
	return a.lines, a.err, true
}

func (m *logMemo) put(k logKey, lines []string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[logKey]logAnswer{}
	}
	if len(m.m) >= memoSize {
		for key, a := range m.m {
			if time.Since(a.at) > memoTTL {
				delete(m.m, key)
			}
		}
		if len(m.m) >= memoSize {
			clear(m.m)
		}
	}
	m.m[k] = logAnswer{lines: lines, err: err, at: time.Now()}
}
