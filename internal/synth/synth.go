// Package synth makes synthetic sequence tables: machine sensor traces with
// planted anomalies for the examples and tests, and the fixed workload of
// the PyTorch peer benchmark. It writes them as Parquet in seqae's nested
// and long input layouts.
package synth

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/parquet-go/parquet-go"
)

// Seq is one synthetic sequence.
type Seq struct {
	ID      string
	Machine string
	Start   time.Time
	Steps   [][]float32 // (T, I)
	Anomaly string      // the planted anomaly's kind; "" for a normal trace
}

// Options shape a sensor dataset.
type Options struct {
	N         int     // sequences
	MinLen    int     // shortest sequence
	MaxLen    int     // longest sequence
	Dim       int     // features per step
	Anomalies int     // planted anomalous sequences among the N
	Noise     float64 // standard deviation of the measurement noise
	Seed      uint64
}

// anomalyKinds are the planted faults: a spike burst, a stuck sensor, a
// frequency shift and a level drift.
var anomalyKinds = []string{"spikes", "stuck", "frequency", "drift"}

// Sensors makes machine sensor traces: each feature is a sine of its own
// period and phase around a machine-specific level, plus noise. Every
// N/Anomalies-th sequence carries a planted fault. The same options give
// the same data.
func Sensors(o Options) []Seq {
	rng := rand.New(rand.NewPCG(o.Seed, 0x5e9))
	base := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	every := 0
	if o.Anomalies > 0 {
		every = o.N / o.Anomalies
	}
	out := make([]Seq, o.N)
	for i := range out {
		T := o.MinLen + rng.IntN(o.MaxLen-o.MinLen+1)
		machine := fmt.Sprintf("m%02d", rng.IntN(12))
		s := Seq{ID: fmt.Sprintf("trace-%05d", i), Machine: machine, Start: base.Add(time.Duration(i) * time.Minute)}
		if every > 0 && i%every == every/2 && i/every < o.Anomalies {
			s.Anomaly = anomalyKinds[(i/every)%len(anomalyKinds)]
		}
		period := 12 + 4*rng.Float64()
		phase := 2 * math.Pi * rng.Float64()
		level := rng.Float64() - 0.5
		s.Steps = make([][]float32, T)
		for t := range T {
			step := make([]float32, o.Dim)
			for j := range step {
				p := period * (1 + 0.35*float64(j))
				if s.Anomaly == "frequency" && t > T/3 {
					p /= 2.7
				}
				v := level + math.Sin(2*math.Pi*float64(t)/p+phase+float64(j))
				switch s.Anomaly {
				case "spikes":
					if t%5 == 2 {
						v += 4 * float64(1-2*(t/5%2))
					}
				case "stuck":
					if t > T/4 {
						v = 2.5
					}
				case "drift":
					v += 4 * float64(t) / float64(T)
				}
				step[j] = float32(v + o.Noise*rng.NormFloat64())
			}
			s.Steps[t] = step
		}
		out[i] = s
	}
	return out
}

// TorchWorkload is the fixed workload of bench/torch_peer.py:
// sequence i has length minLen + (i*7919) % (maxLen-minLen+1), values
// standard normal.
func TorchWorkload(n, minLen, maxLen, dim int, seed uint64) []Seq {
	rng := rand.New(rand.NewPCG(seed, 0))
	out := make([]Seq, n)
	for i := range out {
		T := minLen + (i*7919)%(maxLen-minLen+1)
		s := Seq{ID: fmt.Sprintf("seq-%07d", i), Steps: make([][]float32, T)}
		for t := range T {
			s.Steps[t] = make([]float32, dim)
			for j := range dim {
				s.Steps[t][j] = float32(rng.NormFloat64())
			}
		}
		out[i] = s
	}
	return out
}

// NestedRow is a row of the nested layout: one sequence.
type NestedRow struct {
	ID      string      `parquet:"id"`
	Machine string      `parquet:"machine"`
	Start   time.Time   `parquet:"start,timestamp(millisecond)"`
	Values  [][]float32 `parquet:"values,list"`
}

// WriteNested writes seqs as a nested-layout Parquet file (id, machine,
// start, values list<list<float>>), zstd, rowGroup rows per row group.
func WriteNested(w io.Writer, seqs []Seq, rowGroup int) error {
	pw := parquet.NewGenericWriter[NestedRow](w, parquet.Compression(&parquet.Zstd))
	for i := 0; i < len(seqs); i += rowGroup {
		rows := make([]NestedRow, 0, rowGroup)
		for _, s := range seqs[i:min(i+rowGroup, len(seqs))] {
			rows = append(rows, NestedRow{ID: s.ID, Machine: s.Machine, Start: s.Start, Values: s.Steps})
		}
		if _, err := pw.Write(rows); err != nil {
			return err
		}
		if err := pw.Flush(); err != nil {
			return err
		}
	}
	return pw.Close()
}

// WriteLong writes seqs as a long-layout Parquet file: one row per step
// (id, machine, ts, f0 .. f{I-1}), steps of a sequence contiguous, a step
// per second from the sequence's start, zstd, rowGroup rows per row group.
func WriteLong(w io.Writer, seqs []Seq, rowGroup int) error {
	if len(seqs) == 0 {
		return fmt.Errorf("synth: no sequences")
	}
	dim := len(seqs[0].Steps[0])
	fields := parquet.Group{
		"id":      parquet.String(),
		"machine": parquet.String(),
		"ts":      parquet.Timestamp(parquet.Millisecond),
	}
	for j := range dim {
		fields[fmt.Sprintf("f%d", j)] = parquet.Leaf(parquet.FloatType)
	}
	schema := parquet.NewSchema("long", fields)
	pw := parquet.NewGenericWriter[any](w, schema, parquet.Compression(&parquet.Zstd))
	cols := map[string]int{}
	for i, c := range schema.Columns() {
		cols[c[0]] = i
	}
	var rows []parquet.Row
	flush := func() error {
		if _, err := pw.WriteRows(rows); err != nil {
			return err
		}
		rows = rows[:0]
		return pw.Flush()
	}
	for _, s := range seqs {
		for t, step := range s.Steps {
			row := make(parquet.Row, 3+dim)
			row[cols["id"]] = parquet.ByteArrayValue([]byte(s.ID)).Level(0, 0, cols["id"])
			row[cols["machine"]] = parquet.ByteArrayValue([]byte(s.Machine)).Level(0, 0, cols["machine"])
			row[cols["ts"]] = parquet.Int64Value(s.Start.Add(time.Duration(t)*time.Second).UnixMilli()).Level(0, 0, cols["ts"])
			for j, v := range step {
				c := cols[fmt.Sprintf("f%d", j)]
				row[c] = parquet.FloatValue(v).Level(0, 0, c)
			}
			rows = append(rows, row)
			if len(rows) == rowGroup {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if len(rows) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	return pw.Close()
}
