package command

import (
	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/command/agent"
)

// HiddenCommands are aliases kept for scripts written for Nomad; they work
// but are not listed in the help.
var HiddenCommands = []string{"run", "plan", "stop", "validate", "inspect", "logs", "alloc-status", "node-status", "eval-status"}

// Commands returns the factories of every command, keyed by the words that
// invoke them. shutdownCh, when non-nil, stops a running agent.
func Commands(ui cli.Ui, shutdownCh <-chan struct{}) map[string]cli.CommandFactory {
	meta := func() Meta { return Meta{Ui: ui} }
	factory := func(c cli.Command) cli.CommandFactory {
		return func() (cli.Command, error) { return c, nil }
	}
	jobRun := func() (cli.Command, error) { return &JobRunCommand{Meta: meta()}, nil }
	jobStop := func() (cli.Command, error) { return &JobStopCommand{Meta: meta()}, nil }
	jobValidate := func() (cli.Command, error) { return &JobValidateCommand{Meta: meta()}, nil }
	jobInspect := func() (cli.Command, error) { return &JobInspectCommand{Meta: meta()}, nil }
	allocLogs := func() (cli.Command, error) { return &AllocLogsCommand{Meta: meta()}, nil }
	allocStatus := func() (cli.Command, error) { return &AllocStatusCommand{Meta: meta()}, nil }
	nodeStatus := func() (cli.Command, error) { return &NodeStatusCommand{Meta: meta()}, nil }
	evalStatus := func() (cli.Command, error) { return &EvalStatusCommand{Meta: meta()}, nil }

	return map[string]cli.CommandFactory{
		"agent": func() (cli.Command, error) {
			return &agent.Command{Ui: ui, ShutdownCh: shutdownCh}, nil
		},

		"job":          factory(jobParent),
		"job run":      jobRun,
		"job validate": jobValidate,
		"job inspect":  jobInspect,
		"job status":   func() (cli.Command, error) { return &JobStatusCommand{Meta: meta()}, nil },
		"job stop":     jobStop,

		"job periodic":       factory(jobPeriodicParent),
		"job periodic force": func() (cli.Command, error) { return &JobPeriodicForceCommand{Meta: meta()}, nil },
		"job dispatch":       func() (cli.Command, error) { return &JobDispatchCommand{Meta: meta()}, nil },
		"job scale":          func() (cli.Command, error) { return &JobScaleCommand{Meta: meta()}, nil },
		"job history":        func() (cli.Command, error) { return &JobHistoryCommand{Meta: meta()}, nil },
		"job revert":         func() (cli.Command, error) { return &JobRevertCommand{Meta: meta()}, nil },
		"job plan":           func() (cli.Command, error) { return &JobPlanCommand{Meta: meta()}, nil },

		"deployment":         factory(deploymentParent),
		"service":            factory(serviceParent),
		"service list":       func() (cli.Command, error) { return &ServiceListCommand{Meta: meta()}, nil },
		"service info":       func() (cli.Command, error) { return &ServiceInfoCommand{Meta: meta()}, nil },
		"service delete":     func() (cli.Command, error) { return &ServiceDeleteCommand{Meta: meta()}, nil },
		"deployment list":    func() (cli.Command, error) { return &DeploymentListCommand{Meta: meta()}, nil },
		"deployment status":  func() (cli.Command, error) { return &DeploymentStatusCommand{Meta: meta()}, nil },
		"deployment promote": func() (cli.Command, error) { return newDeploymentPromote(meta()), nil },
		"deployment fail":    func() (cli.Command, error) { return newDeploymentFail(meta()), nil },
		"deployment pause":   func() (cli.Command, error) { return newDeploymentPause(meta()), nil },
		"deployment resume":  func() (cli.Command, error) { return newDeploymentResume(meta()), nil },
		"plan":               func() (cli.Command, error) { return &JobPlanCommand{Meta: meta()}, nil },

		"alloc":         factory(allocParent),
		"alloc status":  allocStatus,
		"alloc logs":    allocLogs,
		"alloc restart": func() (cli.Command, error) { return &AllocRestartCommand{Meta: meta()}, nil },
		"alloc stop":    func() (cli.Command, error) { return &AllocStopCommand{Meta: meta()}, nil },
		"alloc signal":  func() (cli.Command, error) { return &AllocSignalCommand{Meta: meta()}, nil },
		"alloc exec":    func() (cli.Command, error) { return &AllocExecCommand{Meta: meta()}, nil },
		"alloc fs":      func() (cli.Command, error) { return &AllocFSCommand{Meta: meta()}, nil },

		"node":             factory(nodeParent),
		"node status":      nodeStatus,
		"node drain":       func() (cli.Command, error) { return &NodeDrainCommand{Meta: meta()}, nil },
		"node eligibility": func() (cli.Command, error) { return &NodeEligibilityCommand{Meta: meta()}, nil },

		"eval":        factory(evalParent),
		"eval status": evalStatus,
		"eval list":   func() (cli.Command, error) { return &EvalListCommand{Meta: meta()}, nil },

		"server":         factory(serverParent),
		"server members": func() (cli.Command, error) { return &ServerMembersCommand{Meta: meta()}, nil },

		"system":    factory(systemParent),
		"system gc": func() (cli.Command, error) { return &SystemGCCommand{Meta: meta()}, nil },

		"operator":                  factory(operatorParent),
		"operator raft":             factory(operatorRaftParent),
		"operator raft list-peers":  func() (cli.Command, error) { return &OperatorRaftListCommand{Meta: meta()}, nil },
		"operator raft remove-peer": func() (cli.Command, error) { return &OperatorRaftRemoveCommand{Meta: meta()}, nil },
		"operator snapshot":         factory(operatorSnapshotParent),
		"operator snapshot save":    func() (cli.Command, error) { return &OperatorSnapshotSaveCommand{Meta: meta()}, nil },
		"operator snapshot restore": func() (cli.Command, error) { return &OperatorSnapshotRestoreCommand{Meta: meta()}, nil },
		"operator gossip":           factory(operatorGossipParent),
		"operator gossip keyring":   func() (cli.Command, error) { return &OperatorKeyringCommand{Meta: meta()}, nil },

		"operator scheduler":            factory(operatorSchedulerParent),
		"operator scheduler get-config": func() (cli.Command, error) { return &OperatorSchedulerGetConfig{Meta: meta()}, nil },
		"operator scheduler set-config": func() (cli.Command, error) { return &OperatorSchedulerSetConfig{Meta: meta()}, nil },

		"status":  func() (cli.Command, error) { return &StatusCommand{Meta: meta()}, nil },
		"fmt":     func() (cli.Command, error) { return &FormatCommand{Meta: meta()}, nil },
		"version": func() (cli.Command, error) { return &VersionCommand{Meta: meta()}, nil },

		"run":          jobRun,
		"stop":         jobStop,
		"validate":     jobValidate,
		"inspect":      jobInspect,
		"logs":         allocLogs,
		"alloc-status": allocStatus,
		"node-status":  nodeStatus,
		"eval-status":  evalStatus,
	}
}
