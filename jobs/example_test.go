package jobs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seqae/seqae/jobs"
)

// A bad value is an error that names the file, line and key.
func ExampleParse() {
	_, err := jobs.Parse("jobs/x.yaml", []byte("inputs: [data/]\nmodel:\n  latent: 0\n"))
	fmt.Println(err)
	// Output: jobs/x.yaml:3: model.latent: must be >= 1, got 0
}

// Settings come from the job file, then SEQAE_* variables, then flags.
func ExampleLoad() {
	env := []string{"SEQAE_TRAINING_EPOCHS=5", "SEQAE_OUTPUT_DIR=/data/seqae", "SEQAE_DATE=2026-11-25"}
	cfg, err := jobs.Load("example.yaml", env, []string{"training.epochs=3"}, []string{"SEQAE_DATE"})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Name, cfg.Run, cfg.Training.Epochs, cfg.Output.Dir)
	// Output: sensors-example train-then-encode 3 /data/seqae
}

func ExampleParseShard() {
	s, err := jobs.ParseShard("3/8")
	fmt.Println(s.I, s.N, s.Sharded(), err)
	// Output: 3 8 true <nil>
}

// Run trains on the example data, encodes it and commits every table's
// partition for the date.
func ExampleRun() {
	out, _ := os.MkdirTemp("", "seqae-example")
	defer os.RemoveAll(out)
	cfg, err := jobs.Load("", nil, []string{
		"inputs=../examples/data/nested", "output.dir=" + out, "training.epochs=1", "model.latent=4", "model.hidden=4",
	}, nil)
	if err != nil {
		panic(err)
	}
	res, err := jobs.Run(context.Background(), cfg, jobs.Options{Date: "2026-11-25"})
	if err != nil {
		panic(err)
	}
	c := res.Encode.Counts
	fmt.Println(c.Sequences, "in,", c.Encoded, "out,", c.Quarantined, "quarantined")
	for _, p := range res.Partitions {
		rel, _ := filepath.Rel(out, p)
		fmt.Println(rel)
	}
	// Output:
	// 3003 in, 3000 out, 3 quarantined
	// models/dt=2026-11-25
	// metrics/dt=2026-11-25
	// quarantine/dt=2026-11-25
	// step_losses/dt=2026-11-25
	// latents/dt=2026-11-25
	// drift/dt=2026-11-25
	// reports/dt=2026-11-25
}
