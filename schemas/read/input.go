package read

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/parquet-go/parquet-go"
	"golang.org/x/sync/semaphore"

	"github.com/seqae/seqae/schemas"
	"github.com/seqae/seqae/storage"
)

// Unit is an independent piece of decoding work: one row group of a nested
// or columns layout file, or for the long layout every file (whose
// sequences' rows may be anywhere in them), File to LastFile, or a shard
// of them (see Input.Shard).
type Unit struct {
	File     string
	LastFile string // the unit's last file, when it has more than one
	RowGroup int    // -1 for whole files
	FirstRow int64  // index in the file of the unit's first row
	// Rows are the input rows the unit reads: for a long layout shard,
	// every file's, of which ReadUnit counts its ids' (Stats.Rows).
	Rows   int64
	file   int // index into Input.files of its first file
	nfiles int // files in the unit
	// shard of shards (when shards > 1) restricts a long layout unit to
	// the ids ShardOf gives it.
	shard, shards int
}

func (u Unit) String() string {
	var s string
	switch {
	case u.LastFile != "":
		s = fmt.Sprintf("%s to %s (%d files)", u.File, u.LastFile, u.nfiles)
	case u.RowGroup < 0:
		s = u.File
	default:
		s = fmt.Sprintf("%s row group %d", u.File, u.RowGroup)
	}
	if u.shards > 1 {
		s += fmt.Sprintf(" shard %d/%d", u.shard, u.shards)
	}
	return s
}

// Shard returns the units of shard i of n (0 <= i < n): every n-th unit
// starting at the i-th, so that n workers given the same units in the same
// order split them without overlap. It suits the nested and columns
// layouts; Input.Shard also shards the long layout.
func Shard(units []Unit, i, n int) []Unit {
	var out []Unit
	for k := i; k < len(units); k += n {
		out = append(out, units[k])
	}
	return out
}

// Shard returns the units of shard i of n (0 <= i < n), so that n workers
// split the input without overlap. For the nested and columns layouts they
// are Shard(in.Units(), i, n). A long layout sequence is never split: the
// shard's one unit reads every file (only the columns it needs) and keeps
// the ids that ShardOf(id, kind, n) gives shard i, and the rows whose id is
// null in shard 0; n shards read the files n times over.
func (in *Input) Shard(i, n int) []Unit {
	if in.spec.Layout != schemas.Long || n <= 1 {
		return Shard(in.Units(), i, n)
	}
	var out []Unit
	for _, u := range in.units {
		u.shard, u.shards = i, n
		out = append(out, u)
	}
	return out
}

// Input is a set of Parquet files of one layout, checked and planned. It is
// safe for concurrent ReadUnit calls.
type Input struct {
	store   storage.Store
	spec    schemas.Spec
	files   []*inputFile
	units   []Unit
	idField schemas.Field
	pass    []schemas.Field
	dim     int
	budget  *semaphore.Weighted // Spec.GroupBudget, shared by ReadUnit calls
}

type inputFile struct {
	name     string
	pf       *parquet.File
	id       *column
	seq      *column   // nested
	features []*column // columns, long
	order    *column   // long
	pass     []*column
	// start is the number of rows in the files before this one.
	start int64
}

// Open reads the footer of every named file, checks each file's schema
// against the layout (detected from the first file when spec.Layout is
// Detect) and plans the units of work. A mismatch names the file, the
// column and what was expected.
func Open(ctx context.Context, store storage.Store, names []string, spec schemas.Spec) (*Input, error) {
	if len(names) == 0 {
		return nil, errors.New("no input files")
	}
	if spec.Dim < 0 {
		return nil, &schemas.SpecError{Key: "input.dim", Msg: fmt.Sprintf("input.dim %d: want 0 (taken from the data) or more", spec.Dim)}
	}
	if spec.ID == "" {
		spec.ID = "id"
	}
	if spec.GroupBudget <= 0 {
		spec.GroupBudget = schemas.DefaultGroupBudget
	}
	in := &Input{store: store, budget: semaphore.NewWeighted(spec.GroupBudget)}
	for i, name := range names {
		if err := in.open(ctx, i, name, spec); err != nil {
			return nil, err
		}
	}
	in.plan()
	switch in.spec.Layout {
	case schemas.Nested:
		in.dim = in.spec.Dim
		if in.dim == 0 {
			if err := in.probeDim(ctx); err != nil {
				return nil, err
			}
		}
	default:
		in.dim = len(in.spec.Features)
	}
	return in, nil
}

