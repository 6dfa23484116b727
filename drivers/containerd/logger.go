package containerd

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/containerd/containerd/v2/core/runtime/v2/logging"
)

// loggerArg marks a process started by the containerd shim as this
// driver's logging binary. The shim passes the log URI's query as
// "key value" arguments, in no fixed order, and only CONTAINER_ID and
// CONTAINER_NAMESPACE in the environment.
const loggerArg = "nomadish-containerd-logger"

// LoggerMain runs the logging binary and exits if the shim started this
// process as one; otherwise it returns. It copies the task's stdout and
// stderr into the files named by the "stdout" and "stderr" arguments.
func LoggerMain() {
	if os.Getenv("CONTAINER_ID") == "" || len(os.Args) < 2 {
		return
	}
	args := map[string]string{}
	for i := 1; i+1 < len(os.Args); i += 2 {
		args[os.Args[i]] = os.Args[i+1]
	}
	if _, ok := args[loggerArg]; !ok {
		return
	}
	logging.Run(func(_ context.Context, cfg *logging.Config, ready func() error) error {
		stdout, err := os.OpenFile(args["stdout"], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer stdout.Close()
		stderr, err := os.OpenFile(args["stderr"], os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		defer stderr.Close()
		if err := ready(); err != nil {
			return fmt.Errorf("signal ready: %w", err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = io.Copy(stdout, cfg.Stdout) }()
		go func() { defer wg.Done(); _, _ = io.Copy(stderr, cfg.Stderr) }()
		wg.Wait()
		return nil
	})
	os.Exit(0)
}
