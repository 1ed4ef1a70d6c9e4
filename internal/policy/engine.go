package policy

import (
	"context"
	"fmt"
	"sort"

	policiesv1beta1 "github.com/kyverno/api/api/policies.kyverno.io/v1beta1"
	celengine "github.com/kyverno/kyverno/pkg/cel/engine"
	"github.com/kyverno/kyverno/pkg/cel/matching"
	vpolcompiler "github.com/kyverno/kyverno/pkg/cel/policies/vpol/compiler"
	vpolengine "github.com/kyverno/kyverno/pkg/cel/policies/vpol/engine"
	engineapi "github.com/kyverno/kyverno/pkg/engine/api"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Setting is how one policy runs: its mode and parameter (nil: the library's default).
type Setting struct {
	Mode  string
	Param []string
}

// Finding is one resource that fails one policy.
type Finding struct {
	Policy      string `json:"policy"`
	Title       string `json:"title"`
	Severity    string `json:"severity"`
	Mode        string `json:"mode"`
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name"`
	Message     string `json:"message"`
	Remediation string `json:"remediation"`
}

// Evaluator checks manifests in-process with Kyverno's ValidatingPolicy engine, against the
// policies that are not off.
type Evaluator struct {
	lib      *Library
	settings map[string]Setting
	engine   vpolengine.Engine
}

// NewEvaluator compiles the enabled policies of lib under settings (a policy missing from
// settings runs in its default mode).
func NewEvaluator(lib *Library, settings map[string]Setting) (*Evaluator, error) {
	eff := map[string]Setting{}
	var pols []policiesv1beta1.ValidatingPolicyLike
	for _, p := range lib.List() {
		s, ok := settings[p.Name]
		if !ok {
			s = Setting{Mode: p.DefaultMode}
		}
		if s.Mode == ModeOff {
			continue
		}
		eff[p.Name] = s
		vp := p.Kyverno(p.Name, ModeEnforce, s.Param, nil)
		// Preflight decides scope itself (the objects are bound for a team namespace); the
		// engine has no namespaces to match selectors against.
		vp.Spec.MatchConstraints.NamespaceSelector = nil
		pols = append(pols, vp)
	}
	provider, err := vpolengine.NewProvider(vpolcompiler.NewCompiler(), pols, nil)
	if err != nil {
		return nil, fmt.Errorf("compile policies: %w", err)
	}
	return &Evaluator{lib: lib, settings: eff, engine: vpolengine.NewEngine(provider, func(string) *corev1.Namespace { return nil }, matching.NewMatcher())}, nil
}

// Evaluate checks each object as if it were created in namespace (or its own, when set).
func (e *Evaluator) Evaluate(ctx context.Context, objects []*unstructured.Unstructured, namespace string) ([]Finding, error) {
	var out []Finding
	for _, obj := range objects {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = namespace
		}
		gvk := obj.GroupVersionKind()
		gvr, _ := meta.UnsafeGuessKindToResource(gvk)
		o := obj.DeepCopy()
		o.SetNamespace(ns)
		req := celengine.Request(nil, gvk, gvr, "", o.GetName(), ns, admissionv1.Create, authenticationv1.UserInfo{}, o, nil, false, nil)
		resp, err := e.engine.Handle(ctx, req, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", gvk.Kind, o.GetName(), err)
		}
		for _, pr := range resp.Policies {
			p := e.lib.Get(pr.Policy.GetName())
			if p == nil {
				continue
			}
			for _, r := range pr.Rules {
				if r.Status() != engineapi.RuleStatusFail && r.Status() != engineapi.RuleStatusError {
					continue
				}
				out = append(out, Finding{Policy: p.Name, Title: p.Title, Severity: p.Severity, Mode: e.settings[p.Name].Mode,
					Kind: gvk.Kind, Namespace: ns, Name: o.GetName(), Message: r.Message(), Remediation: p.Remediation})
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Mode != b.Mode {
			return a.Mode == ModeEnforce
		}
		return a.Policy+a.Kind+a.Name < b.Policy+b.Kind+b.Name
	})
	return out, nil
}
