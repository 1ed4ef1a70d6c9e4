package blueprint

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/berth-platform/berth/internal/errs"
)

// Values are a blueprint's parameters after validation: string, int64 or bool each.
type Values map[string]any

func (v Values) str(name string) string { s, _ := v[name].(string); return s }
func (v Values) num(name string) int64  { n, _ := v[name].(int64); return n }
func (v Values) flag(name string) bool  { b, _ := v[name].(bool); return b }

const defaultMaxLength = 253

// value checks one input against the parameter and returns its typed value.
func (p Parameter) value(in any) (any, error) {
	switch p.Type {
	case TypeEnum:
		s, ok := in.(string)
		if !ok || !slices.Contains(p.Options, s) {
			return nil, fmt.Errorf("must be one of %s", strings.Join(p.Options, ", "))
		}
		return s, nil
	case TypeInteger:
		var n int64
		switch x := in.(type) {
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Errorf("must be an integer")
			}
			n = int64(x)
		case int64:
			n = x
		case int:
			n = int64(x)
		default:
			return nil, fmt.Errorf("must be an integer")
		}
		if p.Min != nil && n < *p.Min {
			return nil, fmt.Errorf("must be at least %d", *p.Min)
		}
		if p.Max != nil && n > *p.Max {
			return nil, fmt.Errorf("must be at most %d", *p.Max)
		}
		return n, nil
	case TypeBoolean:
		b, ok := in.(bool)
		if !ok {
			return nil, fmt.Errorf("must be true or false")
		}
		return b, nil
	case TypeString:
		s, ok := in.(string)
		if !ok {
			return nil, fmt.Errorf("must be a string")
		}
		max := p.MaxLength
		if max == 0 {
			max = defaultMaxLength
		}
		if len(s) > max {
			return nil, fmt.Errorf("must be at most %d characters", max)
		}
		if p.Pattern != "" && !regexp.MustCompile(p.Pattern).MatchString(s) {
			return nil, fmt.Errorf("must match %s", p.Pattern)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown parameter type %s", p.Type)
}

// Resolve checks a developer's parameters against the blueprint, fills defaults, and names
// every bad field (JSON pointers under /parameters).
func Resolve(bp *Blueprint, in map[string]any) (Values, error) {
	inv := &errs.InvalidError{}
	out := Values{}
	known := map[string]bool{}
	for _, p := range bp.Spec.Parameters {
		known[p.Name] = true
		raw, given := in[p.Name]
		if !given || raw == nil {
			switch {
			case p.Default != nil:
				v, _ := p.value(p.Default)
				out[p.Name] = v
			case p.Required:
				inv.Fields = append(inv.Fields, errs.Field{Pointer: "/parameters/" + p.Name, Detail: "is required"})
			}
			continue
		}
		v, err := p.value(raw)
		if err != nil {
			inv.Fields = append(inv.Fields, errs.Field{Pointer: "/parameters/" + p.Name, Detail: err.Error()})
			continue
		}
		out[p.Name] = v
	}
	for name := range in {
		if !known[name] {
			inv.Fields = append(inv.Fields, errs.Field{Pointer: "/parameters/" + escape(name), Detail: "unknown parameter of blueprint " + bp.Metadata.Name})
		}
	}
	s := bp.Spec
	if s.Produces.Autoscaling && out.num(s.Produces.MaxReplicasParameter) < out.num(s.Workload.ReplicasParameter) {
		inv.Fields = append(inv.Fields, errs.Field{Pointer: "/parameters/" + s.Produces.MaxReplicasParameter, Detail: "must be at least the replicas"})
	}
	if len(inv.Fields) > 0 {
		sort.Slice(inv.Fields, func(i, j int) bool { return inv.Fields[i].Pointer < inv.Fields[j].Pointer })
		return nil, inv
	}
	return out, nil
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// JSONSchema describes the parameters for Backstage forms (and any JSON Schema validator).
func JSONSchema(bp *Blueprint) map[string]any {
	props := map[string]any{}
	var required []string
	for _, p := range bp.Spec.Parameters {
		s := map[string]any{}
		if p.Title != "" {
			s["title"] = p.Title
		}
		if p.Description != "" {
			s["description"] = p.Description
		}
		switch p.Type {
		case TypeEnum:
			s["type"], s["enum"] = "string", p.Options
		case TypeInteger:
			s["type"] = "integer"
			if p.Min != nil {
				s["minimum"] = *p.Min
			}
			if p.Max != nil {
				s["maximum"] = *p.Max
			}
		case TypeBoolean:
			s["type"] = "boolean"
		case TypeString:
			s["type"] = "string"
			if p.Pattern != "" {
				s["pattern"] = p.Pattern
			}
			max := p.MaxLength
			if max == 0 {
				max = defaultMaxLength
			}
			s["maxLength"] = max
		}
		if p.Default != nil {
			s["default"] = p.Default
		}
		if p.Required && p.Default == nil {
			required = append(required, p.Name)
		}
		props[p.Name] = s
	}
	schema := map[string]any{"type": "object", "additionalProperties": false, "properties": props}
	if len(required) > 0 {
		schema["required"] = required
	}
	return schema
}
