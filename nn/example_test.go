package nn_test

import (
	"bytes"
	"fmt"

	"github.com/seqae/seqae/nn"
)

// Train a tiny autoencoder on two sequences of different lengths in one
// padded batch, then encode them and save the model.
func Example() {
	cfg := nn.Config{InputDim: 2, LatentDim: 4, DecoderHidden: 4, Head: nn.HeadLinear}
	m, err := nn.NewModel(cfg, 1)
	if err != nil {
		panic(err)
	}
	// (B=2, T=3, I=2): the second sequence has 2 steps; its third step is
	// padding and is never read.
	x := []float32{
		0.1, 0.2, 0.3, 0.4, 0.5, 0.6,
		-0.1, -0.2, -0.3, -0.4, 99, 99,
	}
	lens := []int{3, 2}
	ws := nn.NewWorkspace(cfg)
	opt := nn.NewAdam(len(m.Params), 1e-2)
	var first, last float32
	for i := range 200 {
		m.ZeroGrad()
		loss := ws.Forward(m, x, lens, 3)
		ws.Backward(m, m.Grads)
		opt.Step(m.Params, m.Grads)
		if i == 0 {
			first = loss
		}
		last = loss
	}
	fmt.Printf("loss fell: %v\n", last < first/10)

	ws.Encode(m, x, lens, 3)
	fmt.Printf("latents: %d values, step losses: %d and %d\n", len(ws.Latents()), len(ws.StepLosses(0)), len(ws.StepLosses(1)))

	var buf bytes.Buffer
	if err := nn.Save(&buf, m, map[string]string{"run_id": "example"}); err != nil {
		panic(err)
	}
	back, meta, err := nn.Load(&buf)
	if err != nil {
		panic(err)
	}
	fmt.Println("same model after a round trip:", back.ID() == m.ID(), meta["run_id"])
	// Output:
	// loss fell: true
	// latents: 8 values, step losses: 3 and 2
	// same model after a round trip: true example
}
