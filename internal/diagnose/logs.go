package diagnose

import (
	"context"
	"errors"
	"regexp"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// LogReader reads the last n lines of a container's log, previous being its run before the
// last restart; restarts (its restart count) lets the reader remember the answer.
type LogReader func(ctx context.Context, pod, container string, previous bool, restarts int32, n int64) ([]string, error)

// Bounds of the logs one diagnosis reads.
const (
	logLines    = 20
	logFindings = 3
)

// errorLine matches how programs print what went wrong.
var errorLine = regexp.MustCompile(`(?i)\b(error|exception|panic|fatal|failed|traceback|cannot|refused|denied)\b`)

// WithLogs adds to the findings that a log explains (a crash loop, a failing init container)
// the last lines of the container's run that failed, and names its last error line in the
// summary: that line, not the exit code, is what a developer needs. At most logFindings logs
// are read (in the findings' order, errors first), so one request stays cheap. A log the
// reader may not read, or cannot reach, is said as such in the evidence.
func WithLogs(ctx context.Context, fs []Finding, read LogReader) []Finding {
	reads := 0
	for i := range fs {
		f := &fs[i]
		if f.log == nil || f.Resource.Container == "" || reads == logFindings {
			continue
		}
		reads++
		which := "current run"
		if f.log.previous {
			which = "previous run"
		}
		lines, err := read(ctx, f.Resource.Name, f.Resource.Container, f.log.previous, f.log.restarts, logLines)
		switch {
		case apierrors.IsForbidden(err):
			f.Evidence = append(f.Evidence, Evidence{Source: "log", Field: which, Value: "not readable",
				Reason: "Kubernetes does not let you read this pod's log (pods/log); the team's viewers may."})
		case err != nil:
			f.Evidence = append(f.Evidence, Evidence{Source: "log", Field: which, Value: "unavailable", Reason: logError(err)})
		case len(lines) == 0:
			f.Evidence = append(f.Evidence, Evidence{Source: "log", Field: which, Value: "empty", Reason: "The container wrote nothing before it stopped."})
		default:
			last := lastError(lines)
			f.Evidence = append(f.Evidence, Evidence{Source: "log", Field: which, Value: last, Lines: lines})
			f.Summary = strings.TrimSuffix(f.Summary, ".") + ". Its log ends with: " + last
		}
	}
	return fs
}

// lastError is the last line that reads like an error, or else the last non-empty line.
func lastError(lines []string) string {
	fallback := ""
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		if errorLine.MatchString(l) {
			return l
		}
		if fallback == "" {
			fallback = l
		}
	}
	return fallback
}

// logError says why a log could not be read, in one line.
func logError(err error) string {
	msg := err.Error()
	var st apierrors.APIStatus
	if errors.As(err, &st) && st.Status().Message != "" {
		msg = st.Status().Message
	}
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) > 300 {
		msg = strings.ToValidUTF8(msg[:300], "") + "…"
	}
	return msg
}
