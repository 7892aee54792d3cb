package rest

import "context"

// mapOrdered runs fn on the items produce yields, up to n at a time, and
// hands the results to sink in the order the items came. Status of a large
// pinset asks every peer about every CID: doing a few CIDs at once hides
// that latency, and keeping the order keeps the stream in CID order with
// no more than n items in memory.
//
// The first error of produce or sink stops the pipeline and is returned,
// after every started fn has finished.
func mapOrdered[T, R any](ctx context.Context, n int,
	produce func(yield func(T) error) error,
	fn func(context.Context, T) R,
	sink func(R) error,
) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// One future is held by the loop below, the others wait here.
	futures := make(chan chan R, max(n-1, 0))
	prodErr := make(chan error, 1)
	go func() {
		defer close(futures)
		prodErr <- produce(func(item T) error {
			res := make(chan R, 1)
			select {
			case futures <- res:
			case <-ctx.Done():
				return ctx.Err()
			}
			go func() { res <- fn(ctx, item) }()
			return nil
		})
	}()

	var sinkErr error
	for res := range futures {
		r := <-res
		if sinkErr != nil {
			continue // drain, so that every fn has returned
		}
		if sinkErr = sink(r); sinkErr != nil {
			cancel()
		}
	}
	if err := <-prodErr; sinkErr == nil && err != nil {
		return err
	}
	return sinkErr
}
