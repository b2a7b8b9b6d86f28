package nn

import "math"

// One LSTM step for n rows of hidden size hd, gate order i f g o:
//
//	a = W_ih x_t + W_hh h_{t-1} + b    (computed by the caller into g)
//	i = σ(a_i)  f = σ(a_f)  g = tanh(a_g)  o = σ(a_o)
//	c_t = f c_{t-1} + i g    h_t = o tanh(c_t)

// The cell's forward and backward in use: the assembly ones where the CPU
// has them (see asm_amd64.go), else the pure-Go ones.
var (
	// lstmCellForward activates the gates in place and computes the new
	// state, of units 0..units-1 (units <= hd) of each row: rows are hd
	// apart (4hd for the gates), and slices that start at unit u0 give
	// units u0..u0+units-1, how a Pair splits a step between its two
	// goroutines.
	//
	//	h     (n, hd)  out: h_t
	//	c     (n, hd)  out: c_t (may be cPrev itself)
	//	tc    (n, hd)  out: tanh(c_t)
	//	g     (n, 4hd) in: pre-activations a; out: activated gates i f g o
	//	cPrev (n, hd)  in: c_{t-1}; nil for zeros
	lstmCellForward = cellForwardGo

	// lstmCellBackward is the step's backward: from dL/dh_t and the
	// gradient reaching c_t from step t+1, the gradient of the
	// pre-activations and the gradient reaching c_{t-1}, of units
	// 0..units-1 of each row, as lstmCellForward.
	//
	//	dg    (n, 4hd) out: dL/da, order i f g o
	//	dc    (n, hd)  in: dL/dc_t from step t+1; out: dL/dc_{t-1}
	//	dh    (n, hd)  in: dL/dh_t from above (the head, or the latent)
	//	dhRec (n, hd)  in: dL/dh_t through the recurrence; nil for zeros
	//	g     (n, 4hd) in: activated gates from the forward
	//	cPrev (n, hd)  in: c_{t-1}; nil for zeros
	//	tc    (n, hd)  in: tanh(c_t)
	//	dgSum (n, 4hd) in/out: dg is added into it; nil for none
	lstmCellBackward = cellBackwardGo
)

// cellForwardGo is the pure-Go lstmCellForward.
func cellForwardGo(h, c, tc, g, cPrev []float32, n, hd, units int) {
	for r := range n {
		gr := g[r*4*hd : r*4*hd+3*hd+units]
		gi, gf, gg, gog := gr[:units], gr[hd:hd+units], gr[2*hd:2*hd+units], gr[3*hd:]
		hr, cr, tr := h[r*hd:r*hd+units], c[r*hd:r*hd+units], tc[r*hd:r*hd+units]
		var cp []float32
		if cPrev != nil {
			cp = cPrev[r*hd : r*hd+units]
		}
		for j := range units {
			i, f, gv, o := sigmoid(gi[j]), sigmoid(gf[j]), tanh(gg[j]), sigmoid(gog[j])
			gi[j], gf[j], gg[j], gog[j] = i, f, gv, o
			cn := i * gv
			if cp != nil {
				cn += f * cp[j]
			}
			t := tanh(cn)
			cr[j], tr[j], hr[j] = cn, t, o*t
		}
	}
}

// cellBackwardGo is the pure-Go lstmCellBackward.
func cellBackwardGo(dg, dc, dh, dhRec, g, cPrev, tc, dgSum []float32, n, hd, units int) {
	for r := range n {
		gr := g[r*4*hd : r*4*hd+3*hd+units]
		dr := dg[r*4*hd : r*4*hd+3*hd+units]
		dcr, dhr, tr := dc[r*hd:r*hd+units], dh[r*hd:r*hd+units], tc[r*hd:r*hd+units]
		for j := range units {
			i, f, gv, o := gr[j], gr[hd+j], gr[2*hd+j], gr[3*hd+j]
			t, d := tr[j], dhr[j]
			if dhRec != nil {
				d += dhRec[r*hd+j]
			}
			dcj := dcr[j] + d*o*(1-t*t)
			var c0 float32
			if cPrev != nil {
				c0 = cPrev[r*hd+j]
			}
			dr[j] = dcj * gv * i * (1 - i)
			dr[hd+j] = dcj * c0 * f * (1 - f)
			dr[2*hd+j] = dcj * i * (1 - gv*gv)
			dr[3*hd+j] = d * t * o * (1 - o)
			dcr[j] = dcj * f
		}
		if dgSum != nil {
			for q := range 4 {
				addTo(dgSum[r*4*hd+q*hd:r*4*hd+q*hd+units], dr[q*hd:q*hd+units])
			}
		}
	}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func tanh(x float32) float32 { return float32(math.Tanh(float64(x))) }
