package nn

import (
	"bytes"
	"fmt"
	"unsafe"
)

// Workspace holds everything one goroutine needs to run batches through a
// model: the batch's packed plan, the activations kept for the backward
// pass, gradient scratch and the results. Buffers grow to the largest batch
// seen and are then reused, so a steady stream of batches allocates nothing.
// A Workspace is not safe for concurrent use; give each goroutine its own.
//
// Batches come in as a padded (B, T, I) buffer with per-sequence lengths,
// or (ForwardSeqs, EncodeSeqs) as each sequence's own values, with no
// padding. Inside,
// rows are in packed order: sequences sorted by length, longest first, and
// step t holds only the n_t sequences longer than t, at packed rows off[t]
// .. off[t]+n_t. R = off[T] is the number of real steps.
type Workspace struct {
	cfg    Config
	layout []Tensor // cfg.Layout()

	// The batch's plan.
	nb, nt, nr int     // sequences B, steps T of the longest, real steps R
	order      []int   // (B) input index of each packed row, longest first
	lens       []int   // (B) length of each packed row
	seqOff     []int   // (B+1) first step of sequence b, input order, with the steps back to back; seqOff[B] = R
	seqLens    []int   // (B) ForwardSeqs' and EncodeSeqs' lengths
	nAct       []int   // (T+1) rows running at step t; nAct[T] = 0
	off        []int   // (T+1) first packed row of step t; off[T] = R
	count      []int   // (T+1) counting-sort scratch
	kept       bool    // the activations of the last call are kept for Backward
	lossSum    float64 // sum of the last batch's step losses

	// The weights as the B operands of the products, packed as panels
	// (see packB) when the parameters change (see packWeights): transposed
	// for the forward, as they are for the backward's products through the
	// recurrence.
	encWihT []float32 // (I, 4L) panels
	encWhhT []float32 // (L, 4L) panels (Forward)
	encXhT  []float32 // (I+L, 4L) panels: W_ih^T over W_hh^T (Encode)
	decWihT []float32 // (L, 4H) panels
	decWhhT []float32 // (H, 4H) panels
	headWT  []float32 // (H, I) panels
	encWhh  []float32 // (4L, L) panels
	decWhh  []float32 // (4H, H) panels

	packedFrom []float32 // (NumParams) the parameters the panels hold
	packed     uint8     // which panels hold them: packedCommon | ...

	// Activations. With kept activations the per-step buffers are packed
	// (R, ·); for Encode they are one step's rows (B, ·), reused.
	x     []float32 // (R, I) inputs, packed
	xh    []float32 // (B, I+L) Encode: the running rows' x_t and h_{t-1} side by side
	encG  []float32 // (R, 4L) encoder gates: x W_ih^T + b + h W_hh^T, activated in place | (B, 4L)
	encHp []float32 // (R, L) encoder h_{t-1}, packed | unused
	encC  []float32 // (R, L) encoder c_t | (B, L)
	encTc []float32 // (R, L) tanh(c_t) | (B, L)
	hCur  []float32 // (B, L) the encoder step's new h before it is filed
	z     []float32 // (B, L) latents, packed order
	zp    []float32 // (B, 4H) z W_ih^T + b: the decoder gates' constant part
	decG  []float32 // (R, 4H) decoder gates, activated in place | (B, 4H)
	decHp []float32 // (R, H) decoder h_{t-1} | unused
	decC  []float32 // (R, H) decoder c_t | (B, H)
	decTc []float32 // (R, H) tanh(c_t) | (B, H)
	decH  []float32 // (R, H) decoder h_t | (B, H)
	y     []float32 // (R, I) reconstructions | (B, I)
	loss  []float32 // (R) step losses, packed

	// Backward scratch.
	dy  []float32 // (R, I) dLoss/dy
	dh  []float32 // (R, H) dLoss/dh_t from the head
	dG  []float32 // (R, 4 max(L, H)) dLoss/da, one layer at a time
	dhn []float32 // (B, max(L, H)) dLoss/dh_{t-1} through the recurrence
	dcn []float32 // (B, max(L, H)) dLoss/dc_{t-1} through the recurrence
	dzp []float32 // (B, 4H) dLoss/dzp, summed over steps
	dz  []float32 // (B, L) dLoss/dz

	pack []float32 // (packSz) gemm scratch

	// Pairing (see Pair).
	pair     *Pair
	paired   bool         // the last Forward's batch runs paired
	pairFns  [5]func(int) // the paired sections, pairEncoder...
	spans    [2]units     // each half's span of units
	grad     Weights      // BackwardPart's gradient views, for the paired sections
	packW    Weights      // packFrom's weights and sets, for the paired section
	packTodo uint8
	model    *Model // the model of the running Forward or Encode

	// Results in input order.
	latents  []float32 // (B, L)
	stepLoss []float32 // (R) step losses, input order: sequence b's at seqOff[b]..

	// Optional results (SetFeatureLosses).
	featOn   bool
	featLoss []float32 // (R, I) squared error per feature, input order: sequence b's from row seqOff[b]
}

