package scim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/berth-platform/berth/internal/store"
	"github.com/labstack/echo/v4"
)

var groupAttributes = []string{"schemas", "id", "externalId", "displayName", "members", "meta"}

func memberIDs(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, bad("invalidValue", "members must be a list")
	}
	var ids []string
	for _, el := range list {
		m, ok := el.(map[string]any)
		id := ""
		if ok {
			id, _ = m["value"].(string)
		}
		if id == "" {
			return nil, bad("invalidValue", "every member needs a value (a user id)")
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func parseGroup(raw map[string]any) (store.SCIMGroup, error) {
	m, err := normalise(raw, groupAttributes)
	if err != nil {
		return store.SCIMGroup{}, err
	}
	var g store.SCIMGroup
	if g.DisplayName, err = str(m, "displayName"); err != nil {
		return g, err
	}
	if strings.TrimSpace(g.DisplayName) == "" || len(g.DisplayName) > 253 {
		return g, bad("invalidValue", "displayName is required (at most 253 characters)")
	}
	if g.ExternalID, err = str(m, "externalId"); err != nil {
		return g, err
	}
	g.Members, err = memberIDs(m["members"])
	return g, err
}

func groupJSON(c echo.Context, g store.SCIMGroup) map[string]any {
	members := make([]map[string]any, len(g.Members))
	for i, id := range g.Members {
		members[i] = map[string]any{"value": id, "$ref": "../Users/" + id, "type": "User"}
	}
	m := map[string]any{"schemas": []string{SchemaGroup}, "id": g.ID, "displayName": g.DisplayName, "members": members,
		"meta": meta(c, "Group", "/Groups/"+g.ID, g.CreatedAt, g.UpdatedAt, g.Version)}
	if g.ExternalID != "" {
		m["externalId"] = g.ExternalID
	}
	return m
}

func (h *Handler) createGroup(c echo.Context) error {
	raw, err := h.readJSON(c)
	if err != nil {
		return err
	}
	g, err := parseGroup(raw)
	if err != nil {
		return err
	}
	if g, err = h.svc.CreateGroup(c.Request().Context(), g); err != nil {
		return err
	}
	body := groupJSON(c, g)
	c.Response().Header().Set(echo.HeaderLocation, body["meta"].(map[string]any)["location"].(string))
	return send(c, http.StatusCreated, body)
}

func (h *Handler) getGroup(c echo.Context) error {
	g, err := h.svc.Store().SCIMGroupByID(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return send(c, http.StatusOK, groupJSON(c, g))
}

func (h *Handler) listGroups(c echo.Context) error {
	attr, value, err := parseFilter(c.QueryParam("filter"), "displayName", "externalId", "id")
	if err != nil {
		return err
	}
	offset, limit, start, err := page(c)
	if err != nil {
		return err
	}
	groups, total, err := h.svc.Store().ListSCIMGroups(c.Request().Context(), attr, value, offset, limit)
	if err != nil {
		return err
	}
	res := make([]map[string]any, len(groups))
	for i, g := range groups {
		res[i] = groupJSON(c, g)
		// Okta and Entra ask with excludedAttributes=members for large groups.
		if strings.Contains(c.QueryParam("excludedAttributes"), "members") {
			delete(res[i], "members")
		}
	}
	return send(c, http.StatusOK, listResponse(total, start, res))
}

func (h *Handler) replaceGroup(c echo.Context) error {
	raw, err := h.readJSON(c)
	if err != nil {
		return err
	}
	next, err := parseGroup(raw)
	if err != nil {
		return err
	}
	g, err := h.svc.UpdateGroup(c.Request().Context(), c.Param("id"), func(store.SCIMGroup) (store.SCIMGroup, error) { return next, nil })
	if err != nil {
		return err
	}
	return send(c, http.StatusOK, groupJSON(c, g))
}

var memberFilterPath = regexp.MustCompile(`^(?i:members)\[\s*value\s+(?i:eq)\s+"([^"]+)"\s*\]$`)

func (h *Handler) patchGroup(c echo.Context) error {
	ops, err := h.readPatch(c)
	if err != nil {
		return err
	}
	g, err := h.svc.UpdateGroup(c.Request().Context(), c.Param("id"), func(cur store.SCIMGroup) (store.SCIMGroup, error) {
		for _, op := range ops {
			if err := patchGroupOp(&cur, op); err != nil {
				return store.SCIMGroup{}, err
			}
		}
		return cur, nil
	})
	if err != nil {
		return err
	}
	// Okta expects 204 or the resource; the resource tells the IdP what it now is.
	return send(c, http.StatusOK, groupJSON(c, g))
}

func patchGroupOp(g *store.SCIMGroup, op patchOp) error {
	if op.Path == "" {
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return bad("invalidValue", "an operation without a path needs an object value")
		}
		for k, v := range obj {
			if err := patchGroupOp(g, patchOp{Op: op.Op, Path: k, Value: v}); err != nil {
				return err
			}
		}
		return nil
	}
	if m := memberFilterPath.FindStringSubmatch(op.Path); m != nil {
		if op.Op != "remove" {
			return bad("invalidPath", "only remove takes a members filter")
		}
		g.Members = slices.DeleteFunc(g.Members, func(id string) bool { return id == m[1] })
		return nil
	}
	switch canonical(op.Path, groupAttributes) {
	case "displayName":
		name, ok := op.Value.(string)
		if op.Op == "remove" || !ok || strings.TrimSpace(name) == "" {
			return bad("invalidValue", "displayName must be a non-empty string")
		}
		g.DisplayName = name
	case "externalId":
		g.ExternalID = asString(op.Value)
	case "members":
		ids, err := memberIDs(op.Value)
		if err != nil {
			return err
		}
		switch op.Op {
		case "replace":
			g.Members = ids
		case "add":
			for _, id := range ids {
				if !slices.Contains(g.Members, id) {
					g.Members = append(g.Members, id)
				}
			}
		case "remove":
			if op.Value == nil {
				g.Members = nil // remove all
			}
			g.Members = slices.DeleteFunc(g.Members, func(id string) bool { return slices.Contains(ids, id) })
		}
	default:
		return bad("invalidPath", "cannot apply %s to %q", op.Op, op.Path)
	}
	return nil
}

func (h *Handler) deleteGroup(c echo.Context) error {
	if err := h.svc.DeleteGroup(c.Request().Context(), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
