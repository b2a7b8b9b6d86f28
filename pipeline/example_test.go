package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
)

// Plain functions, with no channels in their signatures, become stages
// through the adapters.
func Example() {
	words := []string{"alpha", "beta", "", "gamma"}
	p := pipeline.New(context.Background(), pipeline.WithBuffer(2))

	src := pipeline.AddSource(p, "read", 1, pipeline.Generate(func(ctx context.Context, emit func(string) error) error {
		for _, w := range words {
			if err := emit(w); err != nil {
				return err
			}
		}
		return nil
	}))
	valid := pipeline.AddStage(p, "validate", 1, src, pipeline.FlatMap(func(ctx context.Context, w string, emit func(string) error) error {
		if w == "" {
			pipeline.Quarantine(ctx)
			return nil
		}
		return emit(w)
	}, nil))
	upper := pipeline.AddStage(p, "upper", 2, valid, pipeline.Map(func(ctx context.Context, w string) (string, error) {
		return strings.ToUpper(w), nil
	}))
	total := 0
	pipeline.AddSink(p, "count", 1, upper, pipeline.ForEach(func(ctx context.Context, w string) error {
		total += len(w)
		return nil
	}))

	if err := p.Wait(); err != nil {
		fmt.Println("failed:", err)
		return
	}
	fmt.Println("letters:", total)
	for _, s := range p.Snapshot().Stages {
		fmt.Printf("%-8s in %d out %d quarantined %d\n", s.Name, s.In, s.Out, s.Quarantined)
	}
	// Output:
	// letters: 14
	// read     in 0 out 4 quarantined 0
	// validate in 4 out 3 quarantined 1
	// upper    in 3 out 3 quarantined 0
	// count    in 3 out 0 quarantined 0
}

// A stage locates its errors in the input; Wait adds the stage's name.
func ExampleErrorf() {
	p := pipeline.New(context.Background())
	rows := pipeline.AddSource(p, "read", 1, pipeline.Generate(func(ctx context.Context, emit func(int) error) error {
		return emit(-3)
	}))
	pipeline.AddSink(p, "validate", 1, rows, pipeline.ForEach(func(ctx context.Context, n int) error {
		if n < 0 {
			return pipeline.Errorf(schemas.At("part-0.parquet").WithRowGroup(0).WithRow(12).WithID("seq-9"), "length %d < 1", n)
		}
		return nil
	}))
	fmt.Println(p.Wait())
	// Output:
	// stage "validate": file part-0.parquet, row group 0, row 12, id "seq-9": length -3 < 1
}

// Ordered runs items on several goroutines and hands their results back in
// input order, however long each takes.
func ExampleOrdered() {
	words := make(chan string, 4)
	for _, w := range []string{"slow", "a", "bb", "ccc"} {
		words <- w
	}
	close(words)
	err := pipeline.Ordered(context.Background(), 3, words,
		func(ctx context.Context, worker int, w string, emit func(string) error) error {
			if w == "slow" {
				time.Sleep(10 * time.Millisecond)
			}
			for _, r := range w {
				if err := emit(string(r)); err != nil {
					return err
				}
			}
			return nil
		},
		func(s string) error {
			fmt.Print(s, " ")
			return nil
		})
	fmt.Println(err)
	// Output:
	// s l o w a b b c c c <nil>
}
