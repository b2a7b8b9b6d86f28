package stages

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/seqae/seqae/nn"
	"github.com/seqae/seqae/pipeline"
	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/schemas/write"
)

// TrainConfig holds the training loop's settings.
type TrainConfig struct {
	Epochs      int     // most epochs; default DefaultEpochs
	LR          float64 // Adam's learning rate; default DefaultLR
	ClipNorm    float64 // clip the gradient's global norm to this; 0 is no clipping
	Patience    int     // stop after this many epochs without a better validation loss; 0 never stops early
	Seed        uint64  // seeds the initial weights and the shuffles
	ValFraction float64 // share of ids held out for validation, by id hash; 0 holds none out
	// MemoryBudget caps the bytes of sequences cached after the first read;
	// past it every epoch streams from the files. Default 1 GiB.
	MemoryBudget int64
	// ShuffleBuffer is the streamed epochs' shuffle buffer, in sequences;
	// default 8192.
	ShuffleBuffer int
	// Parts is the number of parts each batch's gradient is computed in
	// (default 2; a batch nn.PairPays takes is one part), and Workers the
	// most parts computed at once (default DefaultWorkers; two share a
	// batch nn.PairPays takes): the weights depend on Parts, never on
	// Workers.
	Parts, Workers int
}

func (c TrainConfig) withDefaults() TrainConfig {
	if c.Epochs <= 0 {
		c.Epochs = DefaultEpochs
	}
	if c.LR <= 0 {
		c.LR = DefaultLR
	}
	if c.MemoryBudget <= 0 {
		c.MemoryBudget = 1 << 30
	}
	if c.ShuffleBuffer <= 0 {
		c.ShuffleBuffer = 8192
	}
	if c.Parts <= 0 {
		c.Parts = 2
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	return c
}

// EpochMetrics is one row of the metrics table.
type EpochMetrics struct {
	Epoch         int     `json:"epoch"`
	TrainLoss     float64 `json:"train_loss"`
	ValLoss       float64 `json:"val_loss"`
	HasVal        bool    `json:"has_val"`
	SequencesPerS float64 `json:"sequences_per_s"`
	Seconds       float64 `json:"seconds"`
	Best          bool    `json:"best"` // the best epoch so far (its model is kept)
}

// TrainJob is everything Train needs.
type TrainJob struct {
	ReadSpec
	Model    nn.Config // the model's sizes, for a fresh model
	Init     *nn.Model // warm start: begin from these weights (Model is then ignored)
	InitNorm *Normalizer
	Batching BatchConfig
	Train    TrainConfig

	// Outputs.Quarantine is the table for the first read's bad rows ("" keeps
	// none); Train writes no other table. Train owns the writer (see Outputs).
	Outputs Outputs

	OnEpoch       func(EpochMetrics) error // called after every epoch
	Progress      func(pipeline.Snapshot)
	ProgressEvery time.Duration
}

// TrainResult is what training produced.
type TrainResult struct {
	Model      *nn.Model // the best epoch's weights
	Norm       Normalizer
	Boundaries []int // the padded mode's buckets used (empty in exact mode)
	Epochs     []EpochMetrics
	BestEpoch  int
	Counts     Counts // the first read; Encoded counts the sequences used
	TrainSeqs  int64
	ValSeqs    int64
	Streamed   bool // epochs read the files again (the data exceeded MemoryBudget)
	// Calibration is the best model's validation score distribution.
	Calibration *Calibration
	// Written is the rows in Outputs.Quarantine, the one table Train writes.
	Written Written
}

// NoTrainingDataError is Train's error when no valid sequence is left to
// train on: Counts are the first read's.
type NoTrainingDataError struct {
	Counts  Counts
	ValSeqs int64 // valid sequences held out for validation
}

func (e *NoTrainingDataError) Error() string {
	return fmt.Sprintf("no valid training sequences: %d read, %d quarantined, %d held out for validation",
		e.Counts.Sequences, e.Counts.Quarantined, e.ValSeqs)
}

// Train fits a model to the job's input: a first read checks the rows,
// splits train and validation by id hash, fits the normaliser on the
// training part and caches the data if it fits the memory budget; then each
// epoch trains on shuffled batches (seeded) and measures the validation
// loss, stopping early after Patience epochs without improvement. The same
// input, config and seed give bit-identical weights whatever the number of
// reading goroutines.
func Train(ctx context.Context, job TrainJob) (*TrainResult, error) {
	cfg := job.Train.withDefaults()
	dim := job.Model.InputDim
	if job.Init != nil {
		dim = job.Init.Config.InputDim
	} else if err := job.Model.Validate(); err != nil {
		return nil, err
	}
	if dim != job.Input.Dim() {
		return nil, fmt.Errorf("the model takes %d features per step, the input has %d", dim, job.Input.Dim())
	}
	if job.InitNorm != nil && job.InitNorm.Dim() != dim {
		return nil, fmt.Errorf("the normaliser has %d features, the model takes %d", job.InitNorm.Dim(), dim)
	}
	q, err := job.Outputs.quarantine(ctx)
	if err != nil {
		return nil, err
	}
	if q != nil {
		defer q.Abort()
	}
	res := &TrainResult{}
	split := Split{Fraction: cfg.ValFraction, IDKind: job.Input.IDField().Kind}
	first, err := firstPass(ctx, job, q, cfg, split, res)
	if err != nil {
		return nil, err
	}

	model := job.Init
	if model != nil {
		model = model.Clone()
		if job.InitNorm != nil {
			res.Norm = *job.InitNorm
		}
	} else {
		m, err := nn.NewModel(job.Model, cfg.Seed)
		if err != nil {
			return nil, err
		}
		model = m
	}
	batching := job.Batching
	if batching.Mode == Padded && len(batching.Boundaries) == 0 {
		batching.Boundaries = QuantileBoundaries(first.lengths, 16)
	}
	if batching.Mode == Padded {
		res.Boundaries = batching.Boundaries
	}
	for _, s := range first.train {
		res.Norm.Apply(s.Values)
	}
	for _, s := range first.val {
		res.Norm.Apply(s.Values)
	}

	ep := &epochs{job: job, cfg: cfg, batching: batching, split: split, norm: res.Norm, streamed: res.Streamed,
		trainer: NewTrainer(model, cfg.LR, cfg.ClipNorm, cfg.Parts, cfg.Workers), train: first.train}
	if !res.Streamed {
		if ep.val, err = BatchAll(batching, first.val); err != nil {
			return nil, err
		}
	}
	best := math.Inf(1)
	wait := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		m, err := ep.run(ctx, epoch)
		if err != nil {
			return nil, err
		}
		score := m.TrainLoss
		if m.HasVal {
			score = m.ValLoss
		}
		if score < best {
			best, wait = score, 0
			m.Best = true
			res.Model, res.BestEpoch = model.Clone(), epoch
		} else {
			wait++
		}
		res.Epochs = append(res.Epochs, m)
		if job.OnEpoch != nil {
			if err := job.OnEpoch(m); err != nil {
				return nil, err
			}
		}
		if cfg.Patience > 0 && wait >= cfg.Patience {
			break
		}
	}
	if res.Model == nil {
		return nil, fmt.Errorf("training produced no finite loss")
	}
	cal, err := calibrate(ctx, job, res, batching, first.train, first.val)
	if err != nil {
		return nil, err
	}
	res.Calibration = cal
	if q != nil {
		if err := q.Close(); err != nil {
			return nil, err
		}
		res.Written.Quarantine = q.Rows()
	}
	return res, nil
}

