package postgres_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// TestConcurrentTenantIsolation runs hundreds of concurrent tenant-scoped
// writes and reads over a small pool (4 connections for 20 tenants, so every
// connection serves many tenants in quick succession) and checks that every
// result belongs to the tenant that asked, then that no connection went back
// to the pool with tenant state: the scope lives in a transaction or a single
// message, never in the session.
func TestConcurrentTenantIsolation(t *testing.T) {
	t.Parallel()
	const (
		tenants  = 20
		ops      = 600
		poolSize = 4
	)
	store := newRepoStore(t, poolSize)
	repo := postgres.NewReferenceRepository(store.db)
	ids := make([]tenancy.CompanyID, tenants)
	for i := range ids {
		ids[i] = store.newTenant(t)
	}
	// A deadlock guard, not a timing assertion.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	tag := regexp.MustCompile(`^t(\d+)-(\d+)$`)
	var (
		leaks   atomic.Int64
		checks  atomic.Int64
		writes  [tenants]atomic.Int64
		mu      sync.Mutex
		errs    []error
		start   = make(chan struct{})
		wg      sync.WaitGroup
		failure = func(format string, args ...any) {
			mu.Lock()
			errs = append(errs, fmt.Errorf(format, args...))
			mu.Unlock()
		}
	)
	// checkSchema asserts that the statement handle of ctx runs in id's schema.
	checkSchema := func(ctx context.Context, id tenancy.CompanyID, where string) error {
		h, _, err := postgres.TenantHandle(ctx, store.db)
		if err != nil {
			return err
		}
		var schema string
		if err := h.NewRaw("SELECT current_schema()").Scan(ctx, &schema); err != nil {
			return err
		}
		checks.Add(1)
		if schema != id.Schema() {
			leaks.Add(1)
			failure("%s for tenant %d ran in schema %q", where, id, schema)
		}
		return nil
	}
	// checkItems asserts that every tagged item listed for id is id's own and
	// every other one is seed data.
	checkItems := func(id tenancy.CompanyID, kind domain.RefKind, items []domain.RefItem, where string) {
		for _, it := range items {
			checks.Add(1)
			if m := tag.FindStringSubmatch(it.Name); m != nil {
				if m[1] != id.String() {
					leaks.Add(1)
					failure("%s for tenant %d returned %s %q of tenant %s", where, id, kind, it.Name, m[1])
				}
			} else if !slices.Contains(domain.DefaultReferenceData[kind], it.Name) {
				leaks.Add(1)
				failure("%s for tenant %d returned unexpected %s %q", where, id, kind, it.Name)
			}
		}
	}

	for n := range ops {
		slot := n % tenants
		id := ids[slot]
		kind := domain.RefKinds[(n/3)%len(domain.RefKinds)]
		wg.Go(func() {
			<-start
			var err error
			switch n % 3 {
			case 0: // write, checking the schema inside the transaction too
				writes[slot].Add(1)
				err = store.uow.WithinTenant(ctx, id, func(ctx context.Context) error {
					if _, err := repo.Create(ctx, kind, domain.RefItem{Name: fmt.Sprintf("t%d-%d", id, n)}); err != nil {
						return err
					}
					return checkSchema(ctx, id, "write")
				})
			case 1: // read: list
				err = store.uow.ReadTenant(ctx, id, func(ctx context.Context) error {
					items, err := repo.List(ctx, kind, domain.Page{Limit: domain.MaxPageSize})
					if err != nil {
						return err
					}
					checkItems(id, kind, items, "list")
					return nil
				})
			case 2: // read: the schema the statement runs in
				err = store.uow.ReadTenant(ctx, id, func(ctx context.Context) error {
					return checkSchema(ctx, id, "read")
				})
			}
			if err != nil {
				failure("op %d (tenant %d): %w", n, id, err)
			}
		})
	}
	close(start)
	wg.Wait()

	for _, err := range errs[:min(len(errs), 10)] {
		t.Error(err)
	}
	if len(errs) > 10 {
		t.Errorf("… and %d more failures", len(errs)-10)
	}
	if n := leaks.Load(); n != 0 {
		t.Fatalf("%d results of %d checked belonged to another tenant or to no tenant", n, checks.Load())
	}
	if checks.Load() < ops/3 {
		t.Fatalf("only %d results were checked", checks.Load())
	}

	// Afterwards every tenant holds exactly its own writes.
	for slot, id := range ids {
		var own int64
		for _, kind := range domain.RefKinds {
			items, err := readTenant(t, store.uow, id, func(ctx context.Context) ([]domain.RefItem, error) {
				return repo.List(ctx, kind, domain.Page{Limit: domain.MaxPageSize})
			})
			must(t, err, "final list")
			for _, it := range items {
				m := tag.FindStringSubmatch(it.Name)
				if m == nil {
					continue
				}
				if owner, _ := strconv.ParseInt(m[1], 10, 64); owner != int64(id) {
					t.Errorf("tenant %d holds %s %q", id, kind, it.Name)
				}
				own++
			}
		}
		if want := writes[slot].Load(); own != want {
			t.Errorf("tenant %d holds %d tagged items, want %d", id, own, want)
		}
	}

	assertPoolClean(t, store, poolSize)
}

// assertPoolClean takes every connection of the pool at once and checks that
// each is back at the no-tenant search_path with no transaction open.
func assertPoolClean(t *testing.T, store *repoStore, poolSize int) {
	t.Helper()
	ctx := t.Context()
	pids := map[int64]bool{}
	for i := range poolSize {
		conn, err := store.db.DB.Conn(ctx)
		must(t, err, "take a pooled connection")
		defer conn.Close()
		var (
			path string
			pid  int64
		)
		must(t, conn.QueryRowContext(ctx, "SHOW search_path").Scan(&path), "show search_path")
		must(t, conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid), "backend pid")
		if path != postgres.NoTenantSearchPath {
			t.Errorf("pooled connection %d (pid %d) has search_path %q, want %q", i, pid, path, postgres.NoTenantSearchPath)
		}
		pids[pid] = true
		if i == poolSize-1 {
			// Every other connection of the pool is held here and idle: none
			// may sit in a transaction.
			var busy int
			must(t, conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND backend_type = 'client backend'
				AND pid <> pg_backend_pid() AND state <> 'idle'`).Scan(&busy), "pg_stat_activity")
			if busy != 0 {
				t.Errorf("%d pooled connections are not idle (e.g. idle in transaction)", busy)
			}
		}
	}
	if len(pids) != poolSize {
		t.Errorf("took %d distinct backends, want %d", len(pids), poolSize)
	}
}
