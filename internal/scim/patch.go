package scim

import (
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
)

// patchOp is one RFC 7644 section 3.5.2 operation.
type patchOp struct {
	Op    string
	Path  string
	Value any
}

func (h *Handler) readPatch(c echo.Context) ([]patchOp, error) {
	m, err := h.readJSON(c)
	if err != nil {
		return nil, err
	}
	schemas, _ := m["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != SchemaPatch {
		return nil, bad("invalidSyntax", "a PATCH body has schemas [%q]", SchemaPatch)
	}
	raw, ok := m["Operations"].([]any)
	if !ok || len(raw) == 0 {
		return nil, bad("invalidSyntax", "Operations must be a non-empty list")
	}
	ops := make([]patchOp, 0, len(raw))
	for _, r := range raw {
		o, ok := r.(map[string]any)
		if !ok {
			return nil, bad("invalidSyntax", "every operation is an object")
		}
		op := patchOp{Value: o["value"]}
		op.Op, _ = o["op"].(string)
		op.Path, _ = o["path"].(string)
		op.Op = strings.ToLower(op.Op)
		if op.Op != "add" && op.Op != "replace" && op.Op != "remove" {
			return nil, bad("invalidSyntax", "op must be add, replace or remove, not %q", o["op"])
		}
		if op.Op == "remove" && op.Path == "" {
			return nil, bad("noTarget", "remove needs a path")
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// valuePath is `attr[type eq "x"].sub` (Microsoft Entra sends it for emails and addresses).
var valuePath = regexp.MustCompile(`^([A-Za-z]+)\[\s*type\s+(?i:eq)\s+"([^"]*)"\s*\](?:\.([A-Za-z]+))?$`)

// applyOp applies a path-based or path-less operation to a resource's JSON form.
func applyOp(m map[string]any, op patchOp, allowed []string) error {
	if op.Path == "" {
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return bad("invalidValue", "an operation without a path needs an object value")
		}
		for k, v := range obj {
			if err := applyOp(m, patchOp{Op: op.Op, Path: k, Value: v}, allowed); err != nil {
				return err
			}
		}
		return nil
	}
	// The enterprise extension's attributes are addressed by their schema URN.
	if rest, ok := strings.CutPrefix(op.Path, SchemaEnterprise+":"); ok {
		ext, _ := m[SchemaEnterprise].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
		}
		if err := applyOp(ext, patchOp{Op: op.Op, Path: rest, Value: op.Value}, []string{rest}); err != nil {
			return err
		}
		m[SchemaEnterprise] = ext
		return nil
	}
	if vp := valuePath.FindStringSubmatch(op.Path); vp != nil {
		return applyTyped(m, op, vp[1], vp[2], vp[3], allowed)
	}
	attr, sub, _ := strings.Cut(op.Path, ".")
	name := canonical(attr, allowed)
	if name == "" || strings.ContainsAny(op.Path, "[]") {
		return bad("invalidPath", "cannot apply %s to %q", op.Op, op.Path)
	}
	if sub != "" {
		inner, _ := m[name].(map[string]any)
		if inner == nil {
			inner = map[string]any{}
		}
		if op.Op == "remove" {
			delete(inner, sub)
		} else {
			inner[sub] = op.Value
		}
		m[name] = inner
		return nil
	}
	switch op.Op {
	case "remove":
		delete(m, name)
	case "add":
		// Adding to a multi-valued attribute appends; to a single value, sets it.
		if cur, ok := m[name].([]any); ok {
			if more, ok := op.Value.([]any); ok {
				m[name] = append(cur, more...)
				return nil
			}
		}
		m[name] = op.Value
	default:
		m[name] = op.Value
	}
	return nil
}

// applyTyped sets (or removes) a sub-attribute of the element of a multi-valued attribute
// whose type is typ, adding the element when there is none.
func applyTyped(m map[string]any, op patchOp, attr, typ, sub string, allowed []string) error {
	name := canonical(attr, allowed)
	if name == "" {
		return bad("invalidPath", "unknown attribute %q", attr)
	}
	list, _ := m[name].([]any)
	for i, el := range list {
		e, ok := el.(map[string]any)
		if !ok || !strings.EqualFold(asString(e["type"]), typ) {
			continue
		}
		switch {
		case op.Op == "remove" && sub == "":
			m[name] = append(list[:i], list[i+1:]...)
		case op.Op == "remove":
			delete(e, sub)
		case sub == "":
			if v, ok := op.Value.(map[string]any); ok {
				v["type"] = typ
				list[i] = v
			}
		default:
			e[sub] = op.Value
		}
		return nil
	}
	if op.Op == "remove" {
		return nil
	}
	el := map[string]any{"type": typ}
	if sub == "" {
		if v, ok := op.Value.(map[string]any); ok {
			for k, x := range v {
				el[k] = x
			}
		}
	} else {
		el[sub] = op.Value
	}
	m[name] = append(list, el)
	return nil
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}
