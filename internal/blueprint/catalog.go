package blueprint

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/berth-platform/berth/internal/errs"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

//go:embed builtin/*.yaml
var builtin embed.FS

// Catalog is every blueprint Berth offers, by name: the built-in ones, then a folder's, then
// a Git repository's, a later layer replacing an earlier blueprint of the same name. The Git
// layer is swapped whole when the repository moves on; readers never see half of it.
type Catalog struct {
	mu     sync.RWMutex
	byName map[string]*Blueprint
	names  []string
	base   []layer
}

// layer is one source of blueprints.
type layer struct {
	fsys   fs.FS
	dir    string
	source string
}

// Load reads the built-in blueprints and, if dir is not "", every *.yaml in dir. A blueprint
// in dir replaces a built-in one of the same name.
func Load(dir string) (*Catalog, error) {
	c := &Catalog{base: []layer{{builtin, "builtin", SourceBuiltin}}}
	if dir != "" {
		c.base = append(c.base, layer{os.DirFS(dir), ".", SourceFolder})
	}
	byName, names, err := build(c.base)
	if err != nil {
		return nil, err
	}
	c.byName, c.names = byName, names
	return c, nil
}

// Where a blueprint comes from.
const (
	SourceBuiltin = "builtin"
	SourceFolder  = "folder"
	SourceGit     = "git"
)

// SetGit replaces the Git layer with the blueprints in dir of fsys, found at revision. A
// layer with a broken blueprint is refused whole and the catalog stays as it was, so that a
// bad commit in the blueprints repository never takes a blueprint away.
func (c *Catalog) SetGit(fsys fs.FS, dir, revision string) error {
	byName, names, err := build(append(slices.Clone(c.base), layer{fsys, dir, SourceGit + "@" + revision}))
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byName, c.names = byName, names
	return nil
}

func build(layers []layer) (map[string]*Blueprint, []string, error) {
	byName := map[string]*Blueprint{}
	for _, l := range layers {
		files, err := fs.Glob(l.fsys, path.Join(l.dir, "*.yaml"))
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			raw, err := fs.ReadFile(l.fsys, f)
			if err != nil {
				return nil, nil, err
			}
			var bp Blueprint
			if err := yaml.UnmarshalStrict(raw, &bp); err != nil {
				return nil, nil, fmt.Errorf("%s blueprint %s: %w", l.source, f, err)
			}
			if err := Check(&bp); err != nil {
				return nil, nil, fmt.Errorf("%s blueprint %s: %w", l.source, f, err)
			}
			bp.Source = l.source
			byName[bp.Metadata.Name] = &bp
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return byName, names, nil
}

// List returns the blueprints by name.
func (c *Catalog) List() []*Blueprint {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]*Blueprint, len(c.names))
	for i, n := range c.names {
		out[i] = c.byName[n]
	}
	return out
}

// Get returns a blueprint or ErrNotFound.
func (c *Catalog) Get(name string) (*Blueprint, error) {
	c.mu.RLock()
	bp, ok := c.byName[name]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("blueprint %s: %w", name, errs.ErrNotFound)
	}
	return bp, nil
}

var nameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// Check validates a blueprint definition: what platform engineers write is checked at load,
// so that a developer never meets a broken blueprint.
func Check(bp *Blueprint) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if bp.APIVersion != APIVersion || bp.Kind != Kind {
		bad("apiVersion/kind must be %s %s", APIVersion, Kind)
	}
	if !nameRE.MatchString(bp.Metadata.Name) || len(bp.Metadata.Name) > 40 {
		bad("metadata.name %q is not a DNS label of at most 40 characters", bp.Metadata.Name)
	}
	params := map[string]Parameter{}
	for _, p := range bp.Spec.Parameters {
		if _, dup := params[p.Name]; dup {
			bad("parameter %s is defined twice", p.Name)
		}
		params[p.Name] = p
		if err := checkParameter(p); err != nil {
			bad("parameter %s: %v", p.Name, err)
		}
	}
	ref := func(field, name, typ string, required bool) {
		if name == "" {
			if required {
				bad("%s is required", field)
			}
			return
		}
		if p, ok := params[name]; !ok || p.Type != typ {
			bad("%s names %q, which is not a %s parameter", field, name, typ)
		}
	}
	s := bp.Spec
	switch s.Runtime.Language {
	case "node", "go":
	default:
		bad("runtime.language must be node or go")
	}
	if (s.Runtime.VersionParameter == "") == (s.Runtime.Version == "") {
		bad("runtime: give version or versionParameter")
	}
	ref("runtime.versionParameter", s.Runtime.VersionParameter, TypeEnum, false)
	ref("workload.replicasParameter", s.Workload.ReplicasParameter, TypeInteger, true)
	ref("produces.publicParameter", s.Produces.PublicParameter, TypeBoolean, false)
	ref("produces.maxReplicasParameter", s.Produces.MaxReplicasParameter, TypeInteger, s.Produces.Autoscaling)
	ref("infrastructure.databaseParameter", s.Infrastructure.DatabaseParameter, TypeBoolean, false)
	if s.Produces.PublicParameter != "" && !s.Produces.Service {
		bad("produces.publicParameter needs produces.service")
	}
	w := s.Workload
	if s.Produces.Service && (w.Port < 1 || w.Port > 65535) {
		bad("workload.port must be a port when the blueprint produces a Service")
	}
	if w.HealthPort < 1 || w.HealthPort > 65535 {
		bad("workload.healthPort must be a port")
	}
	for _, p := range []string{w.LivenessPath, w.ReadinessPath} {
		if !strings.HasPrefix(p, "/") {
			bad("probe path %q must start with /", p)
		}
	}
	for _, q := range []string{w.CPURequest, w.MemoryRequest, w.CPULimit, w.MemoryLimit} {
		if _, err := resource.ParseQuantity(q); err != nil {
			bad("resource %q: %v", q, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("blueprint %s: %s", bp.Metadata.Name, strings.Join(problems, "; "))
	}
	return nil
}

func checkParameter(p Parameter) error {
	if !regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`).MatchString(p.Name) {
		return fmt.Errorf("name must be lowerCamelCase")
	}
	switch p.Type {
	case TypeEnum:
		if len(p.Options) == 0 {
			return fmt.Errorf("an enum needs options")
		}
	case TypeInteger:
		if p.Min != nil && p.Max != nil && *p.Min > *p.Max {
			return fmt.Errorf("min above max")
		}
	case TypeString:
		if p.Pattern != "" {
			if _, err := regexp.Compile(p.Pattern); err != nil {
				return fmt.Errorf("pattern: %w", err)
			}
		}
	case TypeBoolean:
	default:
		return fmt.Errorf("type must be enum, integer, boolean or string")
	}
	if p.Default != nil {
		if _, err := p.value(p.Default); err != nil {
			return fmt.Errorf("default: %v", err)
		}
	}
	return nil
}