// open reads and checks file i's footer (detecting the layout on the
// first).
func (in *Input) open(ctx context.Context, i int, name string, spec schemas.Spec) error {
	obj, err := in.store.Open(ctx, name)
	if err != nil {
		return err
	}
	defer obj.Close()
	pf, err := openFooter(obj, name)
	if err != nil {
		return err
	}
	if i == 0 {
		if spec, err = detect(pf.Root(), name, spec); err != nil {
			return err
		}
		in.spec = spec
	}
	f, err := in.bind(name, pf)
	if err != nil {
		return err
	}
	if i > 0 {
		prev := in.files[i-1]
		f.start = prev.start + prev.pf.NumRows()
	}
	for _, c := range append(append([]*column{f.id, f.seq, f.order}, f.features...), f.pass...) {
		if c != nil {
			c.maxPage = in.spec.MaxPageBytes
		}
	}
	in.files = append(in.files, f)
	return nil
}

// Layout returns the input layout (detected, when the Spec left it open).
func (in *Input) Layout() schemas.Layout { return in.spec.Layout }

// Spec returns the Spec with the detected layout and column names filled in.
func (in *Input) Spec() schemas.Spec {
	s := in.spec
	s.Features = slices.Clone(s.Features)
	s.Pass = slices.Clone(s.Pass)
	s.Dim = in.dim
	return s
}

// IDField is the id column and the kind of its values.
func (in *Input) IDField() schemas.Field { return in.idField }

// PassFields are the pass-through columns, in Sequence.Pass order.
func (in *Input) PassFields() []schemas.Field { return slices.Clone(in.pass) }

// Dim is the number of features per step (I). It is 0 only for a nested
// input with Spec.Dim 0 in which no row is valid.
func (in *Input) Dim() int { return in.dim }

// Files are the input files, in the order given to Open.
func (in *Input) Files() []string {
	out := make([]string, len(in.files))
	for i, f := range in.files {
		out[i] = f.name
	}
	return out
}

// Units are the units of work, in file and row order.
func (in *Input) Units() []Unit { return slices.Clone(in.units) }

// plan cuts the files into units: row groups, or for the long layout one
// unit of every file.
func (in *Input) plan() {
	if in.spec.Layout == schemas.Long {
		u := Unit{File: in.files[0].name, RowGroup: -1, nfiles: len(in.files)}
		for _, f := range in.files {
			u.Rows += f.pf.NumRows()
		}
		if len(in.files) > 1 {
			u.LastFile = in.files[len(in.files)-1].name
		}
		if u.Rows > 0 {
			in.units = append(in.units, u)
		}
		return
	}
	for i, f := range in.files {
		var first int64
		for g, rg := range f.pf.RowGroups() {
			if n := rg.NumRows(); n > 0 {
				in.units = append(in.units, Unit{File: f.name, RowGroup: g, FirstRow: first, Rows: n, file: i, nfiles: 1})
				first += n
			}
		}
	}
}

// errStop ends a probe early.
var errStop = errors.New("stop")

// probeDim takes the nested layout's feature count from the first valid row.
func (in *Input) probeDim(ctx context.Context) error {
	for _, u := range in.units {
		_, err := in.ReadUnit(ctx, u, Sink{
			Sequence:   func(s *schemas.Sequence) error { in.dim = s.Dim; return errStop },
			Quarantine: func(schemas.Quarantine) error { return nil },
		})
		if err == errStop {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