// NewWorkspace returns an empty workspace for models of config cfg.
func NewWorkspace(cfg Config) *Workspace {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	I, L, H := cfg.InputDim, cfg.LatentDim, cfg.DecoderHidden
	return &Workspace{
		cfg:     cfg,
		layout:  cfg.Layout(),
		encWihT: make([]float32, panelsLen(I, 4*L)),
		encWhhT: make([]float32, panelsLen(L, 4*L)),
		encXhT:  make([]float32, panelsLen(I+L, 4*L)),
		decWihT: make([]float32, panelsLen(L, 4*H)),
		decWhhT: make([]float32, panelsLen(H, 4*H)),
		headWT:  make([]float32, panelsLen(H, I)),
		encWhh:  make([]float32, panelsLen(4*L, L)),
		decWhh:  make([]float32, panelsLen(4*H, H)),
		pack:    make([]float32, packSz),

		packedFrom: make([]float32, 0, cfg.NumParams()),
	}
}

// The sets of panels packWeights keeps.
const (
	packedCommon   = 1 << iota // encWihT, decWihT, decWhhT, headWT
	packedForward              // encWhhT
	packedEncode               // encXhT
	packedBackward             // encWhh, decWhh
)

// packWeights makes the panels in need hold m's weights. It packs only
// those not already packed from the same parameters, bit for bit: a model
// that stays the same from batch to batch (encoding) is packed once, and
// one that changes (training) costs a comparison that stops at the first
// changed float, and a copy.
func (w *Workspace) packWeights(m *Model, need uint8) {
	if !sameBits(w.packedFrom, m.Params) {
		w.packedFrom = append(w.packedFrom[:0], m.Params...)
		w.packed = 0
	}
	w.packFrom(viewsOf(w.layout, w.packedFrom), need)
}

// packFrom packs the panels in need that do not yet hold W, the views of
// packedFrom: paired, each goroutine the panels its half reads.
func (w *Workspace) packFrom(W Weights, need uint8) {
	todo := need &^ w.packed
	if todo == 0 {
		return
	}
	if w.paired {
		w.packTodo, w.packW = todo, W
		w.runPaired(pairPack)
	} else {
		w.packHalf(W, todo, -1)
	}
	w.packed |= need
}

// packHalf packs the panels of the sets in todo from W: with h = 0 or 1,
// only those of half h's units (a gate matrix's four gate blocks of them,
// the backward's columns of them), and the unsplit ones on half 0; with
// h = -1, all.
func (w *Workspace) packHalf(W Weights, todo uint8, h int) {
	I, L, H := w.cfg.InputDim, w.cfg.LatentDim, w.cfg.DecoderHidden
	// gates packs W^T, (k, 4hd), of a weight W (4hd, k).
	gates := func(dst, src []float32, k, hd int) {
		if h < 0 {
			packB(dst, src, k, true, k, 4*hd)
			return
		}
		u0, u1 := h*hd/2, (h+1)*hd/2
		for q := range 4 {
			packBCols(dst, src, k, true, k, 4*hd, q*hd+u0, q*hd+u1)
		}
	}
	// cols packs a weight W (k, hd) as it is.
	cols := func(dst, src []float32, k, hd int) {
		if h < 0 {
			packB(dst, src, hd, false, k, hd)
			return
		}
		packBCols(dst, src, hd, false, k, hd, h*hd/2, (h+1)*hd/2)
	}
	if todo&packedCommon != 0 {
		gates(w.encWihT, W.EncWih, I, L)
		gates(w.decWihT, W.DecWih, L, H)
		gates(w.decWhhT, W.DecWhh, H, H)
		if W.HeadW != nil && h <= 0 {
			packB(w.headWT, W.HeadW, H, true, H, I)
		}
	}
	if todo&packedForward != 0 {
		gates(w.encWhhT, W.EncWhh, L, L)
	}
	if todo&packedEncode != 0 && h <= 0 {
		packBRows(w.encXhT, I+L, 0, W.EncWih, I, true, I, 4*L)
		packBRows(w.encXhT, I+L, I, W.EncWhh, L, true, L, 4*L)
	}
	if todo&packedBackward != 0 {
		cols(w.encWhh, W.EncWhh, 4*L, L)
		cols(w.decWhh, W.DecWhh, 4*H, H)
	}
}

// sameBits reports whether a and b hold the same bits.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	return bytes.Equal(unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), 4*len(a)), unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), 4*len(b)))
}

