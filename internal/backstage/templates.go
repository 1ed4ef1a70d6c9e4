package backstage

import (
	"fmt"
	"slices"

	"github.com/berth-platform/berth/internal/blueprint"
	"sigs.k8s.io/yaml"
)

const namePattern = "^[a-z]([-a-z0-9]*[a-z0-9])?$"

// TemplateOptions are what a platform's templates share.
type TemplateOptions struct {
	// Owner is the Group entity that owns the templates, e.g. group:default/platform.
	Owner string
	// Environments a new service may be deployed to (the --environments of Berth).
	Environments []string
}

// ServiceTemplate is the software Template (scaffolder.backstage.io/v1beta3) for one
// blueprint: a page for where the service goes and what it runs, and a page holding the
// blueprint's parameters exactly as Berth serves them (GET /api/v1/blueprints/{name}), so
// the form asks what Berth will check. Its steps write the application repository's files
// into the workspace (berth:service:app-files), create the service (berth:service:create) and,
// when a repository was picked, publish the workspace to it (publish:github).
func ServiceTemplate(bp *blueprint.Blueprint, o TemplateOptions) ([]byte, error) {
	schema := blueprint.JSONSchema(bp)
	props, _ := schema["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	slices.Sort(names)
	// Every page of a template fills one parameters object.
	for _, n := range names {
		if slices.Contains([]string{"owner", "name", "image", "tag", "repo", "environments"}, n) {
			return nil, fmt.Errorf("blueprint parameter %q has the name of a field the template asks itself", n)
		}
	}
	values := map[string]any{}
	for _, n := range names {
		values[n] = "${{ parameters['" + n + "'] }}"
	}
	options := map[string]any{"title": bp.Metadata.Title + " options", "type": "object", "properties": props}
	if req, ok := schema["required"]; ok {
		options["required"] = req
	}
	where := map[string]any{
		"title":    "Service",
		"type":     "object",
		"required": []string{"owner", "name", "image", "tag", "environments"},
		"properties": map[string]any{
			"owner": map[string]any{"title": "Team", "description": "The Berth team that owns the service.", "type": "string",
				"ui:field": "OwnedEntityPicker", "ui:options": map[string]any{"catalogFilter": map[string]any{"kind": "Group"}}},
			"name": map[string]any{"title": "Service name", "description": "Lowercase letters, digits and dashes; names its objects and repository folder.",
				"type": "string", "pattern": namePattern, "maxLength": 40},
			"image": map[string]any{"title": "Container image", "description": "Without tag, e.g. registry.example.com/payments/fraud-api.", "type": "string", "minLength": 1},
			"tag":   map[string]any{"title": "First tag to deploy", "description": "A version, never latest.", "type": "string", "default": "0.1.0"},
			"repo":  map[string]any{"title": "Source repository", "description": "Where the code lives (shown in the catalog).", "type": "string"},
			"environments": map[string]any{"title": "Environments", "type": "array", "uniqueItems": true, "minItems": 1, "default": o.Environments[:1],
				"items": map[string]any{"type": "string", "enum": o.Environments}, "ui:widget": "checkboxes"},
			"repoUrl": map[string]any{"title": "Create a repository", "description": "Optional: a new GitHub repository that gets the Dockerfile, CI workflow and catalog-info.yaml.",
				"type": "string", "ui:field": "RepoUrlPicker", "ui:options": map[string]any{"allowedHosts": []string{"github.com"}}},
		},
	}
	service := map[string]any{
		"team": "${{ parameters.owner | parseEntityRef | pick('name') }}", "name": "${{ parameters.name }}", "blueprint": bp.Metadata.Name,
		"image": "${{ parameters.image }}", "tag": "${{ parameters.tag }}", "repo": "${{ parameters.repo }}",
		"environments": "${{ parameters.environments }}", "parameters": values}
	t := template("berth-"+bp.Metadata.Name, bp.Metadata.Title+" (Berth)", bp.Metadata.Description, o.Owner, "service",
		[]string{"berth", bp.Spec.Runtime.Language}, []any{where, options},
		[]any{
			// The files first: Berth renders them from the same request, changing nothing.
			map[string]any{"id": "files", "name": "Application repository files", "action": "berth:service:app-files", "input": service},
			map[string]any{"id": "service", "name": "Create the service in Berth", "action": "berth:service:create", "input": service},
			// Only once Berth accepted the service does a repository get made.
			map[string]any{"id": "publish", "name": "Publish the repository", "if": "${{ parameters.repoUrl }}", "action": "publish:github",
				"input": map[string]any{"repoUrl": "${{ parameters.repoUrl }}", "description": "${{ parameters.name }}: " + bp.Metadata.Title + " (Berth)",
					"defaultBranch": "main", "repoVisibility": "private"}},
		},
		map[string]any{
			"links": []any{map[string]any{"title": "Open the service in the catalog", "icon": "catalog",
				"entityRef": "component:${{ parameters.owner | parseEntityRef | pick('name') }}/${{ parameters.name }}"}},
			"text": []any{map[string]any{"title": "Provisioning run", "content": "Berth run `${{ steps['service'].output.id }}` is " +
				"`${{ steps['service'].output.status }}`; the service's page shows its environments and runs as Argo CD deploys it."}},
		})
	return yaml.Marshal(t)
}

// TeamTemplate is the onboarding Template: it creates a Berth team (namespaces, quotas and
// roles per environment follow) whose admin is the person running it.
func TeamTemplate(o TemplateOptions) ([]byte, error) {
	params := map[string]any{
		"title":    "Team",
		"type":     "object",
		"required": []string{"name"},
		"properties": map[string]any{
			"name":        map[string]any{"title": "Team name", "description": "Namespaces are named after it.", "type": "string", "pattern": namePattern, "minLength": 2, "maxLength": 40},
			"displayName": map[string]any{"title": "Display name", "type": "string", "maxLength": 100},
			"description": map[string]any{"title": "What the team does", "type": "string", "maxLength": 1000},
		},
	}
	t := template("berth-team", "Team onboarding (Berth)", fmt.Sprintf("Creates a team with a namespace, quota and roles in each environment (%v); you become its admin.", o.Environments),
		o.Owner, "team", []string{"berth", "onboarding"}, []any{params},
		[]any{map[string]any{"id": "team", "name": "Create the team in Berth", "action": "berth:team:create", "input": map[string]any{
			"name": "${{ parameters.name }}", "displayName": "${{ parameters.displayName }}", "description": "${{ parameters.description }}"}}},
		map[string]any{"links": []any{map[string]any{"title": "Open the team in the catalog", "icon": "group", "entityRef": "group:default/${{ parameters.name }}"}}})
	return yaml.Marshal(t)
}

func template(name, title, description, owner, kind string, tags []string, params, steps []any, output map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": "scaffolder.backstage.io/v1beta3",
		"kind":       "Template",
		"metadata":   map[string]any{"name": name, "title": title, "description": description, "tags": tags},
		"spec":       map[string]any{"owner": owner, "type": kind, "parameters": params, "steps": steps, "output": output},
	}
}
