// Command berth is the Berth server and its tools: serve, dev, migrate and version.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/berth-platform/berth/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