// grow returns s resized to n elements. It reallocates only when the
// capacity is short, and then at least doubles it, so that a stream of
// growing batches reallocates a logarithmic number of times, and adds
// gemmSlack.
func grow[T float32 | int](s []T, n int) []T {
	if cap(s) < n+gemmSlack {
		return make([]T, n, max(n, 2*cap(s))+gemmSlack)
	}
	return s[:n]
}

// plan checks the batch and lays it out in packed order. x is padded,
// (B, T, I); or, when seqs is not nil, sequence b's steps are seqs[b],
// (lens[b], I), x is unused and T is the longest length.
func (w *Workspace) plan(x []float32, lens []int, T int, seqs [][]float32) {
	concat := seqs != nil
	B, I := len(lens), w.cfg.InputDim
	if B == 0 {
		panic("nn: empty batch")
	}
	// Check everything before changing anything.
	steps, longest := 0, 0
	for b, n := range lens {
		switch {
		case concat && n < 1:
			panic(fmt.Sprintf("nn: sequence %d of the batch has length %d, want 1 or more", b, n))
		case !concat && (n < 1 || n > T):
			panic(fmt.Sprintf("nn: sequence %d of the batch has length %d, want 1..%d", b, n, T))
		}
		steps, longest = steps+n, max(longest, n)
	}
	if concat {
		T = longest
	} else if len(x) < B*T*I {
		panic(fmt.Sprintf("nn: batch of %d sequences of up to %d steps of %d features needs %d floats, got %d",
			B, T, I, B*T*I, len(x)))
	}
	w.nb, w.nt = B, T
	w.sizePlan(B, T)
	clear(w.count)
	w.seqOff[0] = 0
	for b, n := range lens {
		w.count[n]++
		w.seqOff[b+1] = w.seqOff[b] + n
	}
	// Counting sort, longest first, ties in input order: count[n] becomes
	// the first packed row of length n.
	next := 0
	for n := T; n >= 1; n-- {
		c := w.count[n]
		w.count[n] = next
		next += c
	}
	for b, n := range lens {
		s := w.count[n]
		w.count[n]++
		w.order[s], w.lens[s] = b, n
	}
	R, active := 0, B
	for t := range T {
		for active > 0 && w.lens[active-1] <= t {
			active--
		}
		w.nAct[t], w.off[t] = active, R
		R += active
	}
	w.nAct[T], w.off[T] = 0, R
	w.nr = R

	w.x = grow(w.x, R*I)
	for t := range T {
		for s := range w.nAct[t] {
			dst := w.x[(w.off[t]+s)*I : (w.off[t]+s+1)*I]
			if concat {
				copy(dst, seqs[w.order[s]][t*I:])
				continue
			}
			src := (w.order[s]*T + t) * I
			copy(dst, x[src:src+I])
		}
	}
}

// Reserve sizes the buffers that training (Forward, then Backward) uses
// for batches of up to B sequences of up to T steps and R real steps in
// all: a first training step on such a batch then allocates nothing. A
// workspace that meets growing batches otherwise reallocates them at each
// doubling and touches fresh memory each time (page faults); reserved, it
// allocates them once. Larger batches still grow them. Call it between
// batches, not between a Forward and its Backward: buffers it reallocates
// lose the activations kept for Backward.
func (w *Workspace) Reserve(B, T, R int) {
	if B < 1 || T < 1 || R < B || R < T || R > B*T {
		panic(fmt.Sprintf("nn: Reserve: %d sequences of up to %d steps, %d real steps: want B, T >= 1 and max(B, T) <= R <= B*T", B, T, R))
	}
	w.sizePlan(B, T)
	w.seqLens = grow(w.seqLens, B)[:0]
	w.x = grow(w.x, R*w.cfg.InputDim)
	w.sizeForward(B, R, true)
	w.sizeBackward(B, R)
	w.latents, w.stepLoss = grow(w.latents, B*w.cfg.LatentDim), grow(w.stepLoss, R)
}

// sizePlan grows the plan's buffers for B sequences of up to T steps.
func (w *Workspace) sizePlan(B, T int) {
	w.order, w.lens, w.seqOff = grow(w.order, B), grow(w.lens, B), grow(w.seqOff, B+1)
	w.nAct, w.off, w.count = grow(w.nAct, T+1), grow(w.off, T+1), grow(w.count, T+1)
}

// sizeForward grows the buffers of a forward pass over B sequences and R
// real steps, keeping the activations for Backward or not (Encode).
func (w *Workspace) sizeForward(B, R int, keep bool) {
	I, L, H := w.cfg.InputDim, w.cfg.LatentDim, w.cfg.DecoderHidden
	stepRows := R // rows of the per-step buffers
	if !keep {
		stepRows = B
	}
	w.encG = grow(w.encG, stepRows*4*L)
	w.encC = grow(w.encC, stepRows*L)
	w.encTc = grow(w.encTc, stepRows*L)
	w.hCur = grow(w.hCur, B*L)
	w.z = grow(w.z, B*L)
	w.zp = grow(w.zp, B*4*H)
	w.decG = grow(w.decG, stepRows*4*H)
	w.decC = grow(w.decC, stepRows*H)
	w.decTc = grow(w.decTc, stepRows*H)
	w.decH = grow(w.decH, stepRows*H)
	w.y = grow(w.y, stepRows*I)
	w.loss = grow(w.loss, R)
	if keep {
		w.encHp = grow(w.encHp, R*L)
		w.decHp = grow(w.decHp, R*H)
	} else {
		w.xh = grow(w.xh, B*(I+L))
	}
}

