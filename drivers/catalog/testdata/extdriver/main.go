// Command extdriver is a third-party style driver plugin binary: it serves
// raw_exec under its own name through plugin.Serve.
package main

import (
	"github.com/nomadish/nomadish/drivers/executor"
	"github.com/nomadish/nomadish/drivers/plugin"
	"github.com/nomadish/nomadish/drivers/rawexec"
)

func main() {
	executor.Main()
	logger := plugin.NewPluginLogger("extdriver")
	plugin.Serve(rawexec.New(logger), logger)
}
