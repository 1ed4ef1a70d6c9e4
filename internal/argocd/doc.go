// Package argocd manages what Argo CD needs to deploy Berth's services: the AppProject of each
// team, the Application of each service environment, the repository Secret that carries the
// GitOps repository's credentials, and reads of their status (from an informer), history,
// sync and rollback. Argo CD, not Berth, applies the manifests; the repository itself is
// internal/gitops's.
package argocd