// sizeBackward grows the backward pass's buffers for B sequences and R
// real steps.
func (w *Workspace) sizeBackward(B, R int) {
	I, L, H := w.cfg.InputDim, w.cfg.LatentDim, w.cfg.DecoderHidden
	w.dy = grow(w.dy, R*I)
	w.dh = grow(w.dh, R*H)
	w.dG = grow(w.dG, R*4*max(L, H))
	w.dhn = grow(w.dhn, B*max(L, H))
	w.dcn = grow(w.dcn, B*max(L, H))
	w.dzp = grow(w.dzp, B*4*H)
	w.dz = grow(w.dz, B*L)
}

// Forward runs a batch through the model and keeps what Backward needs.
// x is (B, T, I): sequence b's step t at x[(b*T+t)*I:]; lens[b] in 1..T is
// sequence b's length; cells past a sequence's length are never read. It
// returns the batch loss: the mean of the real steps' losses. Latents and
// StepLosses give the per-sequence results.
func (w *Workspace) Forward(m *Model, x []float32, lens []int, T int) float32 {
	return w.forward(m, x, lens, T, true, nil)
}

// ForwardSeqs is Forward with the batch given as its sequences' own
// values: sequence b's steps are seqs[b], (len_b, I) row-major, with no
// padding, so a batch of unequal lengths holds and copies only its real
// steps.
func (w *Workspace) ForwardSeqs(m *Model, seqs [][]float32) float32 {
	return w.forward(m, nil, w.seqLengths(seqs), 0, true, seqs)
}

// Encode is Forward without keeping activations for a backward pass: for
// inference, in memory proportional to B rather than to R (but for the
// packed input, (R, I)).
func (w *Workspace) Encode(m *Model, x []float32, lens []int, T int) float32 {
	return w.forward(m, x, lens, T, false, nil)
}

// EncodeSeqs is Encode with the batch given as its sequences' own values,
// as ForwardSeqs takes it.
func (w *Workspace) EncodeSeqs(m *Model, seqs [][]float32) float32 {
	return w.forward(m, nil, w.seqLengths(seqs), 0, false, seqs)
}

// seqLengths returns the lengths of seqs, each (len, I), in scratch of
// the workspace's; it panics unless each holds whole steps, at least one.
func (w *Workspace) seqLengths(seqs [][]float32) []int {
	I := w.cfg.InputDim
	w.seqLens = w.seqLens[:0]
	for b, s := range seqs {
		if len(s) == 0 || len(s)%I != 0 {
			panic(fmt.Sprintf("nn: sequence %d of the batch has %d floats, not whole steps of %d features", b, len(s), I))
		}
		w.seqLens = append(w.seqLens, len(s)/I)
	}
	return w.seqLens
}

func (w *Workspace) forward(m *Model, x []float32, lens []int, T int, keep bool, seqs [][]float32) float32 {
	if m.Config != w.cfg {
		panic(fmt.Sprintf("nn: workspace is for config %+v, model has %+v", w.cfg, m.Config))
	}
	w.plan(x, lens, T, seqs)
	T = w.nt
	I, H := w.cfg.InputDim, w.cfg.DecoderHidden
	B, R := w.nb, w.nr
	w.kept, w.model = keep, m
	w.paired = keep && w.pair != nil && PairPays(w.cfg, B)
	switch {
	case w.paired:
		// The backward's panels too, while both goroutines pack.
		w.packWeights(m, packedCommon|packedForward|packedBackward)
	case keep:
		w.packWeights(m, packedCommon|packedForward)
	default:
		w.packWeights(m, packedCommon|packedEncode)
	}
	w.sizeForward(B, R, keep)
	if w.featOn {
		w.featLoss = grow(w.featLoss, R*I)
	}

	w.encoderForward(m)
	w.decoderForward()
	if keep {
		w.headForward(m, w.y[:R*I], w.decH[:R*H], R)
		w.lossForward(w.loss[:R], w.y[:R*I], w.x[:R*I])
		if w.featOn {
			for t := range T {
				o, n := w.off[t], w.nAct[t]
				w.featureLossForward(t, w.y[o*I:(o+n)*I], w.x[o*I:(o+n)*I])
			}
		}
	}
	return w.results()
}

