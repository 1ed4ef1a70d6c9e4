package provision_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/tenancy"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// A change the quota cannot hold is refused at the request, with the quota, what is used,
// what the change needs and the remedy, and nothing is stored; a change that frees room
// passes. On the plane: two 10-replica workers fill a small tier's 4 CPU of limits exactly.
func TestQuotaIsCheckedBeforeAnythingIsStored(t *testing.T) {
	f := newFixture(t, "quota-{team}-{env}")
	ctx := t.Context()
	kim := person("user:default/kim")
	if _, err := f.ten.CreateTeam(ctx, kim, tenancy.NewTeam{Name: "batch"}); err != nil {
		t.Fatal(err)
	}
	worker := func(name string, replicas int) provision.NewService {
		return provision.NewService{Name: name, Blueprint: "worker", Image: "registry.example.com/batch/" + name, Tag: "1.0.0",
			Parameters: map[string]any{"replicas": replicas}, Environments: []string{"dev"}}
	}
	f.created(t, kim, "batch", worker("ingest", 10))
	f.created(t, kim, "batch", worker("export", 10))
	env, err := f.ten.GetEnvironment(ctx, kim, "batch", "dev")
	if err != nil {
		t.Fatal(err)
	}
	plane.Eventually(t, time.Minute, "quota reports the 20 pods", func() (bool, error) {
		v, err := f.ten.Quota(env)
		return err == nil && v.Reported && v.Used["limits.cpu"] == "4" && v.Used["pods"] == "20", fmt.Errorf("%+v %v", v.Used, err)
	})

	refused := func(what string, err error, needs string) {
		t.Helper()
		var inv *errs.InvalidError
		if !errors.As(err, &inv) || len(inv.Fields) != 1 || inv.Fields[0].Pointer != "/parameters/replicas" {
			t.Fatalf("%s: want a 422 naming /parameters/replicas, got %v", what, err)
		}
		d := inv.Fields[0].Detail
		for _, want := range []string{"environment dev", "quota berth-quota in " + f.ns("batch", "dev"), "limits.cpu 4, 4 used", "needs " + needs + " more", "medium tier (limits.cpu 16"} {
			if !strings.Contains(d, want) {
				t.Fatalf("%s: the detail %q does not say %q", what, d, want)
			}
		}
	}
	_, err = f.prov.Create(ctx, kim, "batch", worker("report", 1))
	refused("a third service", err, "200m")
	_, _, err = f.prov.DryRun(ctx, kim, "batch", worker("report", 1))
	refused("its dry run", err, "200m")
	if _, err := f.prov.Status(ctx, kim, "batch", "report"); !errors.Is(err, errs.ErrNotFound) {
		t.Fatalf("the refused service was stored: %v", err)
	}
	// A new tag needs one surge pod beside the ten while it rolls out.
	_, err = f.prov.Update(ctx, kim, "batch", "ingest", provision.Release{Tag: ptr.To("1.0.1")})
	refused("a rollout of a full environment", err, "200m")
	// Halving the replicas frees room, and the rollout of the rest fits.
	run, err := f.prov.Update(ctx, kim, "batch", "ingest", provision.Release{Tag: ptr.To("1.0.1"), Parameters: map[string]any{"replicas": 5}})
	if err != nil {
		t.Fatalf("a change that frees room: %v", err)
	}
	if run = waitRun(t, f, kim, run.ID); run.Status != provision.StatusSucceeded {
		t.Fatalf("shrinking: %s", run.Error)
	}
	st, err := f.prov.Status(ctx, kim, "batch", "ingest")
	if err != nil || st.Service.Tag != "1.0.1" {
		t.Fatalf("ingest after the refused update: %+v %v", st.Service, err)
	}
}

// The built-in blueprints' defaults and the tiers agree: limits are at most the tiers' twice
// the requests, so requests and limits fill together, and the small tier holds the number of
// default services the README promises (10 two-replica Node.js APIs, limited by pods).
func TestBuiltinBlueprintsFitTheTiers(t *testing.T) {
	catalog, err := blueprint.Load("")
	if err != nil {
		t.Fatal(err)
	}
	small := tenancy.Tiers["small"].Quota
	for _, bp := range catalog.List() {
		values, err := blueprint.Resolve(bp, nil)
		if err != nil {
			t.Fatal(err)
		}
		fp := blueprint.FootprintOf(bp, "t", "s", values)
		for _, pair := range [][2]corev1.ResourceName{{corev1.ResourceRequestsCPU, corev1.ResourceLimitsCPU}, {corev1.ResourceRequestsMemory, corev1.ResourceLimitsMemory}} {
			req, lim := fp.Pod[pair[0]], fp.Pod[pair[1]]
			if r := float64(lim.MilliValue()) / float64(req.MilliValue()); r > 2 {
				t.Errorf("%s: %s is %.1f times %s; the tiers allow 2", bp.Metadata.Name, pair[1], r, pair[0])
			}
		}
		if bp.Metadata.Name != "nodejs-api" {
			continue
		}
		fits := small.Pods / fp.Replicas
		for _, c := range []struct{ hard, per resource.Quantity }{{small.RequestsCPU, fp.Pod[corev1.ResourceRequestsCPU]},
			{small.LimitsCPU, fp.Pod[corev1.ResourceLimitsCPU]}, {small.RequestsMemory, fp.Pod[corev1.ResourceRequestsMemory]}, {small.LimitsMemory, fp.Pod[corev1.ResourceLimitsMemory]}} {
			fits = min(fits, c.hard.MilliValue()/(c.per.MilliValue()*fp.Replicas))
		}
		if fits != 10 {
			t.Errorf("the small tier holds %d default Node.js APIs; the README says 10", fits)
		}
	}
}
