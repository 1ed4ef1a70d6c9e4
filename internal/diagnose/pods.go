package diagnose

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/workloads"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// pod finds what keeps one pod from running: its containers' states (as the kubelet writes
// them), scheduling, eviction and failing probes (from the kubelet's events).
func pod(p *corev1.Pod, events []*corev1.Event, now time.Time) []Finding {
	var out []Finding
	podRes := Resource{Kind: "Pod", Name: p.Name}
	if p.Status.Phase == corev1.PodFailed && p.Status.Reason == "Evicted" {
		out = append(out, Finding{Code: CodeEvicted, Severity: Warning, Resource: podRes,
			Summary:        "The node evicted the pod: " + p.Status.Message,
			Evidence:       []Evidence{{Source: "status", Field: "status.reason", Value: "Evicted", Reason: p.Status.Message}},
			Recommendation: "The node ran short of memory or disk. Set requests close to real use (the quota's usage shows it) so the scheduler places the pod where it fits; the Deployment replaces evicted pods."})
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			out = append(out, unschedulable(podRes, c))
		}
	}
	specs := map[string]corev1.Container{}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		specs[c.Name] = c
	}
	for _, cs := range p.Status.InitContainerStatuses {
		res := Resource{Kind: "Pod", Name: p.Name, Container: cs.Name}
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" || (cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0) {
			f := Finding{Code: CodeInitFailing, Severity: Error, Resource: res,
				Summary:        fmt.Sprintf("Init container %s fails, so the pod's containers never start.", cs.Name),
				Evidence:       containerEvidence(cs),
				Recommendation: fmt.Sprintf("The cause is in init container %s's log: correct it; the pod starts once it exits 0.", cs.Name),
				log:            &logRef{previous: cs.State.Terminated == nil, restarts: cs.RestartCount}}
			out = append(out, f)
			continue
		}
		out = append(out, waiting(res, cs, specs[cs.Name])...)
	}
	for _, cs := range p.Status.ContainerStatuses {
		res := Resource{Kind: "Pod", Name: p.Name, Container: cs.Name}
		out = append(out, waiting(res, cs, specs[cs.Name])...)
		if t := cs.LastTerminationState.Terminated; t != nil && t.Reason == "OOMKilled" {
			out = append(out, oomKilled(res, cs, specs[cs.Name]))
		}
	}
	out = append(out, probes(p, specs, events, now)...)
	return out
}

// waiting turns a container's waiting state into a finding.
func waiting(res Resource, cs corev1.ContainerStatus, spec corev1.Container) []Finding {
	w := cs.State.Waiting
	if w == nil {
		return nil
	}
	ev := containerEvidence(cs)
	switch w.Reason {
	case "CrashLoopBackOff":
		f := Finding{Code: CodeCrashLoop, Severity: Error, Resource: res, Evidence: ev,
			Summary: fmt.Sprintf("Container %s keeps exiting and Kubernetes waits longer between restarts (%d so far).", cs.Name, cs.RestartCount)}
		if t := cs.LastTerminationState.Terminated; t != nil {
			f.Summary = fmt.Sprintf("Container %s exits with code %d (%s) and is restarted again and again (%d restarts).", cs.Name, t.ExitCode, exitMeaning(t.ExitCode, t.Reason), cs.RestartCount)
		}
		f.Recommendation = fmt.Sprintf("The cause is in the last lines of container %s's previous run: correct it and release again; until then Kubernetes keeps restarting it.", cs.Name)
		f.log = &logRef{previous: true, restarts: cs.RestartCount}
		return []Finding{f}
	case "ImagePullBackOff", "ErrImagePull", "InvalidImageName":
		detail, why := pullFailure(w.Message)
		return []Finding{{Code: CodeImagePull, Severity: Error, Resource: res, Evidence: ev, Detail: detail,
			Summary:        fmt.Sprintf("Kubernetes cannot pull image %s: %s.", spec.Image, why),
			Recommendation: pullRemedy(detail, spec.Image)}}
	case "CreateContainerConfigError", "CreateContainerError":
		what := missing(w.Message)
		return []Finding{{Code: CodeMissingConfig, Severity: Error, Resource: res, Evidence: ev,
			Summary:        fmt.Sprintf("Container %s cannot be created: %s.", cs.Name, what),
			Recommendation: "Create what it refers to in the namespace (a Secret or ConfigMap and key the Deployment names), or remove the reference; the kubelet retries on its own."}}
	}
	return nil
}

