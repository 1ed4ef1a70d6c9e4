package backstage_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/backstage"
	"github.com/berth-platform/berth/internal/blueprint"
	"sigs.k8s.io/yaml"
)

func TestTemplates(t *testing.T) {
	catalog, err := blueprint.Load("")
	if err != nil {
		t.Fatal(err)
	}
	o := backstage.TemplateOptions{Owner: "group:default/platform", Environments: []string{"dev", "prod"}}
	for _, bp := range catalog.List() {
		raw, err := backstage.ServiceTemplate(bp, o)
		if err != nil {
			t.Fatal(err)
		}
		var tpl struct {
			Kind string
			Spec struct {
				Parameters []map[string]any
				Steps      []struct {
					Action string
					Input  map[string]any
				}
			}
		}
		if err := yaml.Unmarshal(raw, &tpl); err != nil {
			t.Fatal(err)
		}
		props := tpl.Spec.Parameters[1]["properties"].(map[string]any)
		var actions []string
		for _, st := range tpl.Spec.Steps {
			actions = append(actions, st.Action)
		}
		if tpl.Kind != "Template" || strings.Join(actions, " ") != "berth:service:app-files berth:service:create publish:github" || len(props) != len(bp.Spec.Parameters) {
			t.Fatalf("%s: %s", bp.Metadata.Name, raw)
		}
		// The files are rendered from exactly what creates the service.
		if !reflect.DeepEqual(tpl.Spec.Steps[0].Input, tpl.Spec.Steps[1].Input) {
			t.Errorf("%s: app-files input %v differs from create's %v", bp.Metadata.Name, tpl.Spec.Steps[0].Input, tpl.Spec.Steps[1].Input)
		}
		envs := tpl.Spec.Parameters[0]["properties"].(map[string]any)["environments"].(map[string]any)["items"].(map[string]any)["enum"]
		if len(envs.([]any)) != 2 {
			t.Errorf("%s: environments %v", bp.Metadata.Name, envs)
		}
	}
	// A blueprint parameter may not shadow a field the template asks itself.
	bp, _ := catalog.Get("go-api")
	clash := *bp
	clash.Spec.Parameters = append([]blueprint.Parameter{{Name: "image", Type: blueprint.TypeString}}, bp.Spec.Parameters...)
	if _, err := backstage.ServiceTemplate(&clash, o); err == nil || !strings.Contains(err.Error(), `"image"`) {
		t.Fatalf("clash: %v", err)
	}
	team, err := backstage.TeamTemplate(o)
	if err != nil || !strings.Contains(string(team), "berth:team:create") {
		t.Fatalf("team template: %v %s", err, team)
	}
}
