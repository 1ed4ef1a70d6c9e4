// Package plane gives integration tests a real Kubernetes control plane: the local plane of
// hack/kube/plane.sh (etcd, kube-apiserver, controller-manager, scheduler, kwok, and Argo CD
// and Kyverno when asked), started once per test process on free loopback ports, or an
// existing one named by BERTH_TEST_PLANE. Each test gets namespaces of its own, deleted when
// it ends. The CRDs of Argo CD and Kyverno are always installed.
//
// A package that uses it calls plane.Main from TestMain, so the plane it started is stopped
// when its tests end.
package plane

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// EnvReuse names the directory of a running plane (from `make plane-up`: .berth/plane) that
// tests use instead of starting their own.
const EnvReuse = "BERTH_TEST_PLANE"

// Options say which controllers the package's tests need.
type Options struct {
	ArgoCD  bool
	Kyverno bool
}

// Plane is a running control plane.
type Plane struct {
	Dir        string
	Kubeconfig string
	Config     *rest.Config
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	ArgoCD     bool
	// ArgoCDServer is the URL of Argo CD's API server (plain HTTP on loopback).
	ArgoCDServer string
	Kyverno      bool
	owned        bool
}

var (
	opts    Options
	once    sync.Once
	current *Plane
	started error
)

// Main runs the package's tests with a plane started on first use and stopped at the end.
func Main(m *testing.M, o Options) {
	opts = o
	code := m.Run()
	if current != nil && current.owned {
		if err := current.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "plane: stop:", err)
		}
	}
	os.Exit(code)
}

// Get returns the process's plane, starting it on first use. In -short mode the test is
// skipped: a control plane is an integration test's business.
func Get(t testing.TB) *Plane {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the local control plane (not in -short mode)")
	}
	once.Do(func() { current, started = start(opts) })
	if started != nil {
		t.Fatalf("local control plane: %v", started)
	}
	if opts.ArgoCD && !current.ArgoCD {
		t.Fatalf("this test needs Argo CD, which the plane at %s does not run", current.Dir)
	}
	if opts.Kyverno && !current.Kyverno {
		t.Fatalf("this test needs Kyverno, which the plane at %s does not run", current.Dir)
	}
	return current
}

func start(o Options) (*Plane, error) {
	if dir := os.Getenv(EnvReuse); dir != "" {
		return open(dir, false)
	}
	dir, err := os.MkdirTemp("", "berth-plane-")
	if err != nil {
		return nil, err
	}
	var flags []string
	if !o.ArgoCD {
		flags = append(flags, "--no-argocd")
	}
	if !o.Kyverno {
		flags = append(flags, "--no-kyverno")
	}
	return Up(dir, flags...)
}

// Up starts a plane of its own in dir on free ports (flags as plane.sh takes them, e.g.
// --minimal); it stops by itself if this process dies. Stop it with Down.
func Up(dir string, flags ...string) (*Plane, error) {
	script, err := kube.PlaneScript()
	if err != nil {
		return nil, err
	}
	// Ports free a moment ago can be taken by another package's plane starting at the same
	// time: on a failed start, stop what started and try other ports.
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePortRange(16)
		if err != nil {
			return nil, err
		}
		args := append([]string{"up", dir, "--port", fmt.Sprint(port), "--watch", fmt.Sprint(os.Getpid())}, flags...)
		out, err := exec.Command(script, args...).CombinedOutput()
		if err == nil {
			return open(dir, true)
		}
		_ = exec.Command(script, "down", dir).Run()
		last = fmt.Errorf("plane.sh %s: %v\n%s", strings.Join(args, " "), err, out)
		if !strings.Contains(string(out), "address already in use") {
			break
		}
	}
	return nil, last
}

func open(dir string, owned bool) (*Plane, error) {
	env, err := readEnv(filepath.Join(dir, "env"))
	if err != nil {
		return nil, fmt.Errorf("plane at %s: %w", dir, err)
	}
	kc := env["KUBECONFIG"]
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 200, 400
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Plane{Dir: dir, Kubeconfig: kc, Config: cfg, Client: cs, Dynamic: dyn,
		ArgoCD: env["BERTH_PLANE_ARGOCD"] == "1", ArgoCDServer: env["BERTH_PLANE_ARGOCD_SERVER"], Kyverno: env["BERTH_PLANE_KYVERNO"] == "1", owned: owned}, nil
}

func (p *Plane) stop() error {
	if err := p.Down(); err != nil {
		return err
	}
	return os.RemoveAll(p.Dir)
}

// Down stops the plane's processes; its data stays in Dir, so Up on the same Dir starts it
// again with its state.
func (p *Plane) Down() error {
	script, err := kube.PlaneScript()
	if err != nil {
		return err
	}
	out, err := exec.Command(script, "down", p.Dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("plane.sh down: %v: %s", err, out)
	}
	return nil
}

// PKI reads a file of the plane's certificates (ca.crt, admin.crt, admin.key, ...).
func (p *Plane) PKI(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.Dir, "pki", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Namespace creates a namespace for this test only, deleted when the test ends.
func (p *Plane) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	var b [3]byte
	_, _ = rand.Read(b[:])
	name := prefix + "-" + hex.EncodeToString(b[:])
	_, err := p.Client.CoreV1().Namespaces().Create(context.Background(),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"berth.dev/test": "true"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		err := p.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return name
}

// Eventually polls cond until it returns true or the timeout passes; the last error (if
// any) is reported. Waits on a real cluster, not a measure of speed.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s (last error: %v)", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func readEnv(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export ")
		if k, v, ok := strings.Cut(line, "="); ok {
			env[k] = v
		}
	}
	return env, sc.Err()
}

// freePortRange finds n consecutive free loopback ports, below Linux's ephemeral range
// (32768 and up), where outgoing connections would take them at random.
func freePortRange(n int) (int, error) {
	for try := 0; try < 50; try++ {
		var b [2]byte
		_, _ = rand.Read(b[:])
		base := 20000 + (int(b[0])<<8|int(b[1]))%12000
		base -= base % 20
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive ports on 127.0.0.1", n)
}
