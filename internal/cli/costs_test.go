package cli_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/cli"
	"github.com/berth-platform/berth/internal/plane"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Costs through berth serve, from Berth's own model sampling a running pod every second: the
// service's line prices its billed hours at OpenCost's default prices, a budgeted environment
// has its month so far and a forecast, a bad window is refused naming the field, an outsider
// learns nothing.
func TestCostsEndpoint(t *testing.T) {
	p := ownPlane(t)
	addr, _, cancel, done := startServe(t, "--kubeconfig", p.Kubeconfig, "--service-tokens", "eve=eve-token-0123456789",
		"--platform-admins", "service:ci", "--cost-sample-every", "1s")
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	call := func(token, method, path, body string, into any) int {
		return apiCall(t, base, token, method, path, body, into)
	}
	const ci = "ci-token-0123456789"
	if s := call(ci, "POST", "/api/v1/teams", `{"name":"shop"}`, nil); s != 201 {
		t.Fatalf("team: %d", s)
	}
	if s := call(ci, "POST", "/api/v1/teams/shop/services", `{"name":"web","blueprint":"worker","image":"registry.example.com/shop/web","tag":"1.0.0","environments":["dev"]}`, nil); s != 202 {
		t.Fatalf("service: %d", s)
	}
	if s := call(ci, "PATCH", "/api/v1/teams/shop/environments/dev", `{"budget":{"monthly":250}}`, nil); s != 200 {
		t.Fatalf("budget: %d", s)
	}
	plane.Eventually(t, time.Minute, "namespace shop-dev", func() (bool, error) {
		_, err := p.Client.CoreV1().Namespaces().Get(t.Context(), "shop-dev", metav1.GetOptions{})
		return err == nil, err
	})
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-5f7d9c8b6-x2x9q", Namespace: "shop-dev",
		Labels: map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/managed-by": "berth"}},
		Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/shop/web:1.0.0", Resources: corev1.ResourceRequirements{Requests: res, Limits: res},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
	if _, err := p.Client.CoreV1().Pods("shop-dev").Create(t.Context(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	type line struct {
		Service, Environment, Source          string
		CoreHours, GibHours, CpuCost, RamCost float64
		Cost                                  float64
		Days                                  []struct{ Cost float64 }
	}
	var report struct {
		Team, Currency string
		Total          float64
		Lines          []line
		Budgets        []struct {
			Environment                    string
			Monthly, MonthToDate, Forecast float64
		}
	}
	plane.Eventually(t, 60*time.Second, "a few seconds of the pod in the team's costs", func() (bool, error) {
		if s := call(ci, "GET", "/api/v1/teams/shop/costs?window=today", "", &report); s != 200 {
			return false, fmt.Errorf("status %d", s)
		}
		return len(report.Lines) == 1 && report.Lines[0].CoreHours >= 3*0.5/3600, fmt.Errorf("%+v", report)
	})
	l := report.Lines[0]
	// 500m and 256 MiB for the same seconds: GiB-hours are half the core-hours; each priced at
	// OpenCost's defaults.
	if l.Service != "web" || l.Environment != "dev" || l.Source != "berth" || math.Abs(l.GibHours-l.CoreHours/2) > 1e-12 ||
		math.Abs(l.CpuCost-l.CoreHours*0.031611) > 1e-12 || math.Abs(l.RamCost-l.GibHours*0.004237) > 1e-12 ||
		math.Abs(l.Cost-l.CpuCost-l.RamCost) > 1e-12 || len(l.Days) != 1 || math.Abs(report.Total-l.Cost) > 1e-12 || report.Currency != "USD" {
		t.Fatalf("line: %+v", report)
	}
	if len(report.Budgets) != 1 || report.Budgets[0].Environment != "dev" || report.Budgets[0].Monthly != 250 || report.Budgets[0].MonthToDate <= 0 ||
		report.Budgets[0].Forecast < report.Budgets[0].MonthToDate {
		t.Fatalf("budgets: %+v", report.Budgets)
	}
	var one struct{ Lines []line }
	if s := call(ci, "GET", "/api/v1/teams/shop/services/web/costs?window=7d", "", &one); s != 200 || len(one.Lines) != 1 || one.Lines[0].CoreHours < l.CoreHours {
		t.Fatalf("the service's 7 days: %d %+v", s, one)
	}
	var problem struct{ Errors []struct{ Parameter string } }
	if s := call(ci, "GET", "/api/v1/teams/shop/costs?window=custom&start=2026-12-03T10:00:00Z", "", &problem); s != 400 || len(problem.Errors) != 1 || problem.Errors[0].Parameter != "start" {
		t.Fatalf("a custom window without its end: %d %+v", s, problem)
	}
	if s := call("eve-token-0123456789", "GET", "/api/v1/teams/shop/costs", "", nil); s != 404 {
		t.Fatalf("an outsider: %d", s)
	}
	// berth cost prints the same lines and the budget.
	tokenFile := filepath.Join(t.TempDir(), "ci")
	if err := os.WriteFile(tokenFile, []byte(ci+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := cli.Run(t.Context(), []string{"cost", "shop", "--window", "today", "--server", base, "--token-file", tokenFile}, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "shop, today (") || !regexp.MustCompile(`web\s+dev\s+0\.\d\d\s+0\.\d\d\s+\$0\.00\s+berth`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "budget dev: $250.00 a month;") || !strings.Contains(out.String(), "within budget") {
		t.Fatalf("berth cost: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if code := cli.Run(t.Context(), []string{"cost", "shop/web", "--window", "year", "--server", base, "--token-file", tokenFile}, &out, &errOut); code != 2 {
		t.Fatalf("a window berth cost does not know: exit %d", code)
	}
}
