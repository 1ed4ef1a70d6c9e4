package plane

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ArgoCDToken logs in to the plane's Argo CD API server as admin, with the password the
// server generated on its first start, and returns a session token.
func (p *Plane) ArgoCDToken(t testing.TB) string {
	t.Helper()
	if p.ArgoCDServer == "" {
		t.Fatal("the plane runs no Argo CD API server")
	}
	ctx := context.Background()
	var password []byte
	Eventually(t, 30*time.Second, "argocd-initial-admin-secret", func() (bool, error) {
		s, err := p.Client.CoreV1().Secrets("argocd").Get(ctx, "argocd-initial-admin-secret", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		password = s.Data["password"]
		return len(password) > 0, nil
	})
	body, _ := json.Marshal(map[string]string{"username": "admin", "password": string(password)})
	resp, err := http.Post(p.ArgoCDServer+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" {
		t.Fatal(fmt.Errorf("argocd login: %d %v", resp.StatusCode, err))
	}
	return out.Token
}