func containerEvidence(cs corev1.ContainerStatus) []Evidence {
	var ev []Evidence
	if w := cs.State.Waiting; w != nil {
		ev = append(ev, Evidence{Source: "status", Field: "state.waiting", Value: w.Reason, Reason: w.Message})
	}
	if t := cs.State.Terminated; t != nil {
		ev = append(ev, Evidence{Source: "status", Field: "state.terminated", Value: fmt.Sprintf("exit %d %s", t.ExitCode, t.Reason), Reason: t.Message,
			FirstSeen: t.StartedAt.Time, LastSeen: t.FinishedAt.Time})
	}
	if t := cs.LastTerminationState.Terminated; t != nil {
		ev = append(ev, Evidence{Source: "status", Field: "lastState.terminated", Value: fmt.Sprintf("exit %d %s", t.ExitCode, t.Reason), Reason: t.Message,
			FirstSeen: t.StartedAt.Time, LastSeen: t.FinishedAt.Time})
	}
	if cs.RestartCount > 0 {
		ev = append(ev, Evidence{Source: "status", Field: "restartCount", Value: fmt.Sprint(cs.RestartCount), Count: cs.RestartCount})
	}
	return ev
}

func oomKilled(res Resource, cs corev1.ContainerStatus, spec corev1.Container) Finding {
	limit := spec.Resources.Limits[corev1.ResourceMemory]
	f := Finding{Code: CodeOOMKilled, Severity: Error, Resource: res, Evidence: containerEvidence(cs),
		Summary: fmt.Sprintf("Container %s ran out of memory and was killed (restarted %d times).", cs.Name, cs.RestartCount)}
	if limit.IsZero() {
		f.Recommendation = "Give the container a memory limit above what it uses at peak, or find what makes it grow."
		return f
	}
	proposed := resource.NewQuantity(limit.Value()*2, resource.BinarySI)
	f.Summary = fmt.Sprintf("Container %s reached its memory limit of %s and was killed (restarted %d times).", cs.Name, limit.String(), cs.RestartCount)
	f.Recommendation = fmt.Sprintf("Raise the memory limit from %s to %s (and the request with it), or find what makes the process grow past %s.", limit.String(), roundMi(proposed), limit.String())
	return f
}

// roundMi writes a quantity in whole MiB, as people write limits.
func roundMi(q *resource.Quantity) string { return fmt.Sprintf("%dMi", (q.Value()+(1<<20)-1)>>20) }

// exitMeaning says what an exit code usually means.
func exitMeaning(code int32, reason string) string {
	switch {
	case reason == "OOMKilled":
		return "killed for using more memory than its limit"
	case code == 137:
		return "killed with SIGKILL"
	case code == 143:
		return "stopped with SIGTERM"
	case code == 139:
		return "segmentation fault"
	case code == 126 || code == 127:
		return "the command cannot be run or is not found in the image"
	case code == 1:
		return "the program reported an error"
	}
	if reason != "" {
		return reason
	}
	return "an error"
}

// pullFailure says why an image cannot be pulled, from the kubelet's message.
func pullFailure(msg string) (detail, why string) {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "not found") || strings.Contains(m, "manifest unknown") || strings.Contains(m, "does not exist"):
		return CodeImagePullNotFound, "the image or its tag does not exist in the registry"
	case strings.Contains(m, "unauthorized") || strings.Contains(m, "authentication required") || strings.Contains(m, "denied") || strings.Contains(m, "403"):
		return CodeImagePullDenied, "the registry refuses the cluster's credentials"
	case strings.Contains(m, "no such host") || strings.Contains(m, "i/o timeout") || strings.Contains(m, "connection refused") || strings.Contains(m, "dial tcp"):
		return CodeImagePullNoNetwork, "the registry cannot be reached from the node"
	}
	return "", "the registry's answer: " + msg
}

func pullRemedy(detail, image string) string {
	switch detail {
	case CodeImagePullNotFound:
		return fmt.Sprintf("Check that %s was pushed (CI's image job) and deploy a tag that exists: PATCH the service with it.", image)
	case CodeImagePullDenied:
		return "Give the namespace a pull secret for the registry (or make the image readable to the cluster's nodes); a platform admin can add it."
	case CodeImagePullNoNetwork:
		return "The nodes cannot reach the registry: ask the platform team (network policy, proxy or DNS for the registry's host)."
	}
	return "Check the image reference and the registry."
}

var missingRef = regexp.MustCompile(`(secret|configmap) "([^"]+)" not found|couldn't find key (\S+) in (Secret|ConfigMap) (\S+)`)

// missing names what a container's configuration refers to and the namespace lacks.
func missing(msg string) string {
	m := missingRef.FindStringSubmatch(msg)
	switch {
	case m == nil:
		return msg
	case m[1] != "":
		kind := map[string]string{"secret": "Secret", "configmap": "ConfigMap"}[m[1]]
		return fmt.Sprintf("the %s %q it refers to does not exist", kind, m[2])
	}
	return fmt.Sprintf("the %s %s has no key %s", m[4], m[5], m[3])
}

var (
	nodesAvailable = regexp.MustCompile(`0/(\d+) nodes are available`)
	insufficient   = regexp.MustCompile(`(\d+) Insufficient (cpu|memory|ephemeral-storage|pods)`)
)

