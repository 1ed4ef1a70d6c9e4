package plane

import (
	"os/exec"
	"testing"

	"github.com/berth-platform/berth/internal/kube"
)

// StopPart stops one component of the plane (kube-apiserver, argocd-application-controller,
// ...), for a fault test. It is started again by StartPart, or when the test ends.
func (p *Plane) StopPart(t testing.TB, name string) {
	t.Helper()
	p.part(t, "stop-part", name)
	t.Cleanup(func() { p.part(t, "start-part", name) })
}

// StartPart starts a component StopPart stopped, as the plane first started it, and returns
// once it answers.
func (p *Plane) StartPart(t testing.TB, name string) {
	t.Helper()
	p.part(t, "start-part", name)
}

func (p *Plane) part(t testing.TB, cmd, name string) {
	t.Helper()
	script, err := kube.PlaneScript()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(script, cmd, p.Dir, name).CombinedOutput(); err != nil {
		t.Fatalf("plane.sh %s %s: %v\n%s", cmd, name, err, out)
	}
}
