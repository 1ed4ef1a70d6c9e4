package blueprint

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/berth-platform/berth/internal/errs"
)

// Environment is a target of the service: its name, namespace and, for a public service,
// its host (see HostNamer).
type Environment struct {
	Name, Namespace, Host string
}

// Input is what a service is rendered from.
type Input struct {
	Team, Service string
	// Image is the container image without tag; Tag is the first tag deployed.
	Image, Tag string
	// Repo is the application's source repository (for the CI pipeline and the catalog).
	Repo string
	// GitOpsRepo is where the CI pipeline bumps the image tag.
	GitOpsRepo   string
	Environments []Environment
	// IngressNamespace is the ingress controller's namespace, let in by the service's NetworkPolicy.
	IngressNamespace string
	// DatabaseClaim renders a requested database as a Crossplane claim that Argo CD syncs in
	// every environment (Crossplane then writes the Secret). Without it, the platform's
	// database provider makes the database and Berth writes the Secret: one owner either way.
	DatabaseClaim bool
	Values        Values
	// TLSIssuer and TLSSecret are the platform's certificate settings (see HostNamer).
	TLSIssuer, TLSSecret string
}

// ServiceDir is the folder of a service in the GitOps repository: under its team, so that
// services of the same name in two teams never share a file, and every path a team's
// Applications follow sits under teams/<team>/.
func ServiceDir(team, service string) string { return "teams/" + team + "/services/" + service + "/" }

// File is one rendered file.
type File struct {
	Path    string
	Content []byte
}

// Rendered is a service's files: GitOps are committed to the GitOps repository, App are
// offered to the application repository (Dockerfile, CI pipeline).
type Rendered struct {
	GitOps []File
	App    []File
	// DatabaseSecret names the Secret the Deployment reads DATABASE_URL from, "" without one.
	DatabaseSecret string
}

// Footprint is what a service exposes and claims, known from its values alone (the catalog
// needs it without rendering).
type Footprint struct {
	// Public says the service has an Ingress; CustomHost is the developer's host for the
	// production environment ("" for the pattern's). HostNamer names the hosts.
	Public     bool
	CustomHost string
	// DatabaseSecret names the Secret of its database, "" without one.
	DatabaseSecret string
	// Pod is what one pod requests and is limited to (quota keys: requests.cpu, limits.memory,
	// pods, ...); Replicas run at rest, and the autoscaler may grow them to MaxReplicas.
	// ReplicasParameter is the parameter that decides Replicas ("" when none does).
	Pod                   map[corev1.ResourceName]resource.Quantity
	Replicas, MaxReplicas int64
	ReplicasParameter     string
}

// Surge is the pods a rollout adds beside the old ones (the Deployment's maxSurge).
const Surge = 1

// FootprintOf derives a service's footprint. Values must come from Resolve.
func FootprintOf(bp *Blueprint, team, service string, v Values) Footprint {
	var f Footprint
	s := bp.Spec
	w := s.Workload
	f.Pod = map[corev1.ResourceName]resource.Quantity{corev1.ResourcePods: *resource.NewQuantity(1, resource.DecimalSI)}
	for name, q := range map[corev1.ResourceName]string{corev1.ResourceRequestsCPU: w.CPURequest, corev1.ResourceRequestsMemory: w.MemoryRequest,
		corev1.ResourceLimitsCPU: w.CPULimit, corev1.ResourceLimitsMemory: w.MemoryLimit} {
		if qq, err := resource.ParseQuantity(q); err == nil {
			f.Pod[name] = qq
		}
	}
	f.ReplicasParameter, f.Replicas = w.ReplicasParameter, v.num(w.ReplicasParameter)
	f.MaxReplicas = f.Replicas
	if s.Produces.Autoscaling && s.Produces.MaxReplicasParameter != "" {
		f.MaxReplicas = max(f.Replicas, v.num(s.Produces.MaxReplicasParameter))
	}
	if s.Produces.PublicParameter != "" && v.flag(s.Produces.PublicParameter) {
		f.Public, f.CustomHost = true, v.str("host")
	}
	if s.Infrastructure.DatabaseParameter != "" && v.flag(s.Infrastructure.DatabaseParameter) {
		f.DatabaseSecret = service + "-db"
	}
	return f
}

