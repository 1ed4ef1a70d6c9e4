package scim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/store"
	"github.com/labstack/echo/v4"
)

// userAttributes are the attributes of RFC 7643's User (and its enterprise extension); others
// are refused.
var userAttributes = []string{"schemas", "id", "externalId", "userName", "name", "displayName", "nickName", "profileUrl", "title",
	"userType", "preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers", "ims", "photos",
	"addresses", "groups", "entitlements", "roles", "x509Certificates", "meta", SchemaEnterprise}

// kept are the attributes stored as they came, beyond the ones Berth uses.
var notKept = map[string]bool{"schemas": true, "id": true, "meta": true, "password": true, "groups": true,
	"userName": true, "externalId": true, "displayName": true, "active": true}

// canonical maps a case-insensitive attribute name to its spelling, or "".
func canonical(name string, allowed []string) string {
	for _, a := range allowed {
		if strings.EqualFold(a, name) {
			return a
		}
	}
	return ""
}

func str(m map[string]any, k string) (string, error) {
	v, ok := m[k]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", bad("invalidValue", "%s must be a string", k)
	}
	return s, nil
}

// boolean accepts JSON booleans and, as Microsoft Entra sends them, "True"/"False".
func boolean(v any, name string) (bool, error) {
	switch b := v.(type) {
	case bool:
		return b, nil
	case string:
		switch strings.ToLower(b) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, bad("invalidValue", "%s must be a boolean", name)
}

// normalise renames attributes to their canonical spelling and refuses unknown ones.
func normalise(m map[string]any, allowed []string) (map[string]any, error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		c := canonical(k, allowed)
		if c == "" {
			return nil, bad("invalidSyntax", "unknown attribute %q", k)
		}
		out[c] = v
	}
	return out, nil
}

func parseUser(raw map[string]any) (store.SCIMUser, error) {
	m, err := normalise(raw, userAttributes)
	if err != nil {
		return store.SCIMUser{}, err
	}
	var u store.SCIMUser
	if u.UserName, err = str(m, "userName"); err != nil {
		return u, err
	}
	if u.UserName == "" || len(u.UserName) > 253 || strings.ContainsAny(u.UserName, " \t\r\n") {
		return u, bad("invalidValue", "userName is required: a non-empty string without spaces, at most 253 characters")
	}
	if u.ExternalID, err = str(m, "externalId"); err != nil {
		return u, err
	}
	if u.DisplayName, err = str(m, "displayName"); err != nil {
		return u, err
	}
	u.Active = true
	if v, ok := m["active"]; ok && v != nil {
		if u.Active, err = boolean(v, "active"); err != nil {
			return u, err
		}
	}
	kept := map[string]any{}
	for k, v := range m {
		if !notKept[k] {
			kept[k] = v
		}
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return u, bad("invalidValue", "attributes: %v", err)
	}
	u.Attributes = string(b)
	return u, nil
}

func userJSON(c echo.Context, u store.SCIMUser) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal([]byte(u.Attributes), &m)
	schemas := []string{SchemaUser}
	if _, ok := m[SchemaEnterprise]; ok {
		schemas = append(schemas, SchemaEnterprise)
	}
	m["schemas"], m["id"], m["userName"], m["active"] = schemas, u.ID, u.UserName, u.Active
	if u.ExternalID != "" {
		m["externalId"] = u.ExternalID
	}
	if u.DisplayName != "" {
		m["displayName"] = u.DisplayName
	}
	m["meta"] = meta(c, "User", "/Users/"+u.ID, u.CreatedAt, u.UpdatedAt, u.Version)
	return m
}

func meta(c echo.Context, kind, path string, created, modified time.Time, version int64) map[string]any {
	scheme := "http"
	if c.Request().TLS != nil {
		scheme = "https"
	}
	return map[string]any{"resourceType": kind, "created": created.Format(time.RFC3339Nano), "lastModified": modified.Format(time.RFC3339Nano),
		"location": scheme + "://" + c.Request().Host + "/scim/v2" + path, "version": etag(version)}
}

func etag(v int64) string { return `W/"` + strconv.FormatInt(v, 10) + `"` }

func (h *Handler) createUser(c echo.Context) error {
	raw, err := h.readJSON(c)
	if err != nil {
		return err
	}
	u, err := parseUser(raw)
	if err != nil {
		return err
	}
	if u, err = h.svc.CreateUser(c.Request().Context(), u); err != nil {
		return err
	}
	body := userJSON(c, u)
	c.Response().Header().Set(echo.HeaderLocation, body["meta"].(map[string]any)["location"].(string))
	c.Response().Header().Set("ETag", etag(u.Version))
	return send(c, http.StatusCreated, body)
}

func (h *Handler) getUser(c echo.Context) error {
	u, err := h.svc.Store().SCIMUserByID(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", etag(u.Version))
	return send(c, http.StatusOK, userJSON(c, u))
}

func (h *Handler) listUsers(c echo.Context) error {
	attr, value, err := parseFilter(c.QueryParam("filter"), "userName", "externalId", "displayName", "id")
	if err != nil {
		return err
	}
	offset, limit, start, err := page(c)
	if err != nil {
		return err
	}
	users, total, err := h.svc.Store().ListSCIMUsers(c.Request().Context(), attr, value, offset, limit)
	if err != nil {
		return err
	}
	res := make([]map[string]any, len(users))
	for i, u := range users {
		res[i] = userJSON(c, u)
	}
	return send(c, http.StatusOK, listResponse(total, start, res))
}

func (h *Handler) replaceUser(c echo.Context) error {
	raw, err := h.readJSON(c)
	if err != nil {
		return err
	}
	next, err := parseUser(raw)
	if err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(c.Request().Context(), c.Param("id"), func(store.SCIMUser) (store.SCIMUser, error) { return next, nil })
	if err != nil {
		return err
	}
	return send(c, http.StatusOK, userJSON(c, u))
}

func (h *Handler) patchUser(c echo.Context) error {
	ops, err := h.readPatch(c)
	if err != nil {
		return err
	}
	u, err := h.svc.UpdateUser(c.Request().Context(), c.Param("id"), func(cur store.SCIMUser) (store.SCIMUser, error) {
		m := userJSON(c, cur)
		delete(m, "meta")
		delete(m, "id")
		for _, op := range ops {
			if err := applyOp(m, op, userAttributes); err != nil {
				return store.SCIMUser{}, err
			}
		}
		return parseUser(m)
	})
	if err != nil {
		return err
	}
	return send(c, http.StatusOK, userJSON(c, u))
}

func (h *Handler) deleteUser(c echo.Context) error {
	if err := h.svc.DeleteUser(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