// firstRead is what the first pass keeps: the sequences, unless they
// exceeded the memory budget, and the training sequences' lengths.
type firstRead struct {
	train, val []*schemas.Sequence // nil when streamed
	lengths    map[int]int64       // training sequences by length
}

// firstPass reads the input once: it checks the rows (writing bad ones to
// q, when not nil), splits train and validation by id hash, fits the
// normaliser on the training part and caches the sequences while they fit
// cfg.MemoryBudget. It fills res's Counts, TrainSeqs, ValSeqs, Streamed and
// Norm.
func firstPass(ctx context.Context, job TrainJob, q *write.QuarantineWriter, cfg TrainConfig, split Split, res *TrainResult) (*firstRead, error) {
	stats := NewFeatureStats(job.Input.Dim())
	first := &firstRead{lengths: map[int]int64{}}
	var cached int64
	p := newPipeline(ctx, job.Progress, job.ProgressEvery)
	seqs := readStage(p, job.ReadSpec, q, &res.Counts, nil)
	pipeline.AddSink(p, "collect", 1, seqs, pipeline.ForEach(func(_ context.Context, s *schemas.Sequence) error {
		res.Counts.Encoded++
		isVal := split.Validation(s.ID)
		if isVal {
			res.ValSeqs++
		} else {
			res.TrainSeqs++
			stats.Add(s.Values)
			first.lengths[s.Len]++
		}
		if res.Streamed {
			return nil
		}
		if cached += seqBytes(s); cached > cfg.MemoryBudget {
			res.Streamed, first.train, first.val = true, nil, nil
			return nil
		}
		if isVal {
			first.val = append(first.val, s)
		} else {
			first.train = append(first.train, s)
		}
		return nil
	}))
	if err := p.Wait(); err != nil {
		return nil, err
	}
	if res.TrainSeqs == 0 {
		return nil, &NoTrainingDataError{Counts: res.Counts, ValSeqs: res.ValSeqs}
	}
	res.Norm = stats.Normalizer()
	return first, nil
}

