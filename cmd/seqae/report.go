package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/seqae/seqae/jobs"
)

func (a *app) reportCmd() *cobra.Command {
	var from, to, output string
	cmd := &cobra.Command{
		Use:   "report OUT",
		Short: "Write one HTML report over a range of committed dates",
		Long: `Write one self-contained HTML page (inline SVG charts; no scripts, styles, fonts
or images fetched) over the committed dates --from to --to of the output folder
OUT: the training of the newest model, every date's scores and top anomalies,
quarantined rows, drift by date and each run's provenance. Every run already
commits its own date's report as OUT/reports/dt=DATE/index.html.`,
		Example: `  seqae report out
  seqae report out --from 2026-11-01 --to 2026-11-30 --output november.html`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var buf bytes.Buffer
			from, to, err := jobs.ReportRange(args[0], from, to)
			if err != nil {
				return usagef("%v", err)
			}
			if err := jobs.Report(cmd.Context(), args[0], from, to, &buf); err != nil {
				return err
			}
			name := output
			if name == "" {
				name = fmt.Sprintf("report-%s_%s.html", from, to)
			}
			tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
			if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
				return err
			}
			if err := os.Rename(tmp, name); err != nil {
				os.Remove(tmp)
				return err
			}
			fmt.Fprintln(a.stdout, name)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&from, "from", "", "first date, YYYY-MM-DD (default: --to), e.g. --from 2026-11-01")
	fl.StringVar(&to, "to", "", "last date, YYYY-MM-DD (default: the newest committed), e.g. --to 2026-11-30")
	fl.StringVarP(&output, "output", "o", "", "the HTML file to write (default report-FROM_TO.html), e.g. --output november.html")
	return cmd
}
