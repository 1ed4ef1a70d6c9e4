// Package backstage turns Berth's teams, members, environments and services into Backstage
// catalog entities, with the annotations that Backstage's Kubernetes and Argo CD plugins
// read, so that a catalog provider only has to copy them.
package backstage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/store"
)

// APIVersion of every entity Berth emits.
const APIVersion = "backstage.io/v1alpha1"

// Entity is a Backstage catalog entity.
type Entity struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   Metadata       `json:"metadata"`
	Spec       map[string]any `json:"spec"`
}

// Metadata is an entity's metadata.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Title       string            `json:"title,omitempty"`
	Description string            `json:"description,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Tags        []string          `json:"tags,omitempty"`
	Links       []Link            `json:"links,omitempty"`
}

// Link is a URL shown on an entity's page.
type Link struct {
	URL   string `json:"url"`
	Title string `json:"title,omitempty"`
}

// Team is one team's data.
type Team struct {
	Team         store.Team
	Members      []store.Member
	Environments []store.Environment
	Services     []store.Service
}

// Ref is an entity reference, kind:namespace/name.
func Ref(kind, namespace, name string) string {
	return strings.ToLower(kind) + ":" + namespace + "/" + name
}

var userRef = regexp.MustCompile(`^user:([a-z0-9][-a-z0-9_.]*)/([A-Za-z0-9][-A-Za-z0-9_.]*)$`)

// Entities builds the catalog of teams. Services' endpoints and databases come from their
// blueprints; a service whose blueprint is gone still appears, without them.
func Entities(teams []Team, blueprints *blueprint.Catalog, hosts blueprint.HostNamer) []Entity {
	var out []Entity
	users := map[string]*Entity{} // by ref
	for _, t := range teams {
		name := t.Team.Name
		group := Ref("Group", "default", name)
		system := Ref("System", "default", name)
		labels := map[string]string{"berth.dev/team": name}
		out = append(out, Entity{APIVersion: APIVersion, Kind: "Group",
			Metadata: Metadata{Name: name, Namespace: "default", Title: t.Team.DisplayName, Description: t.Team.Description, Labels: labels},
			Spec:     map[string]any{"type": "team", "profile": map[string]any{"displayName": displayName(t.Team)}, "children": []string{}}})
		out = append(out, Entity{APIVersion: APIVersion, Kind: "System",
			Metadata: Metadata{Name: name, Namespace: "default", Title: displayName(t.Team) + " services", Description: "Services of team " + name + ", provisioned by Berth.", Labels: labels},
			Spec:     map[string]any{"owner": group}})
		for _, m := range t.Members {
			match := userRef.FindStringSubmatch(m.Name)
			if m.Kind != "user" || match == nil {
				continue // IdP subjects and groups are not Backstage users
			}
			ref := Ref("User", match[1], match[2])
			u, ok := users[ref]
			if !ok {
				u = &Entity{APIVersion: APIVersion, Kind: "User", Metadata: Metadata{Name: match[2], Namespace: match[1]}, Spec: map[string]any{"memberOf": []string{}}}
				users[ref] = u
			}
			u.Spec["memberOf"] = append(u.Spec["memberOf"].([]string), group)
		}
		for _, e := range t.Environments {
			out = append(out, Entity{APIVersion: APIVersion, Kind: "Resource",
				Metadata: Metadata{Name: e.Namespace, Namespace: name, Title: name + " " + e.Name, Description: "Kubernetes namespace of team " + name + "'s " + e.Name + " environment.",
					Labels: labels, Annotations: map[string]string{"berth.dev/environment": e.Name, "berth.dev/cluster": clusterName(e.Cluster),
						"backstage.io/kubernetes-namespace": e.Namespace}},
				Spec: map[string]any{"type": "kubernetes-namespace", "owner": group, "system": system}})
		}
		for _, s := range t.Services {
			out = append(out, ServiceEntities(name, s, blueprints, hosts)...)
		}
	}
	for _, u := range users {
		slices.Sort(u.Spec["memberOf"].([]string))
		out = append(out, *u)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return Ref(a.Kind, a.Metadata.Namespace, a.Metadata.Name) < Ref(b.Kind, b.Metadata.Namespace, b.Metadata.Name)
	})
	return out
}

// ServiceEntities is a service's Component and, with a database, its Resource (the Component
// last).
func ServiceEntities(team string, s store.Service, blueprints *blueprint.Catalog, hosts blueprint.HostNamer) []Entity {
	group, system := Ref("Group", "default", team), Ref("System", "default", team)
	ann := map[string]string{
		blueprint.KubernetesIDLabel:              blueprint.KubernetesID(team, s.Name),
		"backstage.io/kubernetes-label-selector": "app.kubernetes.io/name=" + s.Name + ",app.kubernetes.io/part-of=" + team,
		"argocd/app-selector":                    "berth.dev/team=" + team + ",berth.dev/service=" + s.Name,
		"berth.dev/team":                         team,
		"berth.dev/service":                      s.Name,
		"berth.dev/blueprint":                    s.Blueprint,
		"berth.dev/image":                        s.Image + ":" + s.Tag,
		"berth.dev/environments":                 strings.Join(s.Environments, ","),
	}
	if len(s.Environments) > 0 {
		// The Argo CD plugin's single-application view shows the first environment (dev).
		ann["argocd/app-name"] = argocd.AppName(argocd.Team{ID: s.TeamID, Name: team}, s.Name, s.Environments[0])
	}
	if s.Repo != "" {
		ann["backstage.io/source-location"] = "url:" + s.Repo
		if slug, ok := githubSlug(s.Repo); ok {
			ann["github.com/project-slug"] = slug
		}
	}
	lifecycle := "experimental"
	if slices.Contains(s.Environments, "prod") {
		lifecycle = "production"
	}
	spec := map[string]any{"type": "service", "lifecycle": lifecycle, "owner": group, "system": system}
	meta := Metadata{Name: s.Name, Namespace: team, Title: s.Name, Description: fmt.Sprintf("Service of team %s from the %s blueprint.", team, s.Blueprint),
		Labels: map[string]string{"berth.dev/team": team}, Annotations: ann, Tags: []string{s.Blueprint}}
	var out []Entity
	if bp, err := blueprints.Get(s.Blueprint); err == nil {
		if lang := bp.Spec.Runtime.Language; lang != "" {
			meta.Tags = append(meta.Tags, lang)
		}
		if v, err := blueprint.Resolve(bp, s.Parameters); err == nil {
			fp := blueprint.FootprintOf(bp, team, s.Name, v)
			if fp.Public {
				if byEnv, err := hosts.Hosts(team, s.Name, s.Environments, fp.CustomHost); err == nil {
					for _, e := range s.Environments {
						meta.Links = append(meta.Links, Link{URL: hosts.URL(byEnv[e]), Title: "Public endpoint (" + e + ")"})
					}
				}
			}
			if fp.DatabaseSecret != "" {
				db := s.Name + "-db"
				spec["dependsOn"] = []string{Ref("Resource", team, db)}
				out = append(out, Entity{APIVersion: APIVersion, Kind: "Resource",
					Metadata: Metadata{Name: db, Namespace: team, Title: s.Name + " database", Description: "PostgreSQL database of " + s.Name + ", one per environment.",
						Labels: map[string]string{"berth.dev/team": team}, Annotations: map[string]string{"berth.dev/service": s.Name, "berth.dev/secret": fp.DatabaseSecret}},
					Spec: map[string]any{"type": "database", "owner": group, "system": system}})
			}
		}
	}
	return append(out, Entity{APIVersion: APIVersion, Kind: "Component", Metadata: meta, Spec: spec})
}

func displayName(t store.Team) string {
	if t.DisplayName != "" {
		return t.DisplayName
	}
	return t.Name
}

func clusterName(c string) string {
	if c == "" {
		return "berth"
	}
	return c
}

var githubURL = regexp.MustCompile(`^https://github\.com/([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(\.git)?/?$`)

func githubSlug(repo string) (string, bool) {
	m := githubURL.FindStringSubmatch(repo)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ETag identifies a list of entities: it changes when any of them does.
func ETag(entities []Entity) string {
	b, _ := json.Marshal(entities)
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}