// seqBytes estimates a sequence's memory.
func seqBytes(s *schemas.Sequence) int64 { return int64(4*len(s.Values)+64*len(s.Pass)) + 160 }

// epochs is what every epoch needs: the training sequences, normalised,
// and the validation batches when the first pass cached them, or else the
// input to read again.
type epochs struct {
	job      TrainJob
	cfg      TrainConfig
	batching BatchConfig
	split    Split
	norm     Normalizer
	streamed bool
	trainer  *Trainer
	train    []*schemas.Sequence
	val      []*Batch
}

// run trains one epoch, shuffled by the seed and the epoch's number, then
// measures the validation loss. The metrics it returns are not yet marked
// Best.
func (e *epochs) run(ctx context.Context, epoch int) (EpochMetrics, error) {
	start := time.Now()
	rng := rand.New(rand.NewPCG(e.cfg.Seed, uint64(epoch)))
	var sum, valSum float64
	var steps, valSteps int
	var n int64
	step := func(b *Batch) error {
		l := e.trainer.Step(b)
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			return fmt.Errorf("training diverged in epoch %d: batch loss %g (try a lower lr or clip_norm)", epoch, l)
		}
		sum += float64(l) * float64(b.Steps)
		steps += b.Steps
		n += int64(len(b.Seqs))
		return nil
	}
	eval := func(b *Batch) error {
		s, k := e.trainer.Eval(b)
		valSum += s
		valSteps += k
		return nil
	}
	var err error
	if e.streamed {
		err = streamEpoch(ctx, e.job, e.batching, e.split, e.norm, e.cfg.ShuffleBuffer, rng, step, eval)
	} else {
		err = cachedEpoch(ctx, e.batching, e.train, e.val, rng, e.trainer.Reserve, step, eval)
	}
	if err != nil {
		return EpochMetrics{}, err
	}
	secs := time.Since(start).Seconds()
	m := EpochMetrics{Epoch: epoch, TrainLoss: sum / float64(steps), Seconds: secs, SequencesPerS: float64(n) / secs}
	if valSteps > 0 {
		m.ValLoss, m.HasVal = valSum/float64(valSteps), true
	}
	return m, nil
}

