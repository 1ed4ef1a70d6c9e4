package scim_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/auth/authtest"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/idpsync"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/plane"
	"github.com/berth-platform/berth/internal/scim"
	"github.com/berth-platform/berth/internal/server"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
	"github.com/berth-platform/berth/internal/tenancy"
	jose "github.com/go-jose/go-jose/v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMain(m *testing.M) { plane.Main(m, plane.Options{}) }

const scimToken = "scim-token-0123456789abcdef"

type env struct {
	t      *testing.T
	url    string
	st     *store.Store
	tenant *tenancy.Service
	// idp signs OIDC tokens Berth accepts, for users named oidc:<email>.
	idp *authtest.Issuer
}

// newEnv runs Berth with SCIM enabled and the mapping payments-devs=payments:editor, and
// team payments created by ada. With a plane, a tenancy reconciler keeps namespaces.
func newEnv(t *testing.T, p *plane.Plane, pattern string) *env {
	st := storetest.Open(t, "sqlite")
	opts := tenancy.DefaultOptions()
	if pattern != "" {
		opts.NamespacePattern = pattern
	}
	if p != nil {
		kc, err := kube.Connect(p.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		rec := tenancy.NewReconciler(st, kc.Core, tenancy.ReconcilerOptions{PodSecurity: "restricted", IngressNamespace: "ingress-nginx",
			Prices: tenancy.DefaultPrices, Resync: time.Hour}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		opts.Notify, opts.Quotas = rec.Enqueue, rec
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { _ = rec.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	sync := idpsync.NewService(st, []idpsync.Mapping{{Group: "payments-devs", Team: "payments", Role: access.Editor}}, "oidc:", opts.Notify, nil)
	opts.TeamCreated = sync.Resync
	ten := tenancy.NewService(st, opts)
	tok, _ := config.ParseServiceToken("ci=ci-token-0123456789")
	idp := authtest.NewIssuer(t, jose.RS256, true)
	authn := auth.New(&config.Config{ServiceTokens: []config.ServiceToken{tok}, OIDCIssuer: idp.Srv.URL, OIDCAudience: "berth",
		OIDCUsernameClaim: "email", OIDCUserPrefix: "oidc:"})
	e, err := server.New(server.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st,
		Auth: authn, Admins: access.NewAdmins(nil), Deactivated: sync.Deactivated,
		Tenancy: ten, MaxBodyBytes: 1 << 20, SCIM: scim.New(sync, sha256.Sum256([]byte(scimToken)), 1<<20)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	ada := access.Principal{Identity: auth.Identity{Subject: "user:default/ada"}}
	if _, err := ten.CreateTeam(t.Context(), ada, tenancy.NewTeam{Name: "payments"}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, url: srv.URL, st: st, tenant: ten, idp: idp}
}

func (e *env) do(method, path string, body any, token string) (int, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if s, ok := body.(string); ok {
		rd = strings.NewReader(s)
	} else if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(e.t.Context(), method, e.url+"/scim/v2"+path, rd)
	req.Header.Set("Content-Type", "application/scim+json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if res.StatusCode != 204 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/scim+json") {
		e.t.Fatalf("%s %s: content type %q", method, path, res.Header.Get("Content-Type"))
	}
	return res.StatusCode, m
}

func (e *env) must(want int, method, path string, body any) map[string]any {
	e.t.Helper()
	code, m := e.do(method, path, body, scimToken)
	if code != want {
		e.t.Fatalf("%s %s: %d, want %d: %v", method, path, code, want, m)
	}
	return m
}

// roles lists the team members that SCIM mappings produced, as "subject=role".
func (e *env) roles() string {
	root := access.Principal{Identity: auth.Identity{Subject: "root"}, PlatformAdmin: true}
	ms, _, err := e.tenant.ListMembers(context.Background(), root, "payments", tenancy.MemberFilter{Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		if strings.HasPrefix(m.Name, "oidc:") { // not the team's creator
			out = append(out, m.Name+"="+m.Role)
		}
	}
	return strings.Join(out, ",")
}

func user(name string) map[string]any {
	return map[string]any{"schemas": []string{scim.SchemaUser}, "userName": name, "externalId": "ext-" + name, "active": true,
		"name": map[string]any{"givenName": "Jane", "familyName": "Doe"}, "emails": []any{map[string]any{"value": name, "type": "work", "primary": true}}}
}

func TestSCIMProvisioningChangesTeamRoles(t *testing.T) {
	e := newEnv(t, nil, "")
	jane := e.must(201, "POST", "/Users", user("jane@example.com"))
	bob := e.must(201, "POST", "/Users", user("bob@example.com"))
	janeID, bobID := jane["id"].(string), bob["id"].(string)

	list := e.must(200, "GET", `/Users?filter=userName%20eq%20%22jane@example.com%22`, nil)
	if list["totalResults"] != float64(1) || len(list["Resources"].([]any)) != 1 {
		t.Fatalf("filter: %v", list)
	}
	group := e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{scim.SchemaGroup}, "displayName": "payments-devs",
		"members": []any{map[string]any{"value": janeID}, map[string]any{"value": bobID}}})
	gid := group["id"].(string)
	if got := e.roles(); got != "oidc:bob@example.com=editor,oidc:jane@example.com=editor" {
		t.Fatalf("after group create: %q", got)
	}

	// Okta removes a member with a filtered path.
	e.must(200, "PATCH", "/Groups/"+gid, map[string]any{"schemas": []string{scim.SchemaPatch},
		"Operations": []any{map[string]any{"op": "remove", "path": `members[value eq "` + bobID + `"]`}}})
	if got := e.roles(); got != "oidc:jane@example.com=editor" {
		t.Fatalf("after removing bob: %q", got)
	}
	// Entra deactivates with "Replace" and a string "False".
	e.must(200, "PATCH", "/Users/"+janeID, map[string]any{"schemas": []string{scim.SchemaPatch},
		"Operations": []any{map[string]any{"op": "Replace", "path": "active", "value": "False"}}})
	if got := e.roles(); got != "" {
		t.Fatalf("after deactivating jane: %q", got)
	}
	// Okta reactivates with a path-less replace.
	u := e.must(200, "PATCH", "/Users/"+janeID, map[string]any{"schemas": []string{scim.SchemaPatch},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": true}}}})
	if u["active"] != true || u["meta"].(map[string]any)["version"] != `W/"3"` {
		t.Fatalf("reactivated user: %v", u)
	}
	// Entra adds a member.
	e.must(200, "PATCH", "/Groups/"+gid, map[string]any{"schemas": []string{scim.SchemaPatch},
		"Operations": []any{map[string]any{"op": "Add", "path": "members", "value": []any{map[string]any{"value": bobID}}}}})
	if got := e.roles(); got != "oidc:bob@example.com=editor,oidc:jane@example.com=editor" {
		t.Fatalf("after reactivating jane and adding bob: %q", got)
	}
	e.must(204, "DELETE", "/Users/"+bobID, nil)
	e.must(404, "GET", "/Users/"+bobID, nil)
	if got := e.roles(); got != "oidc:jane@example.com=editor" {
		t.Fatalf("after deleting bob: %q", got)
	}
	e.must(204, "DELETE", "/Groups/"+gid, nil)
	if got := e.roles(); got != "" {
		t.Fatalf("after deleting the group: %q", got)
	}
	// Entra sets a work email through a filtered path; the rest of the user stays.
	u = e.must(200, "PATCH", "/Users/"+janeID, map[string]any{"schemas": []string{scim.SchemaPatch},
		"Operations": []any{map[string]any{"op": "Add", "path": `emails[type eq "work"].value`, "value": "jane.doe@example.com"},
			map[string]any{"op": "replace", "path": scim.SchemaEnterprise + ":department", "value": "Payments"}}})
	emails := u["emails"].([]any)
	if len(emails) != 1 || emails[0].(map[string]any)["value"] != "jane.doe@example.com" || u["name"].(map[string]any)["givenName"] != "Jane" ||
		u[scim.SchemaEnterprise].(map[string]any)["department"] != "Payments" {
		t.Fatalf("patched user: %v", u)
	}
}

// A mapping names its team by name but holds it by id: a team created later under the name
// of a deleted one starts without the group's members, until a mapping names it by id.
func TestSCIMMappingStaysWithTheTeamItWasBoundTo(t *testing.T) {
	e := newEnv(t, nil, "")
	jane := e.must(201, "POST", "/Users", user("jane@example.com"))
	e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{scim.SchemaGroup}, "displayName": "payments-devs",
		"members": []any{map[string]any{"value": jane["id"]}}})
	if got := e.roles(); got != "oidc:jane@example.com=editor" {
		t.Fatalf("before: %q", got)
	}
	root := access.Principal{Identity: auth.Identity{Subject: "root"}, PlatformAdmin: true}
	if err := e.tenant.DeleteTeam(t.Context(), root, "payments", ""); err != nil {
		t.Fatal(err)
	}
	eve := access.Principal{Identity: auth.Identity{Subject: "user:default/eve"}}
	again, err := e.tenant.CreateTeam(t.Context(), eve, tenancy.NewTeam{Name: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	// CreateTeam ran the resync; a SCIM change runs it again.
	e.must(201, "POST", "/Users", user("bob@example.com"))
	if got := e.roles(); got != "" {
		t.Fatalf("the new team payments inherited the deleted one's IdP members: %q", got)
	}

	byID := idpsync.NewService(e.st, []idpsync.Mapping{{Group: "payments-devs", TeamID: again.ID, Role: access.Viewer}}, "oidc:", nil, nil)
	if err := byID.Resync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := e.roles(); got != "oidc:jane@example.com=viewer" {
		t.Fatalf("mapping by id: %q", got)
	}
}

func TestSCIMRefusesBadRequestsAsRFC7644Says(t *testing.T) {
	e := newEnv(t, nil, "")
	e.must(201, "POST", "/Users", user("jane@example.com"))
	cases := []struct {
		method, path string
		body         any
		token        string
		status       int
		scimType     string
	}{
		{"GET", "/Users", nil, "", 401, ""},
		{"GET", "/Users", nil, "wrong-token-0123456789", 401, ""},
		{"POST", "/Users", map[string]any{"userName": "x@example.com", "favouriteColour": "red"}, scimToken, 400, "invalidSyntax"},
		{"POST", "/Users", map[string]any{"displayName": "no user name"}, scimToken, 400, "invalidValue"},
		{"POST", "/Users", map[string]any{"userName": "y@example.com", "active": "maybe"}, scimToken, 400, "invalidValue"},
		{"POST", "/Users", user("jane@example.com"), scimToken, 409, "uniqueness"},
		{"POST", "/Users", `{"userName":`, scimToken, 400, "invalidSyntax"},
		{"GET", `/Users?filter=userName%20co%20%22jane%22`, nil, scimToken, 400, "invalidFilter"},
		{"GET", `/Users?filter=password%20eq%20%22x%22`, nil, scimToken, 400, "invalidFilter"},
		{"GET", "/Users/does-not-exist", nil, scimToken, 404, ""},
		{"POST", "/Groups", map[string]any{"displayName": "g", "members": []any{map[string]any{"value": "nobody"}}}, scimToken, 400, "invalidValue"},
		{"PATCH", "/Users/does-not-exist", map[string]any{"schemas": []string{scim.SchemaPatch}, "Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}}, scimToken, 404, ""},
		{"PATCH", "/Users/x", map[string]any{"Operations": []any{}}, scimToken, 400, "invalidSyntax"},
	}
	before, _, _ := e.st.Q().ListSCIMUsers(t.Context(), "", "", 0, 100)
	for _, c := range cases {
		code, m := e.do(c.method, c.path, c.body, c.token)
		if code != c.status {
			t.Errorf("%s %s: %d, want %d: %v", c.method, c.path, code, c.status, m)
			continue
		}
		schemas, _ := m["schemas"].([]any)
		if len(schemas) != 1 || schemas[0] != scim.SchemaError || m["status"] != itoa(c.status) {
			t.Errorf("%s %s: not an RFC 7644 error: %v", c.method, c.path, m)
		}
		if c.scimType != "" && m["scimType"] != c.scimType {
			t.Errorf("%s %s: scimType %v, want %s", c.method, c.path, m["scimType"], c.scimType)
		}
	}
	after, _, _ := e.st.Q().ListSCIMUsers(t.Context(), "", "", 0, 100)
	if len(after) != len(before) {
		t.Fatal("refused requests changed the users")
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// On a real cluster, a deactivated user's role binding disappears within seconds, and
// comes back when the user is reactivated.
func TestSCIMDeactivationRemovesRoleBindings(t *testing.T) {
	p := plane.Get(t)
	e := newEnv(t, p, "scim-{team}-{env}")
	jane := e.must(201, "POST", "/Users", user("jane@example.com"))
	id := jane["id"].(string)
	e.must(201, "POST", "/Groups", map[string]any{"schemas": []string{scim.SchemaGroup}, "displayName": "payments-devs",
		"members": []any{map[string]any{"value": id}}})
	binding := access.RoleBindingName("user", "oidc:jane@example.com")
	exists := func(want bool) func() (bool, error) {
		return func() (bool, error) {
			_, err := p.Client.RbacV1().RoleBindings("scim-payments-dev").Get(t.Context(), binding, metav1.GetOptions{})
			if want {
				return err == nil, err
			}
			return apierrors.IsNotFound(err), err
		}
	}
	plane.Eventually(t, 30*time.Second, "jane's editor binding", exists(true))
	e.must(200, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{scim.SchemaPatch},
		"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": false}}})
	plane.Eventually(t, 30*time.Second, "jane's binding removed", exists(false))
	e.must(200, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{scim.SchemaPatch},
		"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": true}}})
	plane.Eventually(t, 30*time.Second, "jane's binding back", exists(true))
}

// me calls the API as an OIDC user with that email and returns the status.
func (e *env) me(email string) int {
	e.t.Helper()
	c := authtest.Claims(e.idp.Srv.URL, "berth", "id-"+email)
	c["email"] = email
	req, _ := http.NewRequestWithContext(e.t.Context(), "GET", e.url+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+e.idp.Sign(e.t, c))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A user the identity provider deactivates is refused at once, though their token has not
// expired; reactivated, they are back. Users SCIM does not know are not affected.
func TestSCIMDeactivatedUsersAreRefused(t *testing.T) {
	e := newEnv(t, nil, "")
	id := e.must(201, "POST", "/Users", user("jane@example.com"))["id"].(string)
	if code := e.me("jane@example.com"); code != 200 {
		t.Fatalf("active user: %d", code)
	}
	active := func(v bool) {
		e.must(200, "PATCH", "/Users/"+id, map[string]any{"schemas": []string{scim.SchemaPatch},
			"Operations": []any{map[string]any{"op": "replace", "path": "active", "value": v}}})
	}
	active(false)
	if code := e.me("jane@example.com"); code != 401 {
		t.Fatalf("deactivated user: %d", code)
	}
	if code := e.me("bob@example.com"); code != 200 {
		t.Fatalf("a user SCIM does not know: %d", code)
	}
	active(true)
	if code := e.me("jane@example.com"); code != 200 {
		t.Fatalf("reactivated user: %d", code)
	}
}
