// Command gen writes seqae's example dataset under examples/data: machine
// sensor traces of varying length with a handful of planted faults, in the
// nested layout (one row per trace) and the long layout (one row per
// second), plus anomalies.json, the list of planted faults.
//
//	go run ./examples/gen            # rewrites examples/data
//	go run ./examples/gen -out DIR   # writes somewhere else
//
// The data is deterministic: the same program writes the same bytes.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/seqae/seqae/internal/synth"
)

// options shape the example dataset: 3000 traces of 8 to 40 one-second
// steps of 4 sensors, 8 of them faulty.
var options = synth.Options{N: 3000, MinLen: 8, MaxLen: 40, Dim: 4, Anomalies: 8, Noise: 0.05, Seed: 2026}

// planted is one entry of anomalies.json.
type planted struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

func main() {
	out := flag.String("out", filepath.Join("examples", "data"), "folder to write the dataset into")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	seqs := synth.Sensors(options)
	var faults []planted
	for _, s := range seqs {
		if s.Anomaly != "" {
			faults = append(faults, planted{ID: s.ID, Kind: s.Anomaly})
		}
	}
	// Real feeds carry bad rows; these show where they go (the quarantine
	// table): a NaN reading, a trace with no steps and a repeated id.
	nan := append([]float32{float32(math.NaN())}, seqs[1].Steps[0][1:]...)
	bad := []synth.Seq{
		{ID: "trace-bad-nan", Machine: "m03", Start: seqs[1].Start, Steps: [][]float32{seqs[1].Steps[0], nan}},
		{ID: "trace-bad-empty", Machine: "m04", Start: seqs[2].Start, Steps: [][]float32{}},
		{ID: seqs[0].ID, Machine: seqs[0].Machine, Start: seqs[0].Start, Steps: seqs[0].Steps},
	}
	nested := append(append([]synth.Seq(nil), seqs...), bad...)
	if err := save(filepath.Join(dir, "nested", "sensors.parquet"), func(b *bytes.Buffer) error {
		return synth.WriteNested(b, nested, 250)
	}); err != nil {
		return err
	}
	// The long layout in three files, as a daily export might arrive; the
	// NaN trace rides along (an empty trace has no rows to write).
	long := append(append([]synth.Seq(nil), seqs...), bad[0])
	third := (len(long) + 2) / 3
	for i := range 3 {
		part := long[i*third : min((i+1)*third, len(long))]
		if err := save(filepath.Join(dir, "long", fmt.Sprintf("sensors-%d.parquet", i)), func(b *bytes.Buffer) error {
			return synth.WriteLong(b, part, 20000)
		}); err != nil {
			return err
		}
	}
	js, err := json.MarshalIndent(faults, "", "  ")
	if err != nil {
		return err
	}
	return save(filepath.Join(dir, "anomalies.json"), func(b *bytes.Buffer) error {
		_, err := b.Write(append(js, '\n'))
		return err
	})
}

// save writes what fill produces to name, making its folder.
func save(name string, fill func(*bytes.Buffer) error) error {
	var b bytes.Buffer
	if err := fill(&b); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b.Bytes(), 0o644)
}
