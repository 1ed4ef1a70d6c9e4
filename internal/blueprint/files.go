package blueprint

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization that Berth writes.
type kustomization struct {
	APIVersion string           `json:"apiVersion"`
	Kind       string           `json:"kind"`
	Namespace  string           `json:"namespace,omitempty"`
	Resources  []string         `json:"resources"`
	Labels     []kustomizeLabel `json:"labels,omitempty"`
	Images     []kustomizeImage `json:"images,omitempty"`
}

type kustomizeLabel struct {
	Pairs            map[string]string `json:"pairs"`
	IncludeSelectors bool              `json:"includeSelectors"`
}

type kustomizeImage struct {
	Name   string `json:"name"`
	NewTag string `json:"newTag"`
}

func marshal(path string, v any) (File, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return File{Path: path, Content: b}, nil
}

// kustomizations writes the base (which pins the image tag: CI bumps it there) and one
// overlay per environment, which sets the namespace and the environment label and, for a
// public service, holds the environment's Ingress (each environment has a host of its own).
func kustomizations(out *Rendered, in Input, resources []string, public bool, labels map[string]string) error {
	dir := ServiceDir(in.Team, in.Service)
	base, err := marshal(dir+"base/kustomization.yaml", kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization",
		Resources: resources, Images: []kustomizeImage{{Name: in.Image, NewTag: in.Tag}}})
	if err != nil {
		return err
	}
	out.GitOps = append(out.GitOps, base)
	for _, e := range in.Environments {
		res := []string{"../../base"}
		if public {
			b, err := manifest(ingress(in, e, labels))
			if err != nil {
				return err
			}
			out.GitOps = append(out.GitOps, File{Path: dir + "overlays/" + e.Name + "/ingress.yaml", Content: b})
			res = append(res, "ingress.yaml")
		}
		f, err := marshal(dir+"overlays/"+e.Name+"/kustomization.yaml", kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization",
			Namespace: e.Namespace, Resources: res,
			Labels: []kustomizeLabel{{Pairs: map[string]string{"berth.dev/environment": e.Name}, IncludeSelectors: false}}})
		if err != nil {
			return err
		}
		out.GitOps = append(out.GitOps, f)
	}
	return nil
}

// databaseClaim requests a PostgreSQL database from the platform's Crossplane composition
// (the XRD `PostgreSQLInstance` of group platform.berth.dev, documented in the README), one
// per environment: it is part of the base. Crossplane writes its connection details to the
// Secret the Deployment reads; nothing secret is in Git.
func databaseClaim(in Input, path string) (File, error) {
	claim := map[string]any{
		"apiVersion": "platform.berth.dev/v1alpha1", "kind": "PostgreSQLInstance",
		"metadata": map[string]any{"name": in.Service + "-db", "labels": map[string]string{"berth.dev/team": in.Team, "berth.dev/service": in.Service}},
		"spec": map[string]any{
			"parameters":                 map[string]any{"engineVersion": "16", "storageGB": 20},
			"writeConnectionSecretToRef": map[string]any{"name": in.Service + "-db"},
		},
	}
	return marshal(path, claim)
}

// Pinned base images per runtime and version. Tags are exact; digests belong to the
// platform's image policy (a registry mirror), not to Berth.
var (
	nodeBuild   = map[string]string{"18": "node:18.20.8-bookworm-slim", "20": "node:20.19.2-bookworm-slim", "22": "node:22.16.0-bookworm-slim"}
	nodeRuntime = map[string]string{"18": "gcr.io/distroless/nodejs18-debian12:nonroot", "20": "gcr.io/distroless/nodejs20-debian12:nonroot", "22": "gcr.io/distroless/nodejs22-debian12:nonroot"}
)