var (
	serviceName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	imageRef    = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	imageTag    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// CheckInput validates what is not a blueprint parameter.
func CheckInput(in Input) error {
	err := CheckRelease(in.Service, in.Image, in.Tag)
	if len(in.Environments) == 0 {
		inv, _ := err.(*errs.InvalidError)
		if inv == nil {
			inv = &errs.InvalidError{}
		}
		inv.Fields = append(inv.Fields, errs.Field{Pointer: "/environments", Detail: "at least one environment"})
		return inv
	}
	return err
}

// CheckRelease validates a service's name, image and tag.
func CheckRelease(service, image, tag string) error {
	inv := &errs.InvalidError{}
	add := func(ptr, detail string) { inv.Fields = append(inv.Fields, errs.Field{Pointer: ptr, Detail: detail}) }
	if !serviceName.MatchString(service) || len(service) > 40 {
		add("/name", "must be a DNS label of at most 40 characters")
	}
	if !imageRef.MatchString(image) || len(image) > 200 {
		add("/image", "must be an image reference without tag or digest, such as registry.example.com/team/app")
	}
	// Whether latest is acceptable is a policy's call (disallow-latest-tag), not the format's.
	if !imageTag.MatchString(tag) {
		add("/tag", "must be an image tag: letters, digits, _ . - (up to 128)")
	}
	if len(inv.Fields) > 0 {
		return inv
	}
	return nil
}

// KubernetesIDLabel is the label (and catalog annotation) of Backstage's Kubernetes plugin.
const KubernetesIDLabel = "backstage.io/kubernetes-id"

// KubernetesID identifies a service's workloads across namespaces: team and service, since
// service names are unique within a team only.
func KubernetesID(team, service string) string { return team + "-" + service }

// Render builds every file of a service. Values must come from Resolve.
func Render(bp *Blueprint, in Input) (Rendered, error) {
	if err := CheckInput(in); err != nil {
		return Rendered{}, err
	}
	s, v := bp.Spec, in.Values
	labels := map[string]string{
		"app.kubernetes.io/name": in.Service, "app.kubernetes.io/part-of": in.Team, "app.kubernetes.io/managed-by": "berth",
		"berth.dev/team": in.Team, "berth.dev/service": in.Service, "berth.dev/blueprint": bp.Metadata.Name,
		// Backstage's Kubernetes plugin finds a Component's workloads by this label.
		KubernetesIDLabel: KubernetesID(in.Team, in.Service),
	}
	selector := map[string]string{"app.kubernetes.io/name": in.Service}
	meta := func(kind, apiVersion string) (metav1.TypeMeta, metav1.ObjectMeta) {
		return metav1.TypeMeta{Kind: kind, APIVersion: apiVersion}, metav1.ObjectMeta{Name: in.Service, Labels: labels}
	}
	var out Rendered
	base := ServiceDir(in.Team, in.Service) + "base/"
	var resources []string
	add := func(name string, obj any) error {
		b, err := manifest(obj)
		if err != nil {
			return err
		}
		out.GitOps = append(out.GitOps, File{Path: base + name, Content: b})
		resources = append(resources, name)
		return nil
	}

	replicas := int32(v.num(s.Workload.ReplicasParameter))
	fp := FootprintOf(bp, in.Team, in.Service, v)
	out.DatabaseSecret = fp.DatabaseSecret

	tm, om := meta("ServiceAccount", "v1")
	if err := add("serviceaccount.yaml", &corev1.ServiceAccount{TypeMeta: tm, ObjectMeta: om, AutomountServiceAccountToken: ptr.To(false)}); err != nil {
		return out, err
	}
	tm, om = meta("Deployment", "apps/v1")
	if err := add("deployment.yaml", &appsv1.Deployment{TypeMeta: tm, ObjectMeta: om, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: selector},
		Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
			MaxUnavailable: ptr.To(intstr.FromInt32(0)), MaxSurge: ptr.To(intstr.FromInt32(1))}},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(bp, in, out.DatabaseSecret)},
	}}); err != nil {
		return out, err
	}
	if s.Produces.Service {
		tm, om = meta("Service", "v1")
		if err := add("service.yaml", &corev1.Service{TypeMeta: tm, ObjectMeta: om, Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, Selector: selector,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		}}); err != nil {
			return out, err
		}
	}
	if s.Produces.Autoscaling {
		tm, om = meta("HorizontalPodAutoscaler", "autoscaling/v2")
		if err := add("hpa.yaml", &autoscalingv2.HorizontalPodAutoscaler{TypeMeta: tm, ObjectMeta: om, Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: in.Service},
			MinReplicas:    ptr.To(replicas), MaxReplicas: int32(v.num(s.Produces.MaxReplicasParameter)),
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(70))}}}},
		}}); err != nil {
			return out, err
		}
	}
	if s.Produces.DisruptionBudget {
		tm, om = meta("PodDisruptionBudget", "policy/v1")
		if err := add("pdb.yaml", &policyv1.PodDisruptionBudget{TypeMeta: tm, ObjectMeta: om, Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)), Selector: &metav1.LabelSelector{MatchLabels: selector},
		}}); err != nil {
			return out, err
		}
	}
	if s.Produces.Service {
		tm, om = meta("NetworkPolicy", "networking.k8s.io/v1")
		port := intstr.FromString("http")
		if err := add("networkpolicy.yaml", &networkingv1.NetworkPolicy{TypeMeta: tm, ObjectMeta: om, Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector}, PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port, Protocol: ptr.To(corev1.ProtocolTCP)}},
				From: []networkingv1.NetworkPolicyPeer{
					{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": in.IngressNamespace}}},
					{PodSelector: &metav1.LabelSelector{}},
				},
			}},
		}}); err != nil {
			return out, err
		}
	}
	if fp.Public {
		for _, e := range in.Environments {
			if e.Host == "" {
				return out, fmt.Errorf("environment %s of public service %s has no host", e.Name, in.Service)
			}
		}
	}
	if fp.DatabaseSecret != "" && in.DatabaseClaim {
		claim, err := databaseClaim(in, base+"database.yaml")
		if err != nil {
			return out, err
		}
		out.GitOps = append(out.GitOps, claim)
		resources = append(resources, "database.yaml")
	}
	if err := kustomizations(&out, in, resources, fp.Public, labels); err != nil {
		return out, err
	}
	app, err := appFiles(bp, in)
	if err != nil {
		return out, err
	}
	out.App = app
	sort.Slice(out.GitOps, func(i, j int) bool { return out.GitOps[i].Path < out.GitOps[j].Path })
	return out, nil
}

