package workloads_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/test/bench"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The catalog entity of the service, as Berth's catalog provider gives it to Backstage: the
// Kubernetes plugin finds the workloads by its kubernetes-id annotation.
const checkoutEntity = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  annotations:
    backstage.io/kubernetes-id: shop-checkout
spec:
  type: service
  lifecycle: production
  owner: group:default/shop
`

// startPeer runs test/bench/peer (a Backstage backend with the catalog and the Kubernetes
// backend, installed by make bench) against the plane with a ServiceAccount that may view
// everything, as the plugin's documentation sets it up.
func startPeer(ctx context.Context, p *plane.Plane, dir string) (*bench.Process, error) {
	root, err := kube.RepoRoot()
	if err != nil {
		return nil, err
	}
	app := filepath.Join(root, "test", "bench", "peer")
	if _, err := os.Stat(filepath.Join(app, "node_modules", "@backstage", "plugin-kubernetes-backend")); err != nil {
		return nil, fmt.Errorf("the peer is not installed: make test/bench/peer/node_modules (make bench does)")
	}
	token, err := viewerToken(ctx, p)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(filepath.Join(p.Dir, "pki", "ca.crt"))
	if err != nil {
		return nil, err
	}
	entity := filepath.Join(dir, "checkout.yaml")
	if err := os.WriteFile(entity, []byte(checkoutEntity), 0o644); err != nil {
		return nil, err
	}
	port, err := bench.FreePort()
	if err != nil {
		return nil, err
	}
	config := fmt.Sprintf(`app:
  baseUrl: http://127.0.0.1:%[1]d
backend:
  baseUrl: http://127.0.0.1:%[1]d
  listen: {host: 127.0.0.1, port: %[1]d}
  database: {client: better-sqlite3, connection: ':memory:'}
  auth:
    dangerouslyDisableDefaultAuthPolicy: true
catalog:
  rules: [{allow: [Component, Group]}]
  locations: [{type: file, target: %[2]s}]
kubernetes:
  serviceLocatorMethod: {type: multiTenant}
  clusterLocatorMethods:
    - type: config
      clusters:
        - name: plane
          url: %[3]s
          authProvider: serviceAccount
          serviceAccountToken: %[4]s
          caData: %[5]s
          skipMetricsLookup: true
`, port, entity, p.Config.Host, token, base64.StdEncoding.EncodeToString(ca))
	cfgFile := filepath.Join(dir, "app-config.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "peer.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", "index.js", "--config", cfgFile)
	cmd.Dir = app
	cmd.Env = append(os.Environ(), "NODE_ENV=production")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, err
	}
	peer := &bench.Process{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Cmd: cmd, Log: log}
	// The catalog must hold the entity before the Kubernetes backend can resolve it.
	if err := waitHTTP(ctx, peer.URL+"/api/catalog/entities/by-name/component/default/checkout", 3*time.Minute); err != nil {
		peer.Stop()
		return nil, fmt.Errorf("peer: the catalog's entity: %w (log: %s)", err, log.Name())
	}
	return peer, nil
}

// viewerToken is a token of a ServiceAccount bound to the built-in view ClusterRole, which
// reads all 13 kinds the plugin asks for.
func viewerToken(ctx context.Context, p *plane.Plane) (string, error) {
	const ns, name = "default", "backstage-bench"
	if _, err := p.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	if _, err := p.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}}, metav1.CreateOptions{}); err != nil {
		return "", err
	}
	tr, err := p.Client.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](4 * 3600)}}, metav1.CreateOptions{})
	if err != nil {
		return "", err
	}
	return tr.Status.Token, nil
}
