package kube

import (
	"errors"
	"os"
	"path/filepath"
)

// PlaneScript finds hack/kube/plane.sh, the local control plane's script, in the Berth
// checkout that holds the working directory. `berth dev` and the test helper both use it.
func PlaneScript() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "hack", "kube", "plane.sh"), nil
}

// RepoRoot is the Berth checkout the working directory is in: the nearest folder above it
// with hack/kube/plane.sh (tests and `berth dev` run from inside a checkout).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "hack", "kube", "plane.sh")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hack/kube/plane.sh not found above the working directory: run from a Berth checkout")
		}
		dir = parent
	}
}
