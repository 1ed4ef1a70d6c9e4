package cli

import (
	"context"
	"errors"
	"io"
)

// devCmd is filled in by the local control plane work.
func devCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("berth dev: not available yet")
}
