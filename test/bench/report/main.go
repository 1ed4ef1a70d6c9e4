// Command report writes test/bench/RESULTS.md from the figures the benchmarks of one `make
// bench` run left in test/bench/figures: every figure beside its peer's, with the machine and
// the date. A benchmark whose figures predate -since (it did not run this time) is shown with
// its own date, so an old number is never passed off as a new one.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/berth-platform/berth/test/bench"
)

func main() {
	dir := flag.String("dir", "test/bench", "the benchmarks' folder")
	since := flag.String("since", "", "when this run started (RFC 3339); figures older than it are marked as earlier runs'")
	how := flag.String("how", "`make bench`", "what ran the benchmarks, as the report names it")
	flag.Parse()
	var start time.Time
	if *since != "" {
		var err error
		if start, err = time.Parse(time.RFC3339, *since); err != nil {
			fail(fmt.Errorf("-since: %w", err))
		}
	}
	all, err := read(filepath.Join(*dir, "figures"))
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*dir, "RESULTS.md"), []byte(render(all, *how, start, time.Now().UTC())), 0o644); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

func read(dir string) ([]bench.Figures, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var all []bench.Figures
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var f bench.Figures
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Benchmark < all[j].Benchmark })
	return all, nil
}

func render(all []bench.Figures, how string, start, now time.Time) string {
	var b strings.Builder
	b.WriteString("# Benchmark results: Berth beside its peers\n\n")
	fmt.Fprintf(&b, "Written after %s at %s on %s. Each peer was measured in the same run, on the same\n", how, now.Format(time.RFC3339), machine())
	b.WriteString("machine and plane, one after the other; each benchmark's file has its setup and every row.\n\n")
	b.WriteString("| benchmark | figure | Berth | peer | peer's figure |\n| --- | --- | --- | --- | --- |\n")
	for _, f := range all {
		name := f.Benchmark
		if !start.IsZero() && f.MeasuredAt.Before(start) {
			name += fmt.Sprintf(" (an earlier run: %s)", f.MeasuredAt.Format("2006-01-02"))
		}
		for _, fig := range f.Figures {
			peer, value := fig.PeerName, fig.Peer
			if peer == "" {
				peer, value = "none measured", ""
			}
			fmt.Fprintf(&b, "| [%s](%s) | %s | %s | %s | %s |\n", name, f.Details, fig.What, fig.Berth, peer, value)
		}
	}
	return b.String()
}

// machine describes this machine: CPU model and count, memory, OS and Go.
func machine() string {
	model := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(raw), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if raw, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = " " + strings.TrimSpace(string(raw))
	}
	return fmt.Sprintf("%s, %d CPUs%s, %s%s, %s", model, runtime.NumCPU(), mem, runtime.GOOS, kernel, runtime.Version())
}
