package bench

import (
	"encoding/json"
	"time"
)

// Figure is one number a benchmark measured of Berth, beside the same number of its peer
// measured in the same run (Peer empty when nothing does what Berth does there).
type Figure struct {
	What     string `json:"what"`
	Berth    string `json:"berth"`
	PeerName string `json:"peerName,omitempty"`
	Peer     string `json:"peer,omitempty"`
}

// Figures is what one benchmark leaves for RESULTS.md: its figures, when they were measured
// and the file with its details.
type Figures struct {
	Benchmark  string    `json:"benchmark"`
	Details    string    `json:"details"`
	MeasuredAt time.Time `json:"measuredAt"`
	Figures    []Figure  `json:"figures"`
}

// WriteFigures replaces test/bench/figures/<name>.json with the benchmark's figures, measured
// now; details names its file in test/bench.
func WriteFigures(name, benchmark, details string, figures []Figure) error {
	raw, err := json.MarshalIndent(Figures{Benchmark: benchmark, Details: details, MeasuredAt: time.Now().UTC(), Figures: figures}, "", "  ")
	if err != nil {
		return err
	}
	return Write("figures/"+name+".json", string(raw)+"\n")
}
