package tenancy

import (
	"github.com/berth-platform/berth/internal/access"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
)

// Names of the objects Berth keeps in every team namespace.
const (
	QuotaName      = "berth-quota"
	LimitRangeName = "berth-limits"
)

// Subject is a user or group with a role in the team.
type Subject struct {
	Kind, Name string
	Role       access.Role
}

// NamespaceSpec is everything that decides a team namespace's objects.
type NamespaceSpec struct {
	Team, TeamID, Env, Namespace string
	Quota                        Quota
	PodSecurity                  string // privileged, baseline or restricted
	IngressNamespace             string
	Members                      []Subject
}

// Objects are the typed apply configurations of a team namespace, built (never templated)
// from the spec, so no input can add a field.
type Objects struct {
	Namespace       *corev1ac.NamespaceApplyConfiguration
	Quota           *corev1ac.ResourceQuotaApplyConfiguration
	LimitRange      *corev1ac.LimitRangeApplyConfiguration
	NetworkPolicies []*networkingv1ac.NetworkPolicyApplyConfiguration
	RoleBindings    []*rbacv1ac.RoleBindingApplyConfiguration
}

func (s NamespaceSpec) labels() map[string]string {
	return map[string]string{access.LabelManagedBy: access.ManagedBy, access.LabelTeam: s.Team, access.LabelTeamID: s.TeamID, access.LabelEnv: s.Env}
}

// Render builds the objects of a team namespace.
func Render(s NamespaceSpec) Objects {
	ns := s.Namespace
	nsLabels := s.labels()
	for _, mode := range []string{"enforce", "warn", "audit"} {
		nsLabels["pod-security.kubernetes.io/"+mode] = s.PodSecurity
		nsLabels["pod-security.kubernetes.io/"+mode+"-version"] = "latest"
	}
	o := Objects{
		Namespace: corev1ac.Namespace(ns).WithLabels(nsLabels),
		Quota:     corev1ac.ResourceQuota(QuotaName, ns).WithLabels(s.labels()).WithSpec(corev1ac.ResourceQuotaSpec().WithHard(s.Quota.Hard())),
		LimitRange: corev1ac.LimitRange(LimitRangeName, ns).WithLabels(s.labels()).WithSpec(corev1ac.LimitRangeSpec().WithLimits(
			corev1ac.LimitRangeItem().WithType(corev1.LimitTypeContainer).
				WithDefaultRequest(corev1.ResourceList{corev1.ResourceCPU: DefaultRequestCPU, corev1.ResourceMemory: DefaultRequestMemory}).
				WithDefault(corev1.ResourceList{corev1.ResourceCPU: DefaultLimitCPU, corev1.ResourceMemory: DefaultLimitMemory}),
		)),
	}
	o.NetworkPolicies = networkPolicies(s)
	for _, m := range s.Members {
		kind := "User"
		if m.Kind == "group" {
			kind = "Group"
		}
		o.RoleBindings = append(o.RoleBindings, rbacv1ac.RoleBinding(access.RoleBindingName(m.Kind, m.Name), ns).
			WithLabels(mergeLabels(s.labels(), map[string]string{access.LabelRole: string(m.Role)})).
			WithAnnotations(map[string]string{"berth.dev/subject": m.Kind + ":" + m.Name}).
			WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup("rbac.authorization.k8s.io").WithKind("ClusterRole").WithName(access.ClusterRoleName(m.Role))).
			WithSubjects(rbacv1ac.Subject().WithAPIGroup("rbac.authorization.k8s.io").WithKind(kind).WithName(m.Name)))
	}
	return o
}

func networkPolicies(s NamespaceSpec) []*networkingv1ac.NetworkPolicyApplyConfiguration {
	ns := s.Namespace
	np := func(name string) *networkingv1ac.NetworkPolicyApplyConfiguration {
		return networkingv1ac.NetworkPolicy(name, ns).WithLabels(s.labels())
	}
	all := metav1ac.LabelSelector()
	nsNamed := func(name string) *metav1ac.LabelSelectorApplyConfiguration {
		return metav1ac.LabelSelector().WithMatchLabels(map[string]string{"kubernetes.io/metadata.name": name})
	}
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns := intstr.FromInt32(53)
	return []*networkingv1ac.NetworkPolicyApplyConfiguration{
		np("berth-default-deny").WithSpec(networkingv1ac.NetworkPolicySpec().WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress)),
		np("berth-allow-same-namespace").WithSpec(networkingv1ac.NetworkPolicySpec().WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector()))).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().WithTo(networkingv1ac.NetworkPolicyPeer().WithPodSelector(metav1ac.LabelSelector())))),
		np("berth-allow-ingress-controller").WithSpec(networkingv1ac.NetworkPolicySpec().WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeIngress).
			WithIngress(networkingv1ac.NetworkPolicyIngressRule().WithFrom(networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(nsNamed(s.IngressNamespace))))),
		np("berth-allow-dns").WithSpec(networkingv1ac.NetworkPolicySpec().WithPodSelector(all).
			WithPolicyTypes(networkingv1.PolicyTypeEgress).
			WithEgress(networkingv1ac.NetworkPolicyEgressRule().
				WithTo(networkingv1ac.NetworkPolicyPeer().WithNamespaceSelector(nsNamed("kube-system")).
					WithPodSelector(metav1ac.LabelSelector().WithMatchLabels(map[string]string{"k8s-app": "kube-dns"}))).
				WithPorts(networkingv1ac.NetworkPolicyPort().WithProtocol(udp).WithPort(dns), networkingv1ac.NetworkPolicyPort().WithProtocol(tcp).WithPort(dns)))),
	}
}

// OwnsNamespace reports whether a namespace's labels say Berth made it for this team and
// environment. Namespaces from before the team-id label are recognised by team name.
func OwnsNamespace(labels map[string]string, teamID, team, env string) bool {
	if labels[access.LabelManagedBy] != access.ManagedBy || labels[access.LabelEnv] != env {
		return false
	}
	if id, ok := labels[access.LabelTeamID]; ok {
		return id == teamID
	}
	return labels[access.LabelTeam] == team
}

func mergeLabels(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
