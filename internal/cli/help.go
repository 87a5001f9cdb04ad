package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// usageTemplate is cobra's, with a command's flags under the headings
// their "group" annotation names (see Group), in the order registered.
const usageTemplate = `Usage:{{if .Runnable}}
  {{.UseLine}}{{end}}{{if .HasAvailableSubCommands}}
  {{.CommandPath}} [command]{{end}}{{if .HasExample}}

Examples:
{{.Example}}{{end}}{{if .HasAvailableSubCommands}}{{$cmds := .Commands}}{{range $group := .Groups}}

{{.Title}}{{range $cmds}}{{if (and (eq .GroupID $group.ID) (or .IsAvailableCommand (eq .Name "help")))}}
  {{rpad .Name .NamePadding }} {{.Short}}{{end}}{{end}}{{end}}{{end}}{{if .HasAvailableLocalFlags}}{{flagGroups .}}{{end}}{{if .HasAvailableInheritedFlags}}

Global Flags:
{{wrappedFlags .InheritedFlags | trimTrailingWhitespaces}}{{end}}{{if .HasAvailableSubCommands}}

Use "{{.CommandPath}} [command] --help" for more information about a command.{{end}}
`

const helpWidth = 100

func init() {
	cobra.AddTemplateFunc("flagGroups", flagGroups)
	cobra.AddTemplateFunc("wrappedFlags", func(fs *pflag.FlagSet) string { return fs.FlagUsagesWrapped(helpWidth) })
}

// flagGroups prints the command's own flags under their headings.
func flagGroups(cmd *cobra.Command) string {
	var order []string
	sets := map[string]*pflag.FlagSet{}
	cmd.LocalFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := "Flags"
		if v := f.Annotations["group"]; len(v) > 0 {
			g = v[0] + " flags"
		}
		fs := sets[g]
		if fs == nil {
			fs = pflag.NewFlagSet(g, pflag.ContinueOnError)
			fs.SortFlags = false
			sets[g] = fs
			order = append(order, g)
		}
		fs.AddFlag(f)
	})
	var b strings.Builder
	for _, g := range order {
		b.WriteString("\n\n" + g + ":\n")
		b.WriteString(strings.TrimRight(sets[g].FlagUsagesWrapped(helpWidth), "\n"))
	}
	return b.String()
}