// unschedulable parses the scheduler's breakdown ("0/3 nodes are available: 2 Insufficient
// cpu, 1 node(s) had untolerated taint {...}").
func unschedulable(res Resource, c corev1.PodCondition) Finding {
	f := Finding{Code: CodeUnschedulable, Severity: Error, Resource: res,
		Evidence:  []Evidence{{Source: "status", Field: "conditions[PodScheduled]", Value: "False " + c.Reason, Reason: c.Message, FirstSeen: c.LastTransitionTime.Time, LastSeen: c.LastTransitionTime.Time}},
		FirstSeen: c.LastTransitionTime.Time}
	var why, fix []string
	for _, m := range insufficient.FindAllStringSubmatch(c.Message, -1) {
		why = append(why, fmt.Sprintf("%s nodes lack the %s it requests", m[1], m[2]))
		fix = append(fix, "lower the "+m[2]+" request")
	}
	if strings.Contains(c.Message, "untolerated taint") {
		why = append(why, "some nodes are tainted for other workloads")
	}
	if strings.Contains(c.Message, "didn't match Pod's node affinity/selector") {
		why = append(why, "no node matches its node selector or affinity")
	}
	if strings.Contains(c.Message, "unbound immediate PersistentVolumeClaims") {
		why = append(why, "a PersistentVolumeClaim it mounts is not bound")
		fix = append(fix, "check the claim's storage class")
	}
	nodes := ""
	if m := nodesAvailable.FindStringSubmatch(c.Message); m != nil {
		nodes = " on any of the " + m[1] + " nodes"
	}
	if len(why) == 0 {
		why = []string{c.Message}
	}
	f.Summary = fmt.Sprintf("The pod cannot be placed%s: %s.", nodes, strings.Join(why, "; "))
	fix = append(fix, "or ask the platform team for capacity")
	f.Recommendation = strings.ToUpper(fix[0][:1]) + strings.Join(fix, ", ")[1:] + "."
	return f
}

var probeFailed = regexp.MustCompile(`^(Liveness|Readiness|Startup) probe failed: (.*)$`)

// probes finds failing probes from the kubelet's Unhealthy events of the last 10 minutes,
// while the pod is not ready (a readiness failure the pod recovered from is history).
func probes(p *corev1.Pod, specs map[string]corev1.Container, events []*corev1.Event, now time.Time) []Finding {
	ready := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	seen := map[string]*Finding{}
	var out []Finding
	for _, e := range events {
		m := probeFailed.FindStringSubmatch(e.Message)
		if e.Reason != "Unhealthy" || m == nil || now.Sub(workloads.LastSeen(e)) > 10*time.Minute {
			continue
		}
		kind := m[1]
		if kind == "Readiness" && ready {
			continue
		}
		container := containerOf(e)
		key := kind + "/" + container
		ev := Evidence{Source: "event", Field: "Unhealthy", Value: kind + " probe failed", Reason: m[2],
			FirstSeen: workloads.FirstSeen(e), LastSeen: workloads.LastSeen(e), Count: workloads.Count(e)}
		if f, ok := seen[key]; ok {
			f.Evidence = append(f.Evidence, ev)
			continue
		}
		f := &Finding{Code: CodeProbeFailing, Severity: Error, Resource: Resource{Kind: "Pod", Name: p.Name, Container: container}, Detail: strings.ToLower(kind),
			Evidence: []Evidence{ev}, FirstSeen: ev.FirstSeen, LastSeen: ev.LastSeen,
			Summary: fmt.Sprintf("The %s probe of container %s fails: %s.", strings.ToLower(kind), container, m[2])}
		f.Recommendation = probeRemedy(kind, specs[container])
		seen[key] = f
	}
	for _, f := range seen {
		out = append(out, *f)
	}
	return out
}

func probeRemedy(kind string, c corev1.Container) string {
	var pr *corev1.Probe
	switch kind {
	case "Liveness":
		pr = c.LivenessProbe
	case "Readiness":
		pr = c.ReadinessProbe
	default:
		pr = c.StartupProbe
	}
	where := "its probe"
	if pr != nil && pr.HTTPGet != nil {
		where = fmt.Sprintf("GET %s on port %s", pr.HTTPGet.Path, pr.HTTPGet.Port.String())
	}
	fix := fmt.Sprintf("Make the app answer %s with a 2xx within %ds", where, max(timeoutOf(pr), 1))
	if kind == "Liveness" {
		return fix + "; a failing liveness probe restarts the container, so if it is only slow to start, give it a startup probe or a longer initialDelaySeconds."
	}
	return fix + "; until it does, the pod gets no traffic."
}

func timeoutOf(p *corev1.Probe) int32 {
	if p == nil {
		return 1
	}
	return p.TimeoutSeconds
}

// containerOf reads the container an event is about (fieldPath spec.containers{name}).
func containerOf(e *corev1.Event) string {
	fp := e.InvolvedObject.FieldPath
	if i, j := strings.Index(fp, "{"), strings.LastIndex(fp, "}"); i >= 0 && j > i {
		return fp[i+1 : j]
	}
	return ""
}
