package kube

import (
	"errors"
	"os"
	"path/filepath"
)

// PlaneScript finds hack/kube/plane.sh, the local control plane's script, in the Berth
// checkout that holds the working directory. `berth dev` and the test helper both use it.
func PlaneScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "hack", "kube", "plane.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("hack/kube/plane.sh not found above the working directory: run from a Berth checkout")
		}
		dir = parent
	}
}
