package diagnose

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/workloads"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
)

// Diagnose returns the findings of one service environment, errors first. Every finding holds
// now: what recovered (a pod that became ready, a refusal that stopped) is not reported.
func Diagnose(v workloads.View, now time.Time) []Finding {
	var out []Finding
	byPod := map[string][]*corev1.Event{}
	for _, e := range v.Events {
		if e.InvolvedObject.Kind == "Pod" {
			byPod[e.InvolvedObject.Name] = append(byPod[e.InvolvedObject.Name], e)
		}
	}
	for _, p := range v.Pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		out = append(out, pod(p, byPod[p.Name], now)...)
	}
	if d := v.Deployment; d != nil {
		out = append(out, deployment(d, v, now)...)
	}
	if v.HPA != nil {
		out = append(out, hpa(v.HPA)...)
	}
	return Sorted(out)
}

var quotaRefusal = regexp.MustCompile(`exceeded quota: ([^,]+), requested: ([^,]+(?:,[^,=]+=[^,]+)*), used: ([^,]+(?:,[^,=]+=[^,]+)*), limited: (.+)$`)

// deployment finds what keeps a Deployment from its replicas: refused pods (quota, Pod
// Security, admission webhooks), a passed progress deadline, or no pods at all.
func deployment(d *appsv1.Deployment, v workloads.View, now time.Time) []Finding {
	var out []Finding
	res := Resource{Kind: "Deployment", Name: d.Name}
	refused := false
	// The newest ReplicaSet's refusal is the current one (older ones are scaled away).
	if len(v.ReplicaSets) > 0 {
		rs := v.ReplicaSets[0]
		for _, c := range rs.Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && c.Status == corev1.ConditionTrue {
				refused = true
				out = append(out, refusal(Resource{Kind: "ReplicaSet", Name: rs.Name}, c.Message, Evidence{Source: "status", Field: "conditions[ReplicaFailure]",
					Value: "True " + c.Reason, Reason: c.Message, FirstSeen: c.LastTransitionTime.Time}, v.Events))
			}
		}
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			out = append(out, Finding{Code: CodeProgressDeadline, Severity: Error, Resource: res,
				Summary:        fmt.Sprintf("The rollout of revision %s stopped making progress: %s", d.Annotations["deployment.kubernetes.io/revision"], c.Message),
				Evidence:       []Evidence{{Source: "status", Field: "conditions[Progressing]", Value: "False ProgressDeadlineExceeded", Reason: c.Message, FirstSeen: c.LastTransitionTime.Time, LastSeen: c.LastUpdateTime.Time}},
				Recommendation: "The pods' findings above say why; once fixed, a new release (PATCH the service) rolls out again.", FirstSeen: c.LastTransitionTime.Time})
		}
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	if want > 0 && len(v.Pods) == 0 && !refused && now.Sub(d.CreationTimestamp.Time) > 30*time.Second {
		out = append(out, Finding{Code: CodeNoPods, Severity: Error, Resource: res,
			Summary:        fmt.Sprintf("The Deployment wants %d pods and has none.", want),
			Evidence:       []Evidence{{Source: "status", Field: "status.replicas", Value: fmt.Sprint(d.Status.Replicas)}},
			Recommendation: "Look at the Deployment's and its ReplicaSets' events (kubectl describe) for what refuses the pods."})
	}
	return out
}

// refusal explains a ReplicaSet's FailedCreate: over quota (which, requested, used, hard),
// Pod Security, or an admission webhook (Kyverno) denying the pods.
func refusal(res Resource, msg string, ev Evidence, events []*corev1.Event) Finding {
	evidence := []Evidence{ev}
	for _, e := range events {
		if e.InvolvedObject.Kind == "ReplicaSet" && e.InvolvedObject.Name == res.Name && e.Reason == "FailedCreate" {
			evidence = append(evidence, Evidence{Source: "event", Field: "FailedCreate", Value: e.Reason, Reason: e.Message,
				FirstSeen: workloads.FirstSeen(e), LastSeen: workloads.LastSeen(e), Count: workloads.Count(e)})
			break // the newest
		}
	}
	f := Finding{Resource: res, Severity: Error, Evidence: evidence, FirstSeen: ev.FirstSeen, LastSeen: ev.LastSeen}
	switch m := quotaRefusal.FindStringSubmatch(msg); {
	case m != nil:
		f.Code = CodeQuotaExceeded
		f.Summary = fmt.Sprintf("Kubernetes refuses new pods: quota %s is full (requested %s; used %s; limit %s).", m[1], m[2], m[3], m[4])
		f.Recommendation = "Lower the replicas or the requests, remove another service from the environment, or ask a platform admin for a larger tier or budget."
	case strings.Contains(msg, "violates PodSecurity"):
		f.Code = CodePodSecurity
		f.Summary = "Kubernetes refuses the pods: they break the namespace's Pod Security level. " + msg
		f.Recommendation = "Run as non-root, drop all capabilities, no privilege escalation, a RuntimeDefault seccomp profile: the blueprint's defaults do."
	case strings.Contains(msg, "admission webhook") && strings.Contains(msg, "denied the request"):
		f.Code = CodeAdmissionDenied
		f.Summary = "A policy denies the pods: " + msg
		f.Recommendation = "The policy's message says what to change; GET the team's policies for the fix, or ask a platform admin for an exception."
	default:
		f.Code = CodePodCreateFailed
		f.Summary = "Kubernetes refuses to create the pods: " + msg
		f.Recommendation = "Read the message; the ReplicaSet retries on its own once the cause is gone."
	}
	return f
}

// hpa finds an autoscaler at its ceiling or blind to its metrics.
func hpa(h *autoscalingv2.HorizontalPodAutoscaler) []Finding {
	var out []Finding
	res := Resource{Kind: "HorizontalPodAutoscaler", Name: h.Name}
	for _, c := range h.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status == corev1.ConditionFalse && strings.HasPrefix(c.Reason, "FailedGet") {
			out = append(out, Finding{Code: CodeHPANoMetrics, Severity: Warning, Resource: res,
				Summary:        "The autoscaler cannot read its metrics, so it does not scale: " + c.Message,
				Evidence:       []Evidence{{Source: "status", Field: "conditions[ScalingActive]", Value: "False " + c.Reason, Reason: c.Message, FirstSeen: c.LastTransitionTime.Time}},
				Recommendation: "The cluster needs metrics-server (metrics.k8s.io) for CPU autoscaling; ask the platform team."})
		}
	}
	if h.Spec.MaxReplicas > 0 && h.Status.CurrentReplicas >= h.Spec.MaxReplicas && h.Status.DesiredReplicas >= h.Spec.MaxReplicas {
		out = append(out, Finding{Code: CodeHPAAtMax, Severity: Warning, Resource: res,
			Summary:        fmt.Sprintf("The autoscaler runs the maximum of %d pods and would add more.", h.Spec.MaxReplicas),
			Evidence:       []Evidence{{Source: "status", Field: "status.currentReplicas", Value: fmt.Sprint(h.Status.CurrentReplicas)}},
			Recommendation: fmt.Sprintf("Raise maxReplicas above %d (the blueprint's maxReplicas parameter) if the quota has room, or make each pod do more.", h.Spec.MaxReplicas)})
	}
	return out
}
