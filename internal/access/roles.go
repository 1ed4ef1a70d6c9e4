package access

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"
)

// Labels on every object Berth manages in a cluster.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "berth"
	LabelTeam      = "berth.dev/team"
	// LabelTeamID is the team's stable id: ownership, where the name could be a later team's.
	LabelTeamID = "berth.dev/team-id"
	LabelEnv    = "berth.dev/environment"
	LabelRole   = "berth.dev/role"
)

// ClusterRoleName is the ClusterRole that a team role binds to in each team namespace.
func ClusterRoleName(r Role) string { return "berth-" + string(r) }

func rule(groups, resources, verbs []string) *rbacv1ac.PolicyRuleApplyConfiguration {
	return rbacv1ac.PolicyRule().WithAPIGroups(groups...).WithResources(resources...).WithVerbs(verbs...)
}

var (
	read = []string{"get", "list", "watch"}
	all  = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	// manage is every standard verb: a wildcard would also grant bind, escalate and impersonate.
	manage = append(slices.Clone(all), "deletecollection")
)

// Rules are the permissions of each role inside a team namespace.
//
// viewer reads pods, logs and metrics, and the workloads around them.
// editor is the guide's Role in effect: workloads, config maps, HPAs and services fully;
// secrets create and delete but never get or list; ingresses without delete; pods/log and
// pods/exec; no RBAC and no quota.
// admin is everything in the namespace, secrets and RBAC included, except what would let a
// team admin out of the boundary the platform drew: never bind, escalate or impersonate (so
// Kubernetes' escalation check keeps them to the permissions they hold: no cluster-admin in
// their namespace), and never write the quota, limits or network policies Berth owns, nor
// Kyverno PolicyExceptions (they may read the first three).
func Rules(r Role) []*rbacv1ac.PolicyRuleApplyConfiguration {
	viewer := []*rbacv1ac.PolicyRuleApplyConfiguration{
		rule([]string{""}, []string{"pods", "pods/log", "services", "endpoints", "events", "configmaps", "resourcequotas", "limitranges"}, read),
		rule([]string{"apps"}, []string{"deployments", "replicasets", "statefulsets"}, read),
		rule([]string{"batch"}, []string{"jobs", "cronjobs"}, read),
		rule([]string{"autoscaling"}, []string{"horizontalpodautoscalers"}, read),
		rule([]string{"networking.k8s.io"}, []string{"ingresses"}, read),
		rule([]string{"metrics.k8s.io"}, []string{"pods"}, read),
	}
	switch r {
	case Viewer:
		return viewer
	case Editor:
		return []*rbacv1ac.PolicyRuleApplyConfiguration{
			rule([]string{"", "apps", "batch"}, []string{"pods", "deployments", "statefulsets", "jobs", "cronjobs"}, all),
			rule([]string{"apps"}, []string{"replicasets", "deployments/scale", "statefulsets/scale"}, all),
			rule([]string{""}, []string{"configmaps"}, []string{"*"}),
			rule([]string{""}, []string{"secrets"}, []string{"create", "delete"}),
			rule([]string{"autoscaling"}, []string{"horizontalpodautoscalers"}, []string{"*"}),
			rule([]string{""}, []string{"services"}, []string{"*"}),
			rule([]string{"networking.k8s.io"}, []string{"ingresses"}, []string{"get", "list", "watch", "create", "update"}),
			rule([]string{""}, []string{"pods/log", "pods/exec"}, []string{"get", "create"}),
			rule([]string{""}, []string{"endpoints", "events", "resourcequotas", "limitranges"}, read),
			rule([]string{"metrics.k8s.io"}, []string{"pods"}, read),
		}
	case Admin:
		// Kubernetes RBAC has no deny: groups and resources are listed one by one, with the
		// standard verbs only, so that nothing grants bind, escalate or impersonate and the
		// platform's objects stay read-only.
		return []*rbacv1ac.PolicyRuleApplyConfiguration{
			rule([]string{""}, []string{"pods", "pods/log", "pods/exec", "pods/attach", "pods/portforward", "pods/eviction", "services",
				"endpoints", "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims", "events", "replicationcontrollers"}, manage),
			rule([]string{""}, []string{"resourcequotas", "limitranges"}, read),
			rule([]string{"apps", "batch", "autoscaling", "policy", "discovery.k8s.io", "coordination.k8s.io"}, []string{"*"}, manage),
			rule([]string{"networking.k8s.io"}, []string{"ingresses"}, manage),
			rule([]string{"networking.k8s.io"}, []string{"networkpolicies"}, read),
			rule([]string{"rbac.authorization.k8s.io"}, []string{"roles", "rolebindings"}, manage),
			rule([]string{"metrics.k8s.io"}, []string{"pods"}, read),
		}
	}
	return nil
}

// ClusterRoles are the three ClusterRoles Berth keeps in every cluster.
func ClusterRoles() []*rbacv1ac.ClusterRoleApplyConfiguration {
	var out []*rbacv1ac.ClusterRoleApplyConfiguration
	for _, r := range []Role{Viewer, Editor, Admin} {
		out = append(out, rbacv1ac.ClusterRole(ClusterRoleName(r)).
			WithLabels(map[string]string{LabelManagedBy: ManagedBy, LabelRole: string(r)}).
			WithRules(Rules(r)...))
	}
	return out
}

// RoleBindingName names the binding of one subject's role in a namespace. Subject names
// (user:default/jane) are not valid object names, so a hash stands for them.
func RoleBindingName(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "/" + name))
	return "berth-" + kind + "-" + hex.EncodeToString(sum[:8])
}