// Backward adds the gradient of the last Forward's batch loss with respect
// to every parameter into grads (laid out as m.Params). It needs the
// activations that Forward kept; after Encode it panics.
func (w *Workspace) Backward(m *Model, grads []float32) { w.BackwardPart(m, grads, w.nr) }

// BackwardPart is Backward for a batch split into parts, each run through
// its own workspace: it adds the gradient of (the sum of this part's step
// losses) / batchSteps, where batchSteps is the whole batch's real steps,
// so that the parts' gradients sum to the batch's. Summing them in a fixed
// order keeps training deterministic however many goroutines run the parts.
func (w *Workspace) BackwardPart(m *Model, grads []float32, batchSteps int) {
	if batchSteps < w.nr {
		panic(fmt.Sprintf("nn: BackwardPart: the batch has %d real steps, fewer than this part's %d", batchSteps, w.nr))
	}
	if !w.kept {
		panic("nn: Backward needs a Forward first (Encode keeps no activations)")
	}
	if len(grads) != len(m.Params) {
		panic(fmt.Sprintf("nn: gradient buffer has %d floats, the model %d", len(grads), len(m.Params)))
	}
	w.sizeBackward(w.nb, w.nr)

	// The weights Forward ran with, as it packed them: no comparison with
	// the model's parameters again.
	W := viewsOf(w.layout, w.packedFrom)
	w.packFrom(W, packedBackward)
	G := viewsOf(w.layout, grads)
	w.grad = G
	w.lossBackward(batchSteps)
	w.headBackward(W, G)
	w.decoderBackward(W, G)
	w.encoderBackward(m, G)
}

// rows returns step t's rows of a per-step buffer of the given width: its
// packed rows when activations are kept, else the first n_t rows (for
// t == T, none).
func (w *Workspace) rows(buf []float32, t, width int) []float32 {
	n := w.nAct[t]
	if !w.kept {
		return buf[:n*width]
	}
	o := w.off[t]
	return buf[o*width : (o+n)*width]
}

// prev returns c_{t-1} of the rows running at step t: nil (zeros) at t=0
// when activations are kept, else the same in-place rows as rows(buf, t).
func (w *Workspace) prev(buf []float32, t, width int) []float32 {
	if !w.kept {
		return buf[:w.nAct[t]*width]
	}
	if t == 0 {
		return nil
	}
	o := w.off[t-1]
	return buf[o*width : (o+w.nAct[t])*width]
}

// linear computes y (rows, out) = x (rows, in) · wT (in, out) + bias (out),
// wT packed as panels.
func (w *Workspace) linear(y, x, wT, bias []float32, rows, in, out int) {
	gemmPackedFrom(y, out, bias, 0, x, in, false, wT, rows, out, in, w.pack)
}

// encoderForward runs the encoder over the batch: the input projection of
// every real step in one product, then the recurrence, the n_t running
// rows at step t. A sequence's h at its last step is its latent z.
func (w *Workspace) encoderForward(m *Model) {
	if !w.kept {
		w.encoderEncode(m)
		return
	}
	if w.paired {
		w.runPaired(pairEncoder)
		return
	}
	w.encoderRecur(w.allUnits(w.cfg.LatentDim))
}

// encoderRecur runs the encoder for u's units of every row: the input
// projection of every real step in one product (paired, each half its
// own gate columns, which it then reads from its own cache), then the
// recurrence.
func (w *Workspace) encoderRecur(u *units) {
	I, L := w.cfg.InputDim, w.cfg.LatentDim
	u.gateProduct(w.encG[:w.nr*4*L], w.model.W.EncB, 0, w.x, w.encWihT, w.nr, L, I)
	for t := range w.nt {
		n, next := w.nAct[t], w.nAct[t+1]
		g := w.encG[w.off[t]*4*L : (w.off[t]+n)*4*L]
		if t > 0 {
			u.gateProduct(g, nil, 0, u.stepInput(w.rows(w.encHp, t, L)), w.encWhhT, n, L, L)
		}
		h := w.hCur[:n*L]
		lstmCellForward(h[u.u0:], w.rows(w.encC, t, L)[u.u0:], w.rows(w.encTc, t, L)[u.u0:], g[u.u0:], from(w.prev(w.encC, t, L), u.u0), n, L, u.u1-u.u0)
		// Rows still running feed step t+1; the rest end here: their h is
		// the latent.
		copyUnits(w.rows(w.encHp, t+1, L), h, next, L, u.u0, u.u1)
		copyUnits(w.z[next*L:n*L], h[next*L:], n-next, L, u.u0, u.u1)
		u.wait()
	}
}

