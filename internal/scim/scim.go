// Package scim speaks SCIM 2.0 (RFC 7643 resources, RFC 7644 protocol) to the company's
// identity provider, as Okta and Microsoft Entra provisioning use it: Users and Groups with
// filters (eq), pagination, PUT, PATCH and DELETE, and RFC 7644 error responses. It has a bearer
// token of its own. What a change means for Berth is idpsync's business.
package scim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/idpsync"
	"github.com/labstack/echo/v4"
)

// Schema URNs.
const (
	SchemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaList       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatch      = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError      = "urn:ietf:params:scim:api:messages:2.0:Error"
	contentType      = "application/scim+json"
	maxResults       = 200
)

// Handler serves /scim/v2.
type Handler struct {
	svc       *idpsync.Service
	tokenHash [sha256.Size]byte
	maxBody   int64
}

// New returns the SCIM handler; tokenHash is the SHA-256 of the IdP's bearer token.
func New(svc *idpsync.Service, tokenHash [sha256.Size]byte, maxBody int64) *Handler {
	return &Handler{svc: svc, tokenHash: tokenHash, maxBody: maxBody}
}

// Register mounts the endpoints under /scim/v2.
func (h *Handler) Register(e *echo.Echo) {
	g := e.Group("/scim/v2", h.authenticate)
	g.GET("/ServiceProviderConfig", h.serviceProviderConfig)
	g.GET("/ResourceTypes", h.resourceTypes)
	g.GET("/Schemas", h.schemas)
	g.GET("/Users", h.listUsers)
	g.POST("/Users", h.createUser)
	g.GET("/Users/:id", h.getUser)
	g.PUT("/Users/:id", h.replaceUser)
	g.PATCH("/Users/:id", h.patchUser)
	g.DELETE("/Users/:id", h.deleteUser)
	g.GET("/Groups", h.listGroups)
	g.POST("/Groups", h.createGroup)
	g.GET("/Groups/:id", h.getGroup)
	g.PUT("/Groups/:id", h.replaceGroup)
	g.PATCH("/Groups/:id", h.patchGroup)
	g.DELETE("/Groups/:id", h.deleteGroup)
}

// scimError is an RFC 7644 section 3.12 error.
type scimError struct {
	status   int
	scimType string
	detail   string
}

func (e *scimError) Error() string { return e.detail }

func bad(scimType, format string, args ...any) error {
	return &scimError{status: http.StatusBadRequest, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

// write sends a SCIM error for any error: domain sentinels map to their statuses.
func writeError(c echo.Context, err error) error {
	se := &scimError{status: http.StatusInternalServerError, detail: "internal error"}
	var inv *errs.InvalidError
	switch {
	case errors.As(err, &se):
	case errors.As(err, &inv):
		se = &scimError{status: http.StatusBadRequest, scimType: "invalidValue", detail: inv.Error()}
	case errors.Is(err, errs.ErrNotFound):
		se = &scimError{status: http.StatusNotFound, detail: "resource not found"}
	case errors.Is(err, errs.ErrConflict):
		se = &scimError{status: http.StatusConflict, scimType: "uniqueness", detail: err.Error()}
	case errors.Is(err, errs.ErrInvalid):
		se = &scimError{status: http.StatusBadRequest, scimType: "invalidValue", detail: err.Error()}
	default:
		c.Logger().Error(err)
	}
	body := map[string]any{"schemas": []string{SchemaError}, "status": strconv.Itoa(se.status), "detail": se.detail}
	if se.scimType != "" {
		body["scimType"] = se.scimType
	}
	return send(c, se.status, body)
}

func send(c echo.Context, status int, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.Blob(status, contentType, b)
}

func (h *Handler) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "bearer") || subtle.ConstantTimeCompare(sum[:], h.tokenHash[:]) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="berth-scim"`)
			return writeError(c, &scimError{status: http.StatusUnauthorized, detail: "bad or missing SCIM bearer token"})
		}
		if err := next(c); err != nil {
			return writeError(c, err)
		}
		return nil
	}
}

// readJSON decodes a body object, limited in size.
func (h *Handler) readJSON(c echo.Context) (map[string]any, error) {
	b, err := io.ReadAll(io.LimitReader(c.Request().Body, h.maxBody+1))
	if err != nil {
		return nil, bad("invalidSyntax", "cannot read the body")
	}
	if int64(len(b)) > h.maxBody {
		return nil, &scimError{status: http.StatusRequestEntityTooLarge, detail: "the body is too large"}
	}
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, bad("invalidSyntax", "the body is not a JSON object")
	}
	return m, nil
}

var filterPattern = regexp.MustCompile(`^\s*([A-Za-z][A-Za-z0-9.]*)\s+(?i:eq)\s+"((?:[^"\\]|\\.)*)"\s*$`)

// parseFilter accepts `attr eq "value"` for the attributes allowed (case-insensitive names).
func parseFilter(f string, allowed ...string) (attr, value string, err error) {
	if strings.TrimSpace(f) == "" {
		return "", "", nil
	}
	m := filterPattern.FindStringSubmatch(f)
	if m == nil {
		return "", "", bad("invalidFilter", "only filters of the form attribute eq \"value\" are supported")
	}
	for _, a := range allowed {
		if strings.EqualFold(a, m[1]) {
			var v string
			if err := json.Unmarshal([]byte(`"`+m[2]+`"`), &v); err != nil {
				return "", "", bad("invalidFilter", "bad string in filter")
			}
			return a, v, nil
		}
	}
	return "", "", bad("invalidFilter", "cannot filter on %q; use one of %s", m[1], strings.Join(allowed, ", "))
}

// page reads startIndex (1-based) and count.
func page(c echo.Context) (offset, limit, start int, err error) {
	start, limit = 1, 100
	if s := c.QueryParam("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, 0, bad("invalidValue", "startIndex must be an integer")
		}
		if n > 1 {
			start = n
		}
	}
	if s := c.QueryParam("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, 0, bad("invalidValue", "count must be an integer")
		}
		limit = max(0, min(n, maxResults))
	}
	return start - 1, limit, start, nil
}

func listResponse(total, start int, resources []map[string]any) map[string]any {
	return map[string]any{"schemas": []string{SchemaList}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(resources), "Resources": resources}
}

func (h *Handler) serviceProviderConfig(c echo.Context) error {
	return send(c, 200, map[string]any{
		"schemas":               []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch":                 map[string]any{"supported": true},
		"bulk":                  map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":                map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":        map[string]any{"supported": false},
		"sort":                  map[string]any{"supported": false},
		"etag":                  map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{"type": "oauthbearertoken", "name": "Bearer token", "description": "The token configured with --scim-token."}},
	})
}

func (h *Handler) resourceTypes(c echo.Context) error {
	rt := func(name, endpoint, schema string) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": name, "name": name, "endpoint": endpoint, "schema": schema}
	}
	items := []map[string]any{rt("User", "/Users", SchemaUser), rt("Group", "/Groups", SchemaGroup)}
	items[0]["schemaExtensions"] = []any{map[string]any{"schema": SchemaEnterprise, "required": false}}
	return send(c, 200, listResponse(2, 1, items))
}

func (h *Handler) schemas(c echo.Context) error {
	s := func(id, name string) map[string]any {
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": id, "name": name}
	}
	return send(c, 200, listResponse(3, 1, []map[string]any{s(SchemaUser, "User"), s(SchemaGroup, "Group"), s(SchemaEnterprise, "EnterpriseUser")}))
}
