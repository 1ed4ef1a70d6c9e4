package policy_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{Kyverno: true}) }

// teams lets every team exist (the tenancy service is tested on its own).
type teams struct{}

func (teams) Authorize(_ context.Context, _ access.Principal, team string, _ access.Role) (store.Team, error) {
	return store.Team{Name: team}, nil
}

// Toggles change what the plane's real Kyverno does: enforce denies at admission, a team
// override to audit admits there and reports, off does neither; drift is repaired.
func TestTogglesDriveKyverno(t *testing.T) {
	p := plane.Get(t)
	var b [3]byte
	_, _ = rand.Read(b[:])
	strict, lax := fmt.Sprintf("s%x", b), fmt.Sprintf("l%x", b)
	for _, team := range []string{strict, lax} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: team + "-dev", Labels: map[string]string{"berth.dev/team": team}}}
		if _, err := p.Client.CoreV1().Namespaces().Create(t.Context(), ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = p.Client.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{})
		})
	}
	svc := policy.NewService(policy.MustLoad(), storetest.Open(t, "sqlite"), teams{}, nil)
	ap := policy.NewApplier(p.Dynamic, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() {
		_ = p.Dynamic.Resource(policy.GVR).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=berth"})
	})
	admin := access.Principal{Identity: auth.Identity{Subject: "user:default/root"}, PlatformAdmin: true}
	// The library's defaults enforce disallow-latest-tag everywhere; lax audits it instead.
	if err := svc.Set(t.Context(), admin, lax, "disallow-latest-tag", policy.Setting{Mode: policy.ModeAudit}); err != nil {
		t.Fatal(err)
	}
	// Kyverno's own webhook checks policies; right after the plane starts it may not answer yet.
	plane.Eventually(t, 60*time.Second, "policies applied", func() (bool, error) {
		err := ap.Apply(t.Context(), svc)
		return err == nil, err
	})
	p.WaitPolicyReady(t, "berth-disallow-latest-tag")
	p.WaitPolicyReady(t, "berth-disallow-latest-tag-"+lax)

	create := func(team, name, image string) error {
		d := readObject(t, "testdata/disallow-latest-tag/pass.yaml")
		d.SetNamespace(team + "-dev")
		d.SetName(name)
		_ = unstructured.SetNestedField(d.Object, team, "metadata", "labels", "berth.dev/team")
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		containers[0].(map[string]any)["image"] = image
		_ = unstructured.SetNestedSlice(d.Object, containers, "spec", "template", "spec", "containers")
		_, err := p.Dynamic.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}).Namespace(team+"-dev").Create(t.Context(), d, metav1.CreateOptions{})
		return err
	}
	var err error
	plane.Eventually(t, 30*time.Second, "denied in the strict team", func() (bool, error) {
		err = create(strict, "api", "registry.example.com/x/api:latest")
		return err != nil && strings.Contains(err.Error(), "images must be pinned to a tag other than latest"), err
	})
	if err := create(strict, "pinned", "registry.example.com/x/api:1.0.0"); err != nil {
		t.Fatalf("a pinned image was denied: %v", err)
	}
	plane.Eventually(t, 30*time.Second, "admitted in the lax team", func() (bool, error) {
		err := create(lax, "api", "registry.example.com/x/api:latest")
		return err == nil, err
	})
	p.WaitPolicyReportFailure(t, lax+"-dev", "api", "berth-disallow-latest-tag-"+lax)

	// Drift: a hand-made change to a Berth policy is put back by the next apply.
	obj, err := p.Dynamic.Resource(policy.GVR).Get(t.Context(), "berth-disallow-latest-tag", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = unstructured.SetNestedStringSlice(obj.Object, []string{"Audit"}, "spec", "validationActions")
	if _, err := p.Dynamic.Resource(policy.GVR).Update(t.Context(), obj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ap.Apply(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	obj, _ = p.Dynamic.Resource(policy.GVR).Get(t.Context(), "berth-disallow-latest-tag", metav1.GetOptions{})
	if got, _, _ := unstructured.NestedStringSlice(obj.Object, "spec", "validationActions"); len(got) != 1 || got[0] != "Deny" {
		t.Fatalf("drift not repaired: %v", got)
	}

	// Off for everyone: no Kyverno object, and the strict team admits latest too.
	if err := svc.Set(t.Context(), admin, "", "disallow-latest-tag", policy.Setting{Mode: policy.ModeOff}); err != nil {
		t.Fatal(err)
	}
	if err := svc.Set(t.Context(), admin, lax, "disallow-latest-tag", policy.Setting{Mode: policy.ModeOff}); err != nil {
		t.Fatal(err)
	}
	if err := ap.Apply(t.Context(), svc); err != nil {
		t.Fatal(err)
	}
	left, err := p.Dynamic.Resource(policy.GVR).List(t.Context(), metav1.ListOptions{LabelSelector: "berth.dev/policy=disallow-latest-tag"})
	if err != nil || len(left.Items) != 0 {
		t.Fatalf("objects left when off: %v %v", left, err)
	}
	plane.Eventually(t, 30*time.Second, "admitted when off", func() (bool, error) {
		err := create(strict, "later", "registry.example.com/x/api:latest")
		return err == nil, err
	})
}