// encoderEncode is encoderForward for Encode, one step at a time in (B, ·)
// buffers that stay in cache: step t's gates are b + [x_t h_{t-1}] ·
// [W_ih^T; W_hh^T], one product of depth I+L (at t = 0, of depth I: there
// is no h_{-1}). The depth is summed in the same order as Forward's two
// products, so the gates have the same bits.
func (w *Workspace) encoderEncode(m *Model) {
	I, L := w.cfg.InputDim, w.cfg.LatentDim
	K := I + L
	clear(w.encC[:w.nb*L])
	for t := range w.nt {
		n, next, o := w.nAct[t], w.nAct[t+1], w.off[t]
		xh, g, c := w.xh[:n*K], w.encG[:n*4*L], w.encC[:n*L]
		for s := range n {
			copy(xh[s*K:s*K+I], w.x[(o+s)*I:(o+s+1)*I])
		}
		if t == 0 {
			gemmPackedFrom(g, 4*L, m.W.EncB, 0, xh, K, false, w.encWihT, n, 4*L, I, w.pack)
		} else {
			gemmPackedFrom(g, 4*L, m.W.EncB, 0, xh, K, false, w.encXhT, n, 4*L, K, w.pack)
		}
		h := w.hCur[:n*L]
		lstmCellForward(h, c, w.encTc[:n*L], g, c, n, L, L)
		for s := range next {
			copy(xh[s*K+I:(s+1)*K], h[s*L:(s+1)*L])
		}
		copy(w.z[next*L:n*L], h[next*L:])
	}
}

// encoderBackward adds the encoder's gradients, from dz, the latents'
// gradient, which enters each sequence at its last step.
func (w *Workspace) encoderBackward(m *Model, G Weights) {
	I, L := w.cfg.InputDim, w.cfg.LatentDim
	B, R := w.nb, w.nr
	dG := w.dG[:R*4*L]
	clear(w.dhn[:B*L])
	clear(w.dcn[:B*L])
	if w.paired {
		w.runPaired(pairEncoderBack)
	} else {
		w.encoderBackRecur(w.allUnits(L))
	}
	gemm(G.EncWih, I, dG, 4*L, true, w.x, I, 4*L, I, R, w.pack)
	colSum(G.EncB, dG, R, 4*L)
}

// encoderBackRecur runs the encoder's recurrence backward for u's units of
// every row, then adds u's rows of the gradient of W_hh.
func (w *Workspace) encoderBackRecur(u *units) {
	L := w.cfg.LatentDim
	B, R := w.nb, w.nr
	dG, dz := w.dG[:R*4*L], w.dz[:B*L]
	dhn, dcn := w.dhn[:B*L], w.dcn[:B*L]
	for t := w.nt - 1; t >= 0; t-- {
		n, next, o := w.nAct[t], w.nAct[t+1], w.off[t]
		copyUnits(dhn[next*L:], dz[next*L:], n-next, L, u.u0, u.u1)
		dg := dG[o*4*L : (o+n)*4*L]
		lstmCellBackward(dg[u.u0:], dcn[u.u0:n*L], dhn[u.u0:n*L], nil, w.encG[o*4*L+u.u0:(o+n)*4*L], from(w.prev(w.encC, t, L), u.u0), w.encTc[o*L+u.u0:(o+n)*L], nil, n, L, u.u1-u.u0)
		// Every unit's dL/da before the product reads them.
		u.wait()
		if t > 0 {
			clearUnits(dhn, n, L, u.u0, u.u1)
			gemmPacked(dhn[u.u0:], L, dg, 4*L, false, w.encWhh[u.u0/nr*4*L*nr:], n, u.u1-u.u0, 4*L, u.pack)
		}
	}
	w.recurGrad(w.grad.EncWhh, dG, w.encHp, L, u)
}

// decoderForward runs the decoder: the latent's input projection once per
// sequence, then the recurrence. Without kept activations, h is updated in
// place (each step's product has read h_{t-1} first) and the head and the
// loss run on each step's rows.
func (w *Workspace) decoderForward() {
	H := w.cfg.DecoderHidden
	if !w.kept {
		clear(w.decC[:w.nb*H])
	}
	if w.paired {
		w.runPaired(pairDecoder)
		return
	}
	w.decoderRecur(w.allUnits(H))
}

