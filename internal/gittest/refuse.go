package gittest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// RefusePushes installs a pre-receive hook in the bare repository that refuses every push,
// writing message, while the returned switch is on; it starts on. It is a remote that refuses
// for a while: a frozen branch, a hook of the platform's.
func RefusePushes(t testing.TB, bare, message string) (refuse func(on bool)) {
	t.Helper()
	flag := filepath.Join(t.TempDir(), "refusing")
	hook := "#!/bin/sh\nif [ -e '" + flag + "' ]; then\n  echo '" + strings.ReplaceAll(message, "'", "") + "' >&2\n  exit 1\nfi\n"
	if err := os.MkdirAll(filepath.Join(bare, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "hooks", "pre-receive"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	refuse = func(on bool) {
		var err error
		if on {
			err = os.WriteFile(flag, nil, 0o644)
		} else if err = os.Remove(flag); errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	refuse(true)
	return refuse
}
