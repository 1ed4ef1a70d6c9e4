// Package actions loads the scaffolder action definitions embedded from scaffolder-actions/
// and ties each to the API operation it calls, whose method and path come from the OpenAPI
// document, so a definition can never point at an operation that does not exist.
package actions

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"
)

// Example is a template step that uses an action.
type Example struct {
	Description string `json:"description"`
	Example     string `json:"example"`
}

// Definition is one scaffolder action.
type Definition struct {
	ID             string         `json:"id"`
	Description    string         `json:"description"`
	OperationID    string         `json:"operationId"`
	SupportsDryRun bool           `json:"supportsDryRun"`
	Input          map[string]any `json:"input"`
	Output         map[string]any `json:"output"`
	Examples       []Example      `json:"examples"`
	// Safe says the operation changes nothing (a POST that only renders): a dry run calls it.
	Safe bool `json:"safe,omitempty"`
	// WorkspaceFiles names the output field of files ({path, content}) that the action writes
	// into the task's workspace, under the input targetPath (which is not sent to Berth).
	WorkspaceFiles string `json:"workspaceFiles,omitempty"`
	// Method and Path are filled from the OpenAPI document.
	Method string `json:"-"`
	Path   string `json:"-"`
	// DryRunParameter is the operation's boolean query parameter that makes it check without
	// changing anything ("" when it has none), from the OpenAPI document.
	DryRunParameter string `json:"-"`
}

var idPattern = regexp.MustCompile(`^berth:[a-z]+(:[a-z-]+)+$`)

// Load reads every *.yaml in fsys and resolves its operation in doc.
func Load(fsys fs.FS, doc *openapi3.T) ([]Definition, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, err
	}
	ops := operations(doc)
	var defs []Definition
	seen := map[string]string{}
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var d Definition
		if err := yaml.UnmarshalStrict(raw, &d); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := check(d, ops); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if prev, dup := seen[d.ID]; dup {
			return nil, fmt.Errorf("%s: action %s is also defined in %s", f, d.ID, prev)
		}
		seen[d.ID] = f
		op := ops[d.OperationID]
		d.Method, d.Path, d.DryRunParameter = op.method, op.path, op.dryRun
		defs = append(defs, d)
	}
	slices.SortFunc(defs, func(a, b Definition) int { return strings.Compare(a.ID, b.ID) })
	return defs, nil
}

type operation struct{ method, path, dryRun string }

func operations(doc *openapi3.T) map[string]operation {
	out := map[string]operation{}
	for p, item := range doc.Paths.Map() {
		for m, op := range item.Operations() {
			o := operation{method: strings.ToUpper(m), path: p}
			for _, ref := range op.Parameters {
				if par := ref.Value; par != nil && par.In == "query" && par.Name == "dryRun" {
					o.dryRun = par.Name
				}
			}
			out[op.OperationID] = o
		}
	}
	return out
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

func check(d Definition, ops map[string]operation) error {
	if !idPattern.MatchString(d.ID) {
		return fmt.Errorf("id %q is not berth:<area>:<verb>", d.ID)
	}
	if d.Description == "" || len(d.Examples) == 0 {
		return fmt.Errorf("%s needs a description and at least one example", d.ID)
	}
	op, ok := ops[d.OperationID]
	if !ok {
		return fmt.Errorf("%s calls operation %q, which the API does not have", d.ID, d.OperationID)
	}
	if op.method == http.MethodGet && !d.SupportsDryRun {
		return fmt.Errorf("%s only reads: it should support dry runs", d.ID)
	}
	props, _ := d.Input["properties"].(map[string]any)
	for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
		if _, ok := props[m[1]]; !ok {
			return fmt.Errorf("%s: input has no %q for the path %s", d.ID, m[1], path.Clean(op.path))
		}
	}
	if d.WorkspaceFiles != "" {
		outs, _ := d.Output["properties"].(map[string]any)
		if _, ok := outs[d.WorkspaceFiles]; !ok {
			return fmt.Errorf("%s: workspaceFiles names %q, which the output does not have", d.ID, d.WorkspaceFiles)
		}
		if _, ok := props["targetPath"]; !ok {
			return fmt.Errorf("%s: an action that writes workspace files takes a targetPath input", d.ID)
		}
	}
	if d.Safe && !d.SupportsDryRun {
		return fmt.Errorf("%s changes nothing: it should support dry runs", d.ID)
	}
	for _, s := range []map[string]any{d.Input, d.Output} {
		if s["type"] != "object" {
			return fmt.Errorf("%s: input and output schemas must be objects", d.ID)
		}
	}
	return nil
}