// decoderRecur runs the decoder for u's units of every row: the latent's
// input projection once per sequence, then the recurrence; unkept, with
// the head and the loss of each step's rows (unpaired only).
func (w *Workspace) decoderRecur(u *units) {
	I, L, H := w.cfg.InputDim, w.cfg.LatentDim, w.cfg.DecoderHidden
	m := w.model
	u.gateProduct(w.zp[:w.nb*4*H], m.W.DecB, 0, w.z, w.decWihT, w.nb, H, L)
	for t := range w.nt {
		n, next := w.nAct[t], w.nAct[t+1]
		g, h := w.rows(w.decG, t, 4*H), w.rows(w.decH, t, H)
		if t == 0 {
			for q := range 4 {
				copyUnits(g[q*H:], w.zp[q*H:], n, 4*H, u.u0, u.u1)
			}
		} else {
			hp := h
			if w.kept {
				hp = u.stepInput(w.rows(w.decHp, t, H))
			}
			u.gateProduct(g, w.zp, 4*H, hp, w.decWhhT, n, H, H)
		}
		lstmCellForward(h[u.u0:], w.rows(w.decC, t, H)[u.u0:], w.rows(w.decTc, t, H)[u.u0:], g[u.u0:], from(w.prev(w.decC, t, H), u.u0), n, H, u.u1-u.u0)
		if w.kept {
			copyUnits(w.rows(w.decHp, t+1, H), h, next, H, u.u0, u.u1)
			u.wait()
			continue
		}
		o := w.off[t]
		w.headForward(m, w.y[:n*I], h, n)
		w.lossForward(w.loss[o:o+n], w.y[:n*I], w.x[o*I:(o+n)*I])
		if w.featOn {
			w.featureLossForward(t, w.y[:n*I], w.x[o*I:(o+n)*I])
		}
	}
}

// decoderBackward adds the decoder's gradients from dh, the head's
// gradient, and leaves the latents' gradient in dz.
func (w *Workspace) decoderBackward(W, G Weights) {
	L, H := w.cfg.LatentDim, w.cfg.DecoderHidden
	B := w.nb
	dzp := w.dzp[:B*4*H]
	clear(w.dhn[:B*H])
	clear(w.dcn[:B*H])
	clear(dzp)
	if w.paired {
		w.runPaired(pairDecoderBack)
	} else {
		w.decoderBackRecur(w.allUnits(H))
	}
	// The input z is the same at every step: its weights' gradient is
	// (sum over steps of dL/da) z^T, and dzp holds those sums.
	colSum(G.DecB, dzp, B, 4*H)
	gemm(G.DecWih, L, dzp, 4*H, true, w.z, L, 4*H, L, B, w.pack)
	dz := w.dz[:B*L]
	clear(dz)
	gemm(dz, L, dzp, 4*H, false, W.DecWih, L, B, L, 4*H, w.pack)
}

// decoderBackRecur runs the decoder's recurrence backward for u's units of
// every row, from the head's gradient (u's units of it, computed here),
// then adds u's rows of the gradient of W_hh.
func (w *Workspace) decoderBackRecur(u *units) {
	H := w.cfg.DecoderHidden
	B, R := w.nb, w.nr
	w.headInputGrad(u)
	dG, dh := w.dG[:R*4*H], w.dh[:R*H]
	dhn, dcn, dzp := w.dhn[:B*H], w.dcn[:B*H], w.dzp[:B*4*H]
	for t := w.nt - 1; t >= 0; t-- {
		n, o := w.nAct[t], w.off[t]
		dg := dG[o*4*H : (o+n)*4*H]
		lstmCellBackward(dg[u.u0:], dcn[u.u0:n*H], dh[o*H+u.u0:(o+n)*H], dhn[u.u0:n*H], w.decG[o*4*H+u.u0:(o+n)*4*H], from(w.prev(w.decC, t, H), u.u0), w.decTc[o*H+u.u0:(o+n)*H], dzp[u.u0:n*4*H], n, H, u.u1-u.u0)
		// Every unit's dL/da before the product reads them.
		u.wait()
		if t > 0 {
			clearUnits(dhn, n, H, u.u0, u.u1)
			gemmPacked(dhn[u.u0:], H, dg, 4*H, false, w.decWhh[u.u0/nr*4*H*nr:], n, u.u1-u.u0, 4*H, u.pack)
		}
	}
	w.recurGrad(w.grad.DecWhh, dG, w.decHp, H, u)
}

// headForward computes y (n, I) from the decoder's h (n, H).
func (w *Workspace) headForward(m *Model, y, h []float32, n int) {
	if w.cfg.Head == HeadNone {
		copy(y, h)
		return
	}
	w.linear(y, h, w.headWT, m.W.HeadB, n, w.cfg.DecoderHidden, w.cfg.InputDim)
}

// headBackward adds the head's gradients from dy and leaves the decoder
// outputs' gradient in dh.
func (w *Workspace) headBackward(W, G Weights) {
	I, H, R := w.cfg.InputDim, w.cfg.DecoderHidden, w.nr
	dy := w.dy[:R*I]
	if w.cfg.Head == HeadNone {
		return
	}
	colSum(G.HeadB, dy, R, I)
	gemm(G.HeadW, H, dy, I, true, w.decH, H, I, H, R, w.pack)
}

