package inspect

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/seqae/seqae/jobs"
	"github.com/seqae/seqae/storage"
)

func describeModel(ctx context.Context, store storage.Store, path string, w io.Writer) error {
	mf, err := jobs.ReadModel(ctx, store, path)
	if err != nil {
		return err
	}
	c := mf.Model.Config
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "model\t%s\n", path)
	fmt.Fprintf(tw, "model id\t%s\n", mf.Model.ID())
	fmt.Fprintf(tw, "file size\t%d bytes\n", mf.Bytes)
	fmt.Fprintf(tw, "sizes\tinput %d, latent %d, decoder hidden %d, head %s\n", c.InputDim, c.LatentDim, c.DecoderHidden, c.Head)
	fmt.Fprintf(tw, "parameters\t%d\n", c.NumParams())
	for _, t := range c.Layout() {
		fmt.Fprintf(tw, "  %s\t%v\n", t.Name, t.Shape)
	}
	fmt.Fprintf(tw, "normaliser mean\t%s\n", floats(mf.Norm.Mean))
	fmt.Fprintf(tw, "normaliser std\t%s\n", floats(mf.Norm.Std))
	if len(mf.Boundaries) > 0 {
		fmt.Fprintf(tw, "padded boundaries\t%v\n", mf.Boundaries)
	}
	for _, k := range slices.Sorted(maps.Keys(mf.Meta)) {
		if k == jobs.MetaNormalizer || k == jobs.MetaBoundaries || k == jobs.MetaJobConfig {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\n", k, mf.Meta[k])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if cfg := mf.Meta[jobs.MetaJobConfig]; cfg != "" {
		fmt.Fprintf(w, "job config:\n%s", indent(cfg))
	}
	return nil
}
