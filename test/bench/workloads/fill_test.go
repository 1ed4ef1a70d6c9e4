package workloads_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/plane"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
)

// The shape of BENCHMARKS.md's plane: 100 kwok nodes, 500 namespaces of 4 Deployments with 5
// pods each (and the team's namespace beside them), every pod labelled as Berth labels what it
// manages, so Berth's informers hold all 10,000 of them, as they would in a real install.
const (
	nodes, fillNamespaces, deploymentsPerNS, podsPerDeployment = 100, 500, 4, 5
	fillPods                                                   = fillNamespaces * deploymentsPerNS * podsPerDeployment
)

// fill creates the plane's load. The pods are created bound to their nodes (kwok runs them):
// the scheduler and the ReplicaSet controller would take ten minutes for what is, for a
// read, the same watch cache. The Deployments are at zero replicas, so they and their
// ReplicaSets exist without owning those pods.
func fill(ctx context.Context, p *plane.Plane) error {
	cfg := rest.CopyConfig(p.Config)
	cfg.QPS, cfg.Burst = 1000, 2000
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	first, err := cs.CoreV1().Nodes().Get(ctx, "kwok-node-0", metav1.GetOptions{})
	if err != nil {
		return err
	}
	nodeNames := []string{first.Name}
	for i := 1; i < nodes; i++ {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("kwok-fill-%02d", i),
			Annotations: first.Annotations, Labels: map[string]string{"type": "kwok", "kubernetes.io/os": "linux"}},
			Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"),
				corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("250")}}}
		n.Labels["kubernetes.io/hostname"] = n.Name
		n.Status.Allocatable = n.Status.Capacity
		if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		nodeNames = append(nodeNames, n.Name)
	}
	jobs := make(chan func() error, 256)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := retry(ctx, job); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	pod := 0
	for n := range fillNamespaces {
		ns := fmt.Sprintf("fill-%03d", n)
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			close(jobs)
			return err
		}
		for d := range deploymentsPerNS {
			name := fmt.Sprintf("svc-%d", d)
			labels := map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/managed-by": "berth",
				"backstage.io/kubernetes-id": ns + "-" + name}
			spec := corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: "registry.example.com/fill/" + name + ":1.0.0",
				Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"),
					corev1.ResourceMemory: resource.MustParse("64Mi")}}}}}
			jobs <- func() error {
				_, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
					Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}},
						Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}}}, metav1.CreateOptions{})
				return err
			}
			for i := range podsPerDeployment {
				s := spec.DeepCopy()
				s.NodeName = nodeNames[pod%len(nodeNames)]
				pod++
				jobs <- func() error {
					_, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", name, i), Labels: labels}, Spec: *s}, metav1.CreateOptions{})
					return err
				}
			}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	return waitRunning(ctx, cs, "app.kubernetes.io/managed-by=berth", fillPods+20, 15*time.Minute)
}

// retry runs a create until it succeeds or has failed 20 times: a namespace's default
// ServiceAccount, which admission requires of its pods, appears a moment after the namespace.
func retry(ctx context.Context, create func() error) error {
	var err error
	for range 20 {
		if err = create(); err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return err
}

// waitRunning waits until at least want pods with the selector are Running, counted in pages
// so the check itself stays small.
func waitRunning(ctx context.Context, cs kubernetes.Interface, selector string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		running, cont := 0, ""
		for {
			list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: selector, FieldSelector: "status.phase=Running", Limit: 2000, Continue: cont})
			if err != nil {
				return err
			}
			running += len(list.Items)
			if cont = list.Continue; cont == "" {
				break
			}
		}
		if running >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d pods (%s) Running after %s", running, want, selector, timeout)
		}
		time.Sleep(5 * time.Second)
	}
}