// appFiles are the Dockerfile and CI pipeline for the application repository. Only
// blueprint-controlled values (the validated runtime version, ports) reach the Dockerfile.
func appFiles(bp *Blueprint, in Input) ([]File, error) {
	rt := bp.Spec.Runtime
	version := rt.Version
	if rt.VersionParameter != "" {
		version = in.Values.str(rt.VersionParameter)
	}
	port := max(bp.Spec.Workload.Port, bp.Spec.Workload.HealthPort)
	var df string
	switch rt.Language {
	case "node":
		build, runtime := nodeBuild[version], nodeRuntime[version]
		if build == "" {
			return nil, fmt.Errorf("blueprint %s: no pinned image for Node.js %s", bp.Metadata.Name, version)
		}
		df = strings.Join([]string{
			"# syntax=docker/dockerfile:1",
			"FROM " + build + " AS build",
			"WORKDIR /src",
			"COPY package.json package-lock.json ./",
			"RUN npm ci",
			"COPY . .",
			"RUN npm run build --if-present && npm prune --omit=dev",
			"",
			"FROM " + runtime,
			"WORKDIR /app",
			"COPY --from=build /src /app",
			"USER 10001:10001",
			fmt.Sprintf("ENV PORT=%d NODE_ENV=production", port),
			fmt.Sprintf("EXPOSE %d", port),
			`CMD ["index.js"]`,
		}, "\n") + "\n"
	case "go":
		df = strings.Join([]string{
			"# syntax=docker/dockerfile:1",
			"FROM golang:" + version + "-bookworm AS build",
			"WORKDIR /src",
			"COPY go.mod go.sum ./",
			"RUN go mod download",
			"COPY . .",
			"RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/app ./cmd/...",
			"",
			"FROM gcr.io/distroless/static-debian12:nonroot",
			"COPY --from=build /out/app /app",
			"USER 10001:10001",
			fmt.Sprintf("ENV PORT=%d", port),
			fmt.Sprintf("EXPOSE %d", port),
			`ENTRYPOINT ["/app"]`,
		}, "\n") + "\n"
	}
	ci, err := marshal(".github/workflows/berth.yaml", pipeline(rt.Language, version, in))
	if err != nil {
		return nil, err
	}
	return []File{{Path: "Dockerfile", Content: []byte(df)}, ci}, nil
}

// pipeline is a GitHub Actions workflow: build and test, push the image tagged with the
// commit, then release it through Berth's API. The release job holds no write access to the
// GitOps repository (which every team shares): it holds a Berth token that is an editor of
// this team only (a service token added as the team's member), and Berth commits the tag to
// the service's GitOps path with its policies, quota check, run and history. It retries while
// another release of the service is still running (409).
func pipeline(language, version string, in Input) map[string]any {
	setup := map[string]any{"uses": "actions/setup-node@v4", "with": map[string]any{"node-version": version, "cache": "npm"}}
	test := []any{map[string]any{"run": "npm ci"}, map[string]any{"run": "npm test --if-present"}}
	if language == "go" {
		setup = map[string]any{"uses": "actions/setup-go@v5", "with": map[string]any{"go-version": version}}
		test = []any{map[string]any{"run": "go vet ./..."}, map[string]any{"run": "go test ./..."}}
	}
	steps := append([]any{map[string]any{"uses": "actions/checkout@v4"}, setup}, test...)
	release := strings.Join([]string{
		`for attempt in 1 2 3 4 5 6 7 8 9 10; do`,
		`  code=$(curl -sS -o response.json -w '%{http_code}' -X PATCH "$BERTH_URL/api/v1/teams/$BERTH_TEAM/services/$BERTH_SERVICE" \`,
		`    -H "Authorization: Bearer $BERTH_TOKEN" -H 'Content-Type: application/json' \`,
		`    -H "Idempotency-Key: release-$GITHUB_SHA" -d "{\"tag\":\"$GITHUB_SHA\"}")`,
		`  cat response.json; echo`,
		`  case $code in 202) exit 0 ;; 409) sleep 30 ;; *) exit 1 ;; esac`,
		`done`,
		`exit 1`,
	}, "\n") + "\n"
	return map[string]any{
		"name":        in.Service,
		"on":          map[string]any{"push": map[string]any{"branches": []string{"main"}}, "pull_request": map[string]any{}},
		"permissions": map[string]any{"contents": "read", "packages": "write"},
		"env":         map[string]any{"IMAGE": in.Image},
		"jobs": map[string]any{
			"test": map[string]any{"runs-on": "ubuntu-latest", "steps": steps},
			"image": map[string]any{"needs": "test", "if": "github.ref == 'refs/heads/main'", "runs-on": "ubuntu-latest",
				"steps": []any{
					map[string]any{"uses": "actions/checkout@v4"},
					map[string]any{"uses": "docker/setup-buildx-action@v3"},
					map[string]any{"uses": "docker/build-push-action@v6", "with": map[string]any{"push": true, "tags": "${{ env.IMAGE }}:${{ github.sha }}"}},
				}},
			"release": map[string]any{"needs": "image", "runs-on": "ubuntu-latest", "permissions": map[string]any{},
				"env":   map[string]any{"BERTH_URL": "${{ vars.BERTH_URL }}", "BERTH_TOKEN": "${{ secrets.BERTH_TOKEN }}", "BERTH_TEAM": in.Team, "BERTH_SERVICE": in.Service},
				"steps": []any{map[string]any{"name": "Release the image to " + ServiceDir(in.Team, in.Service) + " through Berth", "run": release}}},
		},
	}
}