// ingress is a public service's Ingress in one environment, with that environment's host.
func ingress(in Input, e Environment, labels map[string]string) *networkingv1.Ingress {
	secret := in.Service + "-tls"
	if in.TLSSecret != "" {
		secret = in.TLSSecret
	}
	ing := &networkingv1.Ingress{TypeMeta: metav1.TypeMeta{Kind: "Ingress", APIVersion: "networking.k8s.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Service, Labels: labels},
		Spec: networkingv1.IngressSpec{
			TLS: []networkingv1.IngressTLS{{Hosts: []string{e.Host}, SecretName: secret}},
			Rules: []networkingv1.IngressRule{{Host: e.Host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: ptr.To(networkingv1.PathTypePrefix), Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: in.Service, Port: networkingv1.ServiceBackendPort{Name: "http"}}}}},
			}}}},
		}}
	if in.TLSIssuer != "" {
		ing.Annotations = map[string]string{"cert-manager.io/cluster-issuer": in.TLSIssuer}
	}
	return ing
}

func podSpec(bp *Blueprint, in Input, dbSecret string) corev1.PodSpec {
	w := bp.Spec.Workload
	health := intstr.FromInt32(w.HealthPort)
	probe := func(path string, delay int32) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: health}},
			InitialDelaySeconds: delay, PeriodSeconds: 10, TimeoutSeconds: 2, FailureThreshold: 3}
	}
	c := corev1.Container{
		Name: in.Service, Image: in.Image + ":" + in.Tag, ImagePullPolicy: corev1.PullIfNotPresent,
		Env: []corev1.EnvVar{{Name: "PORT", Value: fmt.Sprint(max(w.Port, w.HealthPort))}, {Name: "HEALTH_PORT", Value: fmt.Sprint(w.HealthPort)}},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(w.CPURequest), corev1.ResourceMemory: resource.MustParse(w.MemoryRequest)},
			Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(w.CPULimit), corev1.ResourceMemory: resource.MustParse(w.MemoryLimit)},
		},
		LivenessProbe: probe(w.LivenessPath, 10), ReadinessProbe: probe(w.ReadinessPath, 2),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(int64(10001)), AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
	if w.Port > 0 {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "http", ContainerPort: w.Port, Protocol: corev1.ProtocolTCP})
	}
	if w.HealthPort != w.Port {
		c.Ports = append(c.Ports, corev1.ContainerPort{Name: "health", ContainerPort: w.HealthPort, Protocol: corev1.ProtocolTCP})
	}
	if dbSecret != "" {
		c.Env = append(c.Env, corev1.EnvVar{Name: "DATABASE_URL", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: dbSecret}, Key: "url"}}})
	}
	return corev1.PodSpec{
		ServiceAccountName: in.Service, AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers:      []corev1.Container{c},
		Volumes:         []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr.To(resource.MustParse("64Mi"))}}}},
	}
}

// manifest serialises a typed object for Git: without status, which belongs to the cluster.
func manifest(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(m)
}
