package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/migrations"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// This file holds what the repository contract suites share. A contract suite
// (testXxxContract) takes a factory and checks one port's behaviour through
// the port only, so that it can run against every implementation; the
// Test… functions run it against the postgres adapter.

// tenantEnv is what a tenant repository's contract suite needs besides the
// repository.
type tenantEnv struct {
	// UoW scopes work to a tenant of the store the repository works on.
	UoW ports.UnitOfWork
	// A and B are two distinct tenants, freshly created for the caller and in
	// the same initial state (no users or invitations, the same seed).
	A, B tenancy.CompanyID
	// ErrNoScope is the error (matched with errors.Is) the implementation
	// returns when it is called without a tenant scope.
	ErrNoScope error
}

// repoStore is one fresh database with the postgres adapter over it.
type repoStore struct {
	db   *bun.DB
	uow  *postgres.UnitOfWork
	prov *postgres.Provisioner
	seq  atomic.Int64
}

// newRepoStore opens a fresh, migrated database (newDB) with its unit of work
// and provisioner. maxOpenConns optionally bounds the pool.
func newRepoStore(t testing.TB, maxOpenConns ...int) *repoStore {
	t.Helper()
	ts, err := postgres.LoadTenantSchema(migrations.Tenant(), postgres.ReferenceSeed)
	if err != nil {
		t.Fatalf("load tenant schema: %v", err)
	}
	db := newDB(t, maxOpenConns...)
	return &repoStore{db: db, uow: postgres.NewUnitOfWork(db), prov: postgres.NewProvisioner(db, ts)}
}

// newCompany provisions a tenant.
func (s *repoStore) newCompany(t testing.TB) domain.Company {
	t.Helper()
	c, err := s.prov.Create(context.Background(), fmt.Sprintf("Company %d", s.seq.Add(1)), nil)
	if err != nil {
		t.Fatalf("provision tenant: %v", err)
	}
	return c
}

// newTenant provisions a tenant and returns its id.
func (s *repoStore) newTenant(t testing.TB) tenancy.CompanyID {
	t.Helper()
	return tenancy.CompanyID(s.newCompany(t).ID)
}

// tenantEnv provisions two fresh tenants of the store.
func (s *repoStore) tenantEnv(t testing.TB) tenantEnv {
	t.Helper()
	return tenantEnv{UoW: s.uow, A: s.newTenant(t), B: s.newTenant(t), ErrNoScope: postgres.ErrNoTenantScope}
}

// inTenant runs fn in a WithinTenant unit of work for id and returns its
// result; the unit of work commits when fn succeeds and rolls back otherwise.
func inTenant[T any](t *testing.T, uow ports.UnitOfWork, id tenancy.CompanyID, fn func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	var out T
	err := uow.WithinTenant(t.Context(), id, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// readTenant runs fn in a ReadTenant scope for id and returns its result.
func readTenant[T any](t *testing.T, uow ports.UnitOfWork, id tenancy.CompanyID, fn func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	var out T
	err := uow.ReadTenant(t.Context(), id, func(ctx context.Context) error {
		var err error
		out, err = fn(ctx)
		return err
	})
	return out, err
}

// must fails the test now when err is not nil.
func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// wantCode fails the test unless err is a domain error with code, and
// returns it.
func wantCode(t *testing.T, err error, code domain.Code, what string) *domain.Error {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != code {
		t.Fatalf("%s: got error %v (code %s), want code %s", what, err, domain.ErrorCode(err), code)
	}
	return de
}

// wantNoScope fails the test unless err is the implementation's no-scope error.
func wantNoScope(t *testing.T, env tenantEnv, err error, what string) {
	t.Helper()
	if env.ErrNoScope == nil {
		t.Fatalf("tenantEnv.ErrNoScope is nil: the factory must name its fail-closed error")
	}
	if !errors.Is(err, env.ErrNoScope) {
		t.Errorf("%s without a tenant scope: got %v, want %v", what, err, env.ErrNoScope)
	}
}

// checkKeyset pages through list with limit and checks that the pages are in
// strictly increasing id order, at most limit long, and together equal all
// (the ids of one unpaged read, in id order).
func checkKeyset(t *testing.T, all []int64, limit int, list func(page domain.Page) ([]int64, error)) {
	t.Helper()
	var seen []int64
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > len(all)+1 {
			t.Fatalf("paging with limit %d does not end", limit)
		}
		ids, err := list(domain.Page{After: after, Limit: limit})
		must(t, err, "list page")
		if len(ids) > limit {
			t.Fatalf("page after %d has %d rows, limit %d", after, len(ids), limit)
		}
		if len(ids) == 0 {
			break
		}
		for _, id := range ids {
			if id <= after {
				t.Fatalf("page after %d: id %d out of order (ids %v)", after, id, ids)
			}
			after = id
		}
		seen = append(seen, ids...)
	}
	if fmt.Sprint(seen) != fmt.Sprint(all) {
		t.Fatalf("paging with limit %d saw %v, want %v", limit, seen, all)
	}
}

// sortedStrictly reports whether ids is strictly increasing.
func sortedStrictly(ids []int64) bool {
	for i := 1; i < len(ids); i++ {
		if ids[i] <= ids[i-1] {
			return false
		}
	}
	return true
}

// mentions reports whether a domain error's client-facing message contains s.
func mentions(err error, s string) bool {
	var de *domain.Error
	return errors.As(err, &de) && strings.Contains(de.Message, s)
}