// cachedEpoch trains on the cached sequences, shuffled, in batches taken in
// shuffled order, then evaluates the validation batches.
func cachedEpoch(ctx context.Context, batching BatchConfig, train []*schemas.Sequence, val []*Batch, rng *rand.Rand,
	reserve func([]*Batch), step, eval func(*Batch) error) error {
	order := make([]*schemas.Sequence, len(train))
	for i, j := range rng.Perm(len(train)) {
		order[i] = train[j]
	}
	batches, err := BatchAll(batching, order)
	if err != nil {
		return err
	}
	rng.Shuffle(len(batches), func(i, j int) { batches[i], batches[j] = batches[j], batches[i] })
	reserve(batches)
	for _, b := range batches {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := step(b); err != nil {
			return err
		}
	}
	for _, b := range val {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := eval(b); err != nil {
			return err
		}
	}
	return nil
}

// streamEpoch reads the files twice: training sequences pass through a
// seeded shuffle buffer into batches and train as they come; then the
// validation sequences are batched and evaluated as they come.
func streamEpoch(ctx context.Context, job TrainJob, batching BatchConfig, split Split, norm Normalizer, buffer int, rng *rand.Rand,
	step, eval func(*Batch) error) error {
	trainB, err := NewBatcher(batching)
	if err != nil {
		return err
	}
	shuf := &shuffler{cap: buffer, rng: rng}
	toBatch := func(s *schemas.Sequence) error { return trainB.Add(s, step) }
	err = streamPass(ctx, job.ReadSpec, norm, func(s *schemas.Sequence) bool { return !split.Validation(s.ID) }, shuf.add(toBatch), func() error {
		if err := shuf.flush(toBatch); err != nil {
			return err
		}
		return trainB.Flush(step)
	})
	if err != nil || split.Fraction <= 0 {
		return err
	}
	valB, err := NewBatcher(batching)
	if err != nil {
		return err
	}
	return streamPass(ctx, job.ReadSpec, norm, func(s *schemas.Sequence) bool { return split.Validation(s.ID) },
		func(s *schemas.Sequence) error { return valB.Add(s, eval) },
		func() error { return valB.Flush(eval) })
}

// streamPass reads src (without writing quarantine), normalises the
// sequences keep accepts and hands them to each in input order, then calls
// end.
func streamPass(ctx context.Context, src ReadSpec, norm Normalizer, keep func(*schemas.Sequence) bool,
	each func(*schemas.Sequence) error, end func() error) error {
	var counts Counts
	p := pipeline.New(ctx)
	seqs := readStage(p, src, nil, &counts, nil)
	kept := pipeline.AddStage(p, "select", 1, seqs, pipeline.FlatMap(func(_ context.Context, s *schemas.Sequence, emit func(*schemas.Sequence) error) error {
		if !keep(s) {
			return nil
		}
		norm.Apply(s.Values)
		return emit(s)
	}, nil))
	pipeline.AddSink(p, "use", 1, kept, func(ctx context.Context, in <-chan *schemas.Sequence) error {
		for s := range pipeline.Receive(ctx, in) {
			if err := each(s); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		return end()
	})
	return p.Wait()
}

// shuffler is a bounded shuffle buffer: once full, each new sequence
// replaces a random one, which is sent on.
type shuffler struct {
	buf []*schemas.Sequence
	cap int
	rng *rand.Rand
}

// add returns a function that puts a sequence in the buffer and, once the
// buffer is full, sends a random one on to emit.
func (s *shuffler) add(emit func(*schemas.Sequence) error) func(*schemas.Sequence) error {
	return func(seq *schemas.Sequence) error {
		if len(s.buf) < s.cap {
			s.buf = append(s.buf, seq)
			return nil
		}
		i := s.rng.IntN(len(s.buf))
		out := s.buf[i]
		s.buf[i] = seq
		return emit(out)
	}
}

func (s *shuffler) flush(emit func(*schemas.Sequence) error) error {
	s.rng.Shuffle(len(s.buf), func(i, j int) { s.buf[i], s.buf[j] = s.buf[j], s.buf[i] })
	for _, seq := range s.buf {
		if err := emit(seq); err != nil {
			return err
		}
	}
	s.buf = s.buf[:0]
	return nil
}
