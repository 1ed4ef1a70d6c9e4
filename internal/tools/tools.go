//go:build tools

// Package tools keeps modules in the graph before Berth's code imports them: Argo CD and
// Kyverno, whose binaries the local control plane builds from this same module graph
// (hack/kube), so that no later change has to fight the module graph.
package tools

import (
	_ "github.com/argoproj/argo-cd/v3/cmd"
	_ "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	_ "github.com/argoproj/argo-cd/v3/pkg/client/clientset/versioned"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/kyverno/kyverno/api/kyverno/v1"
	_ "github.com/kyverno/kyverno/cmd/kyverno"
	_ "github.com/kyverno/kyverno/cmd/reports-controller"
	_ "github.com/kyverno/kyverno/pkg/engine"
)
