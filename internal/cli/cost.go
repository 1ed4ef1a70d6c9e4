package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/berth-platform/berth/internal/apiclient"
)

const costUsage = `Usage: berth cost TEAM[/SERVICE] [--window today|7d|month] [--output text|json] --server URL --token-file FILE

Says what a team's services (or one service) cost: per environment the billed core-hours and
GiB-hours and the money, per day, and for a team each budgeted environment's month so far and
forecast. From OpenCost where a cluster has one, from Berth's own model elsewhere.
`

func costCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("berth cost", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, costUsage); fset.PrintDefaults() }
	server, tokenFile := serverFlags(fset)
	window := fset.String("window", "month", "today, 7d or month")
	output := fset.String("output", "text", "text or json")
	var target string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		target, args = args[0], args[1:]
	}
	if err := fset.Parse(args); err != nil {
		return err
	}
	if target == "" && fset.NArg() == 1 {
		target = fset.Arg(0)
	}
	team, service, _ := strings.Cut(target, "/")
	if team == "" || (*output != "text" && *output != "json") || (*window != "today" && *window != "7d" && *window != "month") {
		fset.Usage()
		return errUsage
	}
	c, err := apiClient(*server, *tokenFile)
	if err != nil {
		return err
	}
	var report *apiclient.CostReport
	var status string
	var body []byte
	if service == "" {
		w := apiclient.GetTeamCostsParamsWindow(*window)
		res, err := c.GetTeamCostsWithResponse(ctx, team, &apiclient.GetTeamCostsParams{Window: &w})
		if err != nil {
			return err
		}
		report, status, body = res.JSON200, res.Status(), res.Body
	} else {
		w := apiclient.GetServiceCostsParamsWindow(*window)
		res, err := c.GetServiceCostsWithResponse(ctx, team, service, &apiclient.GetServiceCostsParams{Window: &w})
		if err != nil {
			return err
		}
		report, status, body = res.JSON200, res.Status(), res.Body
	}
	if report == nil {
		return fmt.Errorf("Berth answered %s: %s", status, strings.TrimSpace(string(body)))
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(report)
	}
	fmt.Fprintf(stdout, "%s, %s (%s to %s): $%.2f\n", target, report.Window.Name, report.Window.Start.Format("2006-01-02 15:04"), report.Window.End.Format("2006-01-02 15:04 MST"), report.Total)
	tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "  SERVICE\tENV\tCORE-H\tGIB-H\tCOST\tSOURCE")
	for _, l := range report.Lines {
		fmt.Fprintf(tw, "  %s\t%s\t%.2f\t%.2f\t$%.2f\t%s\n", l.Service, l.Environment, l.CoreHours, l.GibHours, l.Cost, l.Source)
	}
	_ = tw.Flush()
	if len(report.Days) > 1 {
		fmt.Fprintln(stdout, "  by day:")
		for _, d := range report.Days {
			fmt.Fprintf(stdout, "    %s  $%.2f\n", d.Day.Format("2006-01-02"), d.Cost)
		}
	}
	if report.Budgets != nil {
		for _, b := range *report.Budgets {
			state := "within budget"
			if b.Over {
				state = "OVER BUDGET by the forecast"
			}
			fmt.Fprintf(stdout, "  budget %s: $%.2f a month; $%.2f so far, $%.2f forecast: %s\n", b.Environment, b.Monthly, b.MonthToDate, b.Forecast, state)
		}
	}
	return nil
}
