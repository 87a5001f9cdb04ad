package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/parquetrail/parquetrail/internal/cli"
	"github.com/parquetrail/parquetrail/internal/problem"
	"github.com/parquetrail/parquetrail/internal/selfcheck"
)

// selfCheckCommand is the chart's helm test: the checks are selfcheck's;
// this command gives them the manager's command line (environment
// variables, help, exit codes) and checks the flags before any request.
func (a *app) selfCheckCommand() *cobra.Command {
	var (
		timeout, interval time.Duration
		crd, lease        string
		can               []string
	)
	cmd := &cobra.Command{
		Use:     "self-check [--lease NAMESPACE/NAME] [--can VERBS:RESOURCE]...",
		Short:   "Check from inside the cluster that the operator can work (the chart's helm test)",
		GroupID: "checks",
		Long: `Check, as the service account the command runs as, that the CloudTrailDay CRD is
served, that a manager leads (its leader-election Lease is held and renewed),
and that the service account may do what the manager needs, as "kubectl auth
can-i" would. The checks are retried until they all pass or --timeout ends.
Each passed check prints "ok", each failed one "FAIL" and what is missing.

Exit codes: 0 every check passed, 1 a check failed, 2 usage or settings.`,
		Example: `  # the chart's helm test (as the manager's service account)
  manager self-check --lease parquetrail/manager.parquetrail.io \
    --can get,list,watch:cloudtraildays.parquetrail.io --can create:jobs.batch \
    --can get:secrets@parquetrail`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ns, name, ok := strings.Cut(lease, "/"); lease != "" && (!ok || ns == "" || name == "") {
				return problem.Usage(fmt.Errorf("--lease %q: want NAMESPACE/NAME", lease))
			}
			var errs []error
			for _, c := range can {
				if _, err := selfcheck.ParseAccess(c); err != nil {
					errs = append(errs, fmt.Errorf("--can: %w", err))
				}
			}
			if err := errors.Join(errs...); err != nil {
				return problem.Usage(err)
			}
			// selfcheck.Main takes its own command line (the e2e tests
			// call it directly); the API server's config is the global
			// --kubeconfig's.
			args := []string{"--timeout=" + timeout.String(), "--interval=" + interval.String(), "--crd=" + crd}
			if lease != "" {
				args = append(args, "--lease="+lease)
			}
			for _, c := range can {
				args = append(args, "--can="+c)
			}
			if code := selfcheck.Main(cmd.Context(), args, cmd.OutOrStdout(), ctrl.GetConfig); code != 0 {
				return cli.ExitStatus(code)
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to retry until every check passes")
	fs.DurationVar(&interval, "interval", 2*time.Second, "pause between attempts")
	fs.StringVar(&crd, "crd", "cloudtraildays.parquetrail.io", "the CRD that must be served, PLURAL.GROUP")
	fs.StringVar(&lease, "lease", "", "NAMESPACE/NAME of the manager's leader-election Lease that must be held")
	fs.StringArrayVar(&can, "can", nil, "VERBS:RESOURCE[.GROUP][/SUBRESOURCE][@NAMESPACE] the service account must be allowed (repeatable)")
	fs.Lookup("can").Value = typed{fs.Lookup("can").Value, "access"}
	cli.LogFormatFlag(fs, new(string), "text")
	return cmd
}
