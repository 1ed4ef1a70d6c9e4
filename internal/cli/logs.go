package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/apiclient"
)

const logsUsage = `Usage: berth logs TEAM/SERVICE [--env ENV] [-f] [--pod POD] [--container NAME] [--tail N]
       [--since DURATION] [--previous] [--search TEXT [--regex]] [--timestamps] --server URL --token-file FILE

Prints the service's container logs across all its pods (or one), read as you: Kubernetes
decides. With -f it follows new lines and new pods, and when the connection drops it resumes
where it was, with no line lost or repeated.
`

func logsCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("berth logs", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() { fmt.Fprint(stderr, logsUsage); fset.PrintDefaults() }
	server, tokenFile := serverFlags(fset)
	env := fset.String("env", "", "the environment (needed when the service runs in more than one)")
	follow := fset.Bool("f", false, "follow new lines and pods")
	pod := fset.String("pod", "", "only this pod")
	container := fset.String("container", "", "only this container")
	tail := fset.Int("tail", 0, "the last N lines of each container to start with")
	since := fset.Duration("since", 0, "only lines of the last DURATION (10m, 2h)")
	previous := fset.Bool("previous", false, "the run before each container's last restart")
	search := fset.String("search", "", "only lines that contain TEXT (case-insensitive)")
	regex := fset.Bool("regex", false, "--search is a regular expression")
	timestamps := fset.Bool("timestamps", false, "print each line's time")
	_, team, service, ok, err := parseTarget(fset, args)
	if err != nil {
		return err
	}
	if !ok || team == "" || service == "" {
		fset.Usage()
		return errUsage
	}
	c, err := apiClient(*server, *tokenFile)
	if err != nil {
		return err
	}
	if *env == "" {
		if *env, err = onlyEnvironment(ctx, c, team, service); err != nil {
			return err
		}
	}
	params := &apiclient.StreamServiceLogsParams{Environment: *env, Follow: follow, Previous: previous, Regex: regex}
	for p, v := range map[**string]string{&params.Pod: *pod, &params.Container: *container, &params.Search: *search} {
		if v != "" {
			*p = &v
		}
	}
	if *tail > 0 {
		params.Tail = tail
	}
	if *since > 0 {
		s := int(since.Seconds())
		params.SinceSeconds = &s
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	last := ""
	for attempt := 0; ; attempt++ {
		params.LastEventID = nil
		if last != "" {
			params.LastEventID = &last
		}
		res, err := c.StreamServiceLogs(ctx, team, service, params)
		if err == nil && res.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			return fmt.Errorf("Berth answered %s: %s", res.Status, strings.TrimSpace(string(body)))
		}
		if err == nil {
			attempt = 0
			var done bool
			done, err = printEvents(res.Body, out, stderr, *timestamps, &last)
			res.Body.Close()
			if !*follow && errors.Is(err, io.ErrUnexpectedEOF) {
				return nil // without -f the server ends the stream when every log is read
			}
			if done || !*follow {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if attempt >= 5 {
			return fmt.Errorf("the stream dropped and could not be resumed: %v", err)
		}
		_ = out.Flush()
		fmt.Fprintf(stderr, "# reconnecting (%v)\n", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(attempt+1) * time.Second):
		}
	}
}

// onlyEnvironment is the service's environment when it has one.
func onlyEnvironment(ctx context.Context, c *apiclient.ClientWithResponses, team, service string) (string, error) {
	res, err := c.GetServiceWithResponse(ctx, team, service)
	if err != nil {
		return "", err
	}
	if res.JSON200 == nil {
		return "", fmt.Errorf("Berth answered %s: %s", res.Status(), strings.TrimSpace(string(res.Body)))
	}
	var names []string
	for _, e := range res.JSON200.Environments {
		names = append(names, e.Name)
	}
	if len(names) != 1 {
		return "", fmt.Errorf("service %s/%s runs in %s: say which with --env", team, service, strings.Join(names, ", "))
	}
	return names[0], nil
}

type logEvent struct {
	Pod, Container, Line, Message string
	Time                          time.Time
	Restarts, Dropped             int
}

// printEvents prints a stream's events until it ends (io.ErrUnexpectedEOF when the connection
// closes); done says the server ended it on purpose (an error event: access ended), so there
// is nothing to resume.
func printEvents(body io.Reader, out *bufio.Writer, stderr io.Writer, timestamps bool, last *string) (bool, error) {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var kind, id, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "id: "):
			id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && kind != "":
			var e logEvent
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				return false, fmt.Errorf("event %s: %w", kind, err)
			}
			switch kind {
			case "line":
				if timestamps {
					fmt.Fprintf(out, "%s/%s %s %s\n", e.Pod, e.Container, e.Time.Format(time.RFC3339Nano), e.Line)
				} else {
					fmt.Fprintf(out, "%s/%s %s\n", e.Pod, e.Container, e.Line)
				}
				*last = id
			case "error":
				_ = out.Flush()
				if e.Pod == "" {
					return true, errors.New(e.Message)
				}
				fmt.Fprintf(stderr, "# %s/%s: %s\n", e.Pod, e.Container, e.Message)
			default:
				_ = out.Flush()
				fmt.Fprintf(stderr, "# %s %s%s\n", kind, e.Pod, strings.TrimPrefix(" "+e.Message, " "))
			}
			if out.Buffered() > 32<<10 {
				_ = out.Flush()
			}
			kind, id, data = "", "", ""
		}
	}
	_ = out.Flush()
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, io.ErrUnexpectedEOF
}
