// Command flotilla runs a Flotilla peer (`flotilla daemon`) and talks to
// one (`flotilla id`, `flotilla pin ...`).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal starts a clean stop; the next one ends the
		// process at once, as its default does, for a stop that hangs.
		<-ctx.Done()
		stop()
	}()
	code := Run(ctx, os.Args[1:], Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()})
	stop()
	os.Exit(code)
}
