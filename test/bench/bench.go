// Package bench writes benchmark summaries next to `make bench`'s raw output, so that the
// numbers a benchmark computes itself (percentiles, throughput per run) are kept in the
// repository's test/bench folder whatever the test's working directory.
package bench

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces test/bench/<name> with content.
func Write(name, content string) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "test", "bench", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	for err == nil {
		if _, serr := os.Stat(filepath.Join(dir, "go.mod")); serr == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("no go.mod above the working directory")
}