// headInputGrad writes u's units of dh, dL/dh_t from the head: dy W_head
// (dy itself without a head).
func (w *Workspace) headInputGrad(u *units) {
	I, H, R := w.cfg.InputDim, w.cfg.DecoderHidden, w.nr
	dy, dh := w.dy[:R*I], w.dh[:R*H]
	if w.cfg.Head == HeadNone {
		copyUnits(dh, dy, R, H, u.u0, u.u1)
		return
	}
	clearUnits(dh, R, H, u.u0, u.u1)
	W := viewsOf(w.layout, w.packedFrom)
	gemm(dh[u.u0:], H, dy, I, false, W.HeadW[u.u0:], H, R, u.u1-u.u0, I, u.pack)
}

// lossForward writes loss[r] = mean over features of (y - x)^2 for each
// row.
func (w *Workspace) lossForward(loss, y, x []float32) {
	I := w.cfg.InputDim
	for r := range loss {
		var s float32
		for j, v := range y[r*I : (r+1)*I] {
			d := v - x[r*I+j]
			s += d * d
		}
		loss[r] = s / float32(I)
	}
}

// featureLossForward files step t's squared errors (y - x)^2, y and x
// (n_t, I) in packed order, into featLoss (R, I) in input order.
func (w *Workspace) featureLossForward(t int, y, x []float32) {
	I := w.cfg.InputDim
	for s, b := range w.order[:w.nAct[t]] {
		r := w.seqOff[b] + t
		dst := w.featLoss[r*I : (r+1)*I]
		for j := range dst {
			d := y[s*I+j] - x[s*I+j]
			dst[j] = d * d
		}
	}
}

// lossBackward writes dy, the gradient of (sum of step losses) /
// batchSteps.
func (w *Workspace) lossBackward(batchSteps int) {
	I := w.cfg.InputDim
	scale := 2 / float32(I*batchSteps)
	for i, v := range w.y[:w.nr*I] {
		w.dy[i] = scale * (v - w.x[i])
	}
}

// results files latents and step losses in input order and returns the
// batch loss.
func (w *Workspace) results() float32 {
	L, B, T := w.cfg.LatentDim, w.nb, w.nt
	w.latents = grow(w.latents, B*L)
	w.stepLoss = grow(w.stepLoss, w.nr)
	for s, b := range w.order[:B] {
		copy(w.latents[b*L:(b+1)*L], w.z[s*L:(s+1)*L])
	}
	var sum float64
	for t := range T {
		for s := range w.nAct[t] {
			v := w.loss[w.off[t]+s]
			w.stepLoss[w.seqOff[w.order[s]]+t] = v
			sum += float64(v)
		}
	}
	w.lossSum = sum
	return float32(sum / float64(w.nr))
}

// LossSum is the sum of the last batch's step losses, accumulated in
// float64.
func (w *Workspace) LossSum() float64 { return w.lossSum }

// Latents returns the last batch's latents, (B, L) in input order. The
// slice is reused by the next call.
func (w *Workspace) Latents() []float32 {
	return w.latents[: w.nb*w.cfg.LatentDim : w.nb*w.cfg.LatentDim]
}

// StepLosses returns the last batch's step losses of sequence b (input
// order), one per real step. The slice is reused by the next call.
func (w *Workspace) StepLosses(b int) []float32 {
	return w.stepLoss[w.seqOff[b]:w.seqOff[b+1]:w.seqOff[b+1]]
}

// SetFeatureLosses turns on (or off) keeping each step's squared error per
// feature, for FeatureLosses; off by default.
func (w *Workspace) SetFeatureLosses(on bool) { w.featOn = on }

// FeatureLosses returns the last batch's squared errors per feature of
// sequence b (input order): (len, I), row-major, one row per real step,
// whose mean is the step's loss. It panics unless SetFeatureLosses(true)
// preceded the batch. The slice is reused by the next call.
func (w *Workspace) FeatureLosses(b int) []float32 {
	if !w.featOn {
		panic("nn: FeatureLosses needs SetFeatureLosses(true) before the batch")
	}
	I := w.cfg.InputDim
	return w.featLoss[w.seqOff[b]*I : w.seqOff[b+1]*I : w.seqOff[b+1]*I]
}

// RealSteps is the number of real steps in the last batch.
func (w *Workspace) RealSteps() int { return w.nr }

// addTo adds src into dst, element by element.
func addTo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// colSum adds the column sums of the (rows, cols) matrix a into dst (cols).
func colSum(dst, a []float32, rows, cols int) {
	if colSumVec != nil && cols%8 == 0 && rows > 0 {
		_, _ = dst[cols-1], a[rows*cols-1]
		colSumVec(&dst[0], &a[0], rows, cols)
		return
	}
	colSumGo(dst, a, rows, cols)
}

// colSumVec is colSum's vector loop for cols a multiple of 8, giving
// colSumGo's bits; nil where the CPU has none.
var colSumVec func(dst, a *float32, rows, cols int)

// colSumGo is colSum's naive loop.
func colSumGo(dst, a []float32, rows, cols int) {
	for r := range rows {
		addTo(dst[:cols], a[r*cols:(r+1)*cols])
	}
}
