package cli_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/plane"
)

// postgres runs hack/postgres.sh cmd on dir.
func postgres(t *testing.T, cmd, dir string) {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "..", "hack", "postgres.sh"), cmd, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("postgres.sh %s: %v\n%s", cmd, err, out)
	}
}

// Berth's PostgreSQL server stopped and started again under load: while it is down every
// request fails cleanly, 503 with the problem unavailable (naming no address), and changes
// nothing; once it is back the same requests succeed, and nothing was written twice or lost.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server of its own")
	}
	dir := t.TempDir()
	postgres(t, "up", dir)
	t.Cleanup(func() { _ = exec.Command(filepath.Join("..", "..", "hack", "postgres.sh"), "purge", dir).Run() })
	url, err := os.ReadFile(filepath.Join(dir, "admin-url"))
	if err != nil {
		t.Fatal(err)
	}
	addr, _, cancel, done := startServe(t, "--database-url", strings.TrimSpace(string(url)))
	t.Cleanup(func() { cancel(); <-done })
	base := "http://" + addr
	const ci = "ci-token-0123456789"
	if s := apiCall(t, base, ci, "POST", "/api/v1/teams", `{"name":"shop"}`, nil); s != 201 {
		t.Fatalf("team: %d", s)
	}
	type answer struct {
		status int
		kind   string
		detail string
	}
	call := func(method, path, body string) answer {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+ci)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{status: -1, detail: err.Error()}
		}
		defer res.Body.Close()
		var p struct{ Type, Detail string }
		_ = json.NewDecoder(res.Body).Decode(&p)
		return answer{res.StatusCode, p.Type, p.Detail}
	}
	// Load: four callers reading the team all along.
	var mu sync.Mutex
	seen := map[string]int{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := call("GET", "/api/v1/teams/shop", "")
				mu.Lock()
				seen[fmt.Sprintf("%d %s", a.status, a.kind)]++
				if a.status != 200 && (a.status != 503 || strings.Contains(a.detail, "127.0.0.1")) {
					seen["bad: "+fmt.Sprint(a)]++
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	postgres(t, "down", dir)
	var down answer
	plane.Eventually(t, 30*time.Second, "503 while the database is down", func() (bool, error) {
		down = call("GET", "/api/v1/teams/shop", "")
		return down.status == 503, fmt.Errorf("%+v", down)
	})
	if down.kind != "urn:berth:problem:unavailable" || strings.Contains(down.detail, "127.0.0.1") {
		t.Fatalf("while down: %+v", down)
	}
	if a := call("POST", "/api/v1/teams", `{"name":"cart"}`); a.status != 503 || a.kind != "urn:berth:problem:unavailable" {
		t.Fatalf("a write while down: %+v", a)
	}
	postgres(t, "up", dir)
	plane.Eventually(t, 60*time.Second, "200 once the database is back", func() (bool, error) {
		a := call("GET", "/api/v1/teams/shop", "")
		return a.status == 200, fmt.Errorf("%+v", a)
	})
	if a := call("POST", "/api/v1/teams", `{"name":"cart"}`); a.status != 201 {
		t.Fatalf("the write again: %+v", a)
	}
	close(stop)
	wg.Wait()
	var teams struct{ Items []struct{ Name string } }
	if s := apiCall(t, base, ci, "GET", "/api/v1/teams", "", &teams); s != 200 || len(teams.Items) != 2 {
		t.Fatalf("teams after: %d %+v", s, teams)
	}
	for k, n := range seen {
		if strings.HasPrefix(k, "bad: ") {
			t.Errorf("%d answers %s", n, k)
		}
	}
	if seen["503 urn:berth:problem:unavailable"] == 0 || seen["200 "] == 0 {
		t.Fatalf("the load saw %v", seen)
	}
}
