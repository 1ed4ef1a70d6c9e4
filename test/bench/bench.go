// Package bench writes benchmark summaries next to `make bench`'s raw output, so that the
// numbers a benchmark computes itself (percentiles, throughput per run) are kept in the
// repository's test/bench folder whatever the test's working directory.
package bench

import (
	"os"
	"path/filepath"

	"github.com/berth-platform/berth/internal/kube"
)

// Write replaces test/bench/<name> with content.
func Write(name, content string) error {
	root, err := kube.RepoRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, "test", "bench", name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}
