package command

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

var operatorSchedulerParent = &parentCommand{
	synopsis: "Provides access to the scheduler configuration",
	help: `
Usage: nomadish operator scheduler <subcommand> [options]

  Reads and changes the cluster-wide scheduler configuration.

      $ nomadish operator scheduler get-config
      $ nomadish operator scheduler set-config -scheduler-algorithm=spread
`,
}

// OperatorSchedulerGetConfig is `nomadish operator scheduler get-config`.
type OperatorSchedulerGetConfig struct {
	Meta
}

// Help returns the long help text.
func (c *OperatorSchedulerGetConfig) Help() string {
	return strings.TrimSpace(`
Usage: nomadish operator scheduler get-config [options]

  Displays the scheduler configuration in force.

General Options:

  ` + generalOptionsUsage() + `

Scheduler Get Config Options:

  -json
    Output the scheduler configuration in its JSON format.

  -t <template>
    Format and display the scheduler configuration using a Go template.

Examples:

  $ nomadish operator scheduler get-config
  $ nomadish operator scheduler get-config -json
`)
}

// Synopsis returns the one-line help text.
func (c *OperatorSchedulerGetConfig) Synopsis() string {
	return "Display the current scheduler configuration"
}

// Run runs the command.
func (c *OperatorSchedulerGetConfig) Run(args []string) int {
	var jsonOut bool
	var tmpl string
	flags := c.FlagSet("operator scheduler get-config")
	flags.BoolVar(&jsonOut, "json", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 0 {
		c.Ui.Error("This command takes no arguments")
		c.Ui.Error(helpHint("operator scheduler get-config"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	resp, _, err := client.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error querying scheduler configuration: %s", err))
		return 1
	}
	cfg := resp.SchedulerConfig
	if jsonOut || tmpl != "" {
		out, err := formatJSONOrTemplate(cfg, cfg, tmpl)
		if err != nil {
			c.Ui.Error(err.Error())
			return 1
		}
		c.Ui.Output(out)
		return 0
	}
	c.Ui.Output(formatSchedulerConfig(cfg))
	return 0
}

// formatSchedulerConfig prints the configuration as Nomad's get-config does.
func formatSchedulerConfig(cfg *api.SchedulerConfiguration) string {
	p := cfg.PreemptionConfig
	return formatKV([][]string{
		row("Scheduler Algorithm", cfg.SchedulerAlgorithm),
		row("Memory Oversubscription", strconv.FormatBool(cfg.MemoryOversubscriptionEnabled)),
		row("Reject Job Registration", strconv.FormatBool(cfg.RejectJobRegistration)),
		row("Pause Eval Broker", strconv.FormatBool(cfg.PauseEvalBroker)),
		row("Preemption System Scheduler", strconv.FormatBool(p.SystemSchedulerEnabled)),
		row("Preemption Service Scheduler", strconv.FormatBool(p.ServiceSchedulerEnabled)),
		row("Preemption Batch Scheduler", strconv.FormatBool(p.BatchSchedulerEnabled)),
		row("Preemption SysBatch Scheduler", strconv.FormatBool(p.SysBatchSchedulerEnabled)),
		row("Modify Index", strconv.FormatUint(cfg.ModifyIndex, 10)),
	})
}

// OperatorSchedulerSetConfig is `nomadish operator scheduler set-config`.
type OperatorSchedulerSetConfig struct {
	Meta
}

// Help returns the long help text.
func (c *OperatorSchedulerSetConfig) Help() string {
	return strings.TrimSpace(`
Usage: nomadish operator scheduler set-config [options]

  Changes the scheduler configuration. Only the settings given change; the
  others keep their current values.

General Options:

  ` + generalOptionsUsage() + `

Scheduler Set Config Options:

  -check-index=<index>
    Change the configuration only if its modify index is still <index>.

  -scheduler-algorithm=<binpack|spread>
    Whether the scheduler packs allocations onto few nodes or spreads them.

  -memory-oversubscription=<true|false>
    Whether tasks may use memory_max above their reserved memory.

  -reject-job-registration=<true|false>
    Whether the servers refuse job registrations.

  -pause-eval-broker=<true|false>
    Whether the leader's eval broker stops handing out evaluations.

  -preempt-batch-scheduler=<true|false>
  -preempt-service-scheduler=<true|false>
  -preempt-sysbatch-scheduler=<true|false>
  -preempt-system-scheduler=<true|false>
    Whether jobs of that type may preempt lower priority allocations.

Examples:

  $ nomadish operator scheduler set-config -scheduler-algorithm=spread
  $ nomadish operator scheduler set-config -preempt-service-scheduler=true
`)
}

// Synopsis returns the one-line help text.
func (c *OperatorSchedulerSetConfig) Synopsis() string {
	return "Modify the current scheduler configuration"
}

// optBool is a boolean flag that remembers whether it was given.
type optBool struct {
	set bool
	val bool
}

func (b *optBool) String() string { return strconv.FormatBool(b.val) }

func (b *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("must be true or false")
	}
	b.set, b.val = true, v
	return nil
}

// IsBoolFlag lets "-flag" alone mean true.
func (b *optBool) IsBoolFlag() bool { return true }

func (b *optBool) apply(dst *bool) {
	if b.set {
		*dst = b.val
	}
}

// Run runs the command.
func (c *OperatorSchedulerSetConfig) Run(args []string) int {
	var algo, checkIndex string
	var memOver, reject, pause, preBatch, preService, preSysBatch, preSystem optBool
	flags := c.FlagSet("operator scheduler set-config")
	flags.StringVar(&checkIndex, "check-index", "", "")
	flags.StringVar(&algo, "scheduler-algorithm", "", "")
	flags.Var(&memOver, "memory-oversubscription", "")
	flags.Var(&reject, "reject-job-registration", "")
	flags.Var(&pause, "pause-eval-broker", "")
	flags.Var(&preBatch, "preempt-batch-scheduler", "")
	flags.Var(&preService, "preempt-service-scheduler", "")
	flags.Var(&preSysBatch, "preempt-sysbatch-scheduler", "")
	flags.Var(&preSystem, "preempt-system-scheduler", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 0 {
		c.Ui.Error("This command takes no arguments")
		c.Ui.Error(helpHint("operator scheduler set-config"))
		return 1
	}
	if algo != "" && algo != "binpack" && algo != "spread" {
		c.Ui.Error(fmt.Sprintf("Invalid -scheduler-algorithm %q: must be one of [binpack|spread]", algo))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	resp, _, err := client.Operator().SchedulerGetConfiguration(nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error querying scheduler configuration: %s", err))
		return 1
	}
	cfg := resp.SchedulerConfig
	if algo != "" {
		cfg.SchedulerAlgorithm = algo
	}
	memOver.apply(&cfg.MemoryOversubscriptionEnabled)
	reject.apply(&cfg.RejectJobRegistration)
	pause.apply(&cfg.PauseEvalBroker)
	preBatch.apply(&cfg.PreemptionConfig.BatchSchedulerEnabled)
	preService.apply(&cfg.PreemptionConfig.ServiceSchedulerEnabled)
	preSysBatch.apply(&cfg.PreemptionConfig.SysBatchSchedulerEnabled)
	preSystem.apply(&cfg.PreemptionConfig.SystemSchedulerEnabled)

	if checkIndex == "" {
		set, _, err := client.Operator().SchedulerSetConfiguration(cfg, nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error setting scheduler configuration: %s", err))
			return 1
		}
		if !set.Updated {
			c.Ui.Error("Scheduler configuration was not updated")
			return 1
		}
		c.Ui.Output("Scheduler configuration updated!")
		return 0
	}
	idx, err := strconv.ParseUint(checkIndex, 10, 64)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Invalid -check-index %q: %s", checkIndex, err))
		return 1
	}
	cfg.ModifyIndex = idx
	set, _, err := client.Operator().SchedulerCASConfiguration(cfg, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error setting scheduler configuration: %s", err))
		return 1
	}
	if !set.Updated {
		c.Ui.Error("Scheduler configuration could not be atomically updated, please try again")
		return 1
	}
	c.Ui.Output("Scheduler configuration updated!")
	return 0
}
