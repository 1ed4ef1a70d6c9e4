package plane

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/berth-platform/berth/internal/kube"
)

// StopPart stops one component of the plane (kube-apiserver, argocd-application-controller,
// ...), for a fault test. It is started again by StartPart, or when the test ends.
func (p *Plane) StopPart(t testing.TB, name string) {
	t.Helper()
	if err := p.Stop(name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Start(name); err != nil {
			t.Error(err)
		}
	})
}

// StartPart starts a component StopPart stopped, as the plane first started it, and returns
// once it answers.
func (p *Plane) StartPart(t testing.TB, name string) {
	t.Helper()
	if err := p.Start(name); err != nil {
		t.Fatal(err)
	}
}

// Stop stops one component, from anywhere (a hook running in Berth's own goroutine, where a
// test may not fail): nothing starts it again unless StopPart stopped it once before.
func (p *Plane) Stop(name string) error { return p.part("stop-part", name) }

// Start starts a stopped component again and returns once it answers.
func (p *Plane) Start(name string) error { return p.part("start-part", name) }

func (p *Plane) part(cmd, name string) error {
	script, err := kube.PlaneScript()
	if err != nil {
		return err
	}
	if out, err := exec.Command(script, cmd, p.Dir, name).CombinedOutput(); err != nil {
		return fmt.Errorf("plane.sh %s %s: %w\n%s", cmd, name, err, out)
	}
	return nil
}
