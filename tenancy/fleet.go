package tenancy

import (
	"context"
	"runtime"
	"sync"
	"time"
)

// Result is the outcome of one tenant's job in a fleet run.
type Result struct {
	Company  CompanyID
	Err      error
	Duration time.Duration
}

// DefaultParallelism is the fleet runner's default bound: twice the number of
// CPUs, at least 4 (tenant work is mostly waiting on the database's disk
// syncs and round trips, so more connections than cores pay off).
func DefaultParallelism() int { return max(4, 2*runtime.NumCPU()) }

// RunFleet runs job for every tenant with at most parallel jobs at once,
// continuing past failures, and returns one Result per tenant in input order.
// When ctx is cancelled, tenants not yet started get ctx.Err() and are not run;
// jobs already running see the cancelled ctx.
func RunFleet(ctx context.Context, ids []CompanyID, parallel int, job func(ctx context.Context, id CompanyID) error) []Result {
	if parallel <= 0 {
		parallel = DefaultParallelism()
	}
	results := make([]Result, len(ids))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, id := range ids {
		results[i].Company = id
		select {
		case <-ctx.Done():
			results[i].Err = ctx.Err()
			continue
		case sem <- struct{}{}:
		}
		if err := ctx.Err(); err != nil {
			<-sem
			results[i].Err = err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			start := time.Now()
			results[i].Err = job(ctx, id)
			results[i].Duration = time.Since(start)
		}()
	}
	wg.Wait()
	return results
}
