package pipeline

import "context"

// Generate adapts a function that produces items by calling emit into a
// source. emit returns an error once the pipeline is cancelled; fn should
// then return it.
func Generate[B any](fn func(ctx context.Context, emit func(B) error) error) SourceFunc[B] {
	return func(ctx context.Context, out chan<- B) error {
		return fn(ctx, func(b B) error { return Send(ctx, out, b) })
	}
}

// Map adapts a function of one item into a stage that sends one result per
// input item.
func Map[A, B any](fn func(ctx context.Context, a A) (B, error)) StageFunc[A, B] {
	return func(ctx context.Context, in <-chan A, out chan<- B) error {
		for a := range Receive(ctx, in) {
			b, err := fn(ctx, a)
			if err != nil {
				return err
			}
			if err := Send(ctx, out, b); err != nil {
				return err
			}
		}
		return nil
	}
}

// FlatMap adapts a function that turns each input item into any number of
// results, sent by calling emit, into a stage. If end is not nil, each worker
// calls it once after its input is exhausted, to emit what it still holds
// (a batcher's partial batches, say); it is not called when the pipeline is
// cancelled.
func FlatMap[A, B any](each func(ctx context.Context, a A, emit func(B) error) error, end func(ctx context.Context, emit func(B) error) error) StageFunc[A, B] {
	return func(ctx context.Context, in <-chan A, out chan<- B) error {
		emit := func(b B) error { return Send(ctx, out, b) }
		for a := range Receive(ctx, in) {
			if err := each(ctx, a, emit); err != nil {
				return err
			}
		}
		if end == nil || ctx.Err() != nil {
			return nil
		}
		return end(ctx, emit)
	}
}

// ForEach adapts a function of one item into a sink.
func ForEach[A any](fn func(ctx context.Context, a A) error) SinkFunc[A] {
	return func(ctx context.Context, in <-chan A) error {
		for a := range Receive(ctx, in) {
			if err := fn(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}
}
