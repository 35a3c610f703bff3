package tenancy_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/schemata/schemata/tenancy"
)

func TestParseCompanyID(t *testing.T) {
	if id, err := tenancy.ParseCompanyID("42"); err != nil || id != 42 || id.Schema() != "company_42" {
		t.Fatalf("got %d %v", id, err)
	}
	for _, s := range []string{"", "0", "-1", "+1", "01", " 1", "1 ", "1;DROP SCHEMA company_1", "../1", "1e3", "0x10", "9223372036854775808", "١"} {
		if _, err := tenancy.ParseCompanyID(s); err == nil {
			t.Errorf("ParseCompanyID(%q) accepted", s)
		}
	}
}

func TestSchemaNameRoundTrip(t *testing.T) {
	id, ok := tenancy.ParseSchema(tenancy.CompanyID(7).Schema())
	if !ok || id != 7 {
		t.Fatal("round trip failed")
	}
	for _, s := range []string{"public", "company_", "company_0", "company_x", "company_7a", "xcompany_7"} {
		if _, ok := tenancy.ParseSchema(s); ok {
			t.Errorf("ParseSchema(%q) accepted", s)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Schema of an invalid id must panic")
		}
	}()
	_ = tenancy.CompanyID(0).Schema()
}

func TestCompanyContext(t *testing.T) {
	if _, ok := tenancy.CompanyFromContext(context.Background()); ok {
		t.Fatal("empty context has a company")
	}
	id, ok := tenancy.CompanyFromContext(tenancy.WithCompany(context.Background(), 3))
	if !ok || id != 3 {
		t.Fatal("company lost")
	}
	if _, ok := tenancy.CompanyFromContext(tenancy.WithCompany(context.Background(), -3)); ok {
		t.Fatal("invalid id accepted")
	}
}

func TestLoadMigrations(t *testing.T) {
	set, err := tenancy.LoadMigrations(fstest.MapFS{
		"0002_add.sql":  {Data: []byte("ALTER TABLE t ADD c int;")},
		"0001_init.sql": {Data: []byte("CREATE TABLE t (id int);")},
		"README.md":     {Data: []byte("docs")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(set) != 2 || set[0].Version != 1 || set[1].Name != "add" || set.Latest() != 2 || len(set.After(1)) != 1 || len(set.After(2)) != 0 {
		t.Fatalf("set %+v", set)
	}
	bad := []fstest.MapFS{
		{"init.sql": {Data: []byte("x")}},
		{"0001_a.sql": {Data: []byte("x")}, "1_b.sql": {Data: []byte("y")}},
		{"0001_a.sql": {Data: []byte("  ")}},
		{"0001_a.txt": {Data: []byte("x")}},
		{"0000_a.sql": {Data: []byte("x")}},
	}
	for i, fsys := range bad {
		if _, err := tenancy.LoadMigrations(fsys); err == nil {
			t.Errorf("bad set %d accepted", i)
		}
	}
}

type source struct {
	calls  atomic.Int32
	exists map[tenancy.CompanyID]bool
}

func (s *source) CompanyExists(_ context.Context, id tenancy.CompanyID) (bool, error) {
	s.calls.Add(1)
	if id == 99 {
		return false, errors.New("db down")
	}
	return s.exists[id], nil
}

func TestDirectoryCachesAndInvalidates(t *testing.T) {
	src := &source{exists: map[tenancy.CompanyID]bool{1: true}}
	d := tenancy.NewDirectory(src, time.Hour)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if ok, err := d.Exists(ctx, 1); !ok || err != nil {
			t.Fatal("company 1 must exist")
		}
	}
	if src.calls.Load() != 1 {
		t.Fatalf("positive answer not cached: %d calls", src.calls.Load())
	}
	if ok, _ := d.Exists(ctx, 2); ok {
		t.Fatal("absent company exists")
	}
	src.exists[2] = true
	if ok, _ := d.Exists(ctx, 2); !ok {
		t.Fatal("negative answers must not be cached")
	}
	src.exists[1] = false
	d.Invalidate(ctx, 1)
	if ok, _ := d.Exists(ctx, 1); ok {
		t.Fatal("invalidated company still cached")
	}
	if _, err := d.Exists(ctx, 99); err == nil {
		t.Fatal("source error swallowed")
	}
	if ok, _ := d.Exists(ctx, 0); ok {
		t.Fatal("invalid id exists")
	}
}

func TestRunFleetBoundedAndContinuesPastFailures(t *testing.T) {
	var running, peak atomic.Int32
	ids := []tenancy.CompanyID{1, 2, 3, 4, 5, 6, 7, 8}
	results := tenancy.RunFleet(context.Background(), ids, 3, func(ctx context.Context, id tenancy.CompanyID) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		if id%3 == 0 {
			return errors.New("boom")
		}
		return nil
	})
	if peak.Load() > 3 {
		t.Fatalf("parallelism exceeded: %d", peak.Load())
	}
	for i, r := range results {
		if r.Company != ids[i] {
			t.Fatal("results out of order")
		}
		if (r.Err != nil) != (r.Company%3 == 0) {
			t.Fatalf("tenant %d: err %v", r.Company, r.Err)
		}
	}
}

func TestRunFleetCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var ran atomic.Int32
	results := tenancy.RunFleet(ctx, []tenancy.CompanyID{1, 2, 3, 4}, 1, func(ctx context.Context, id tenancy.CompanyID) error {
		ran.Add(1)
		cancel()
		return nil
	})
	if ran.Load() != 1 {
		t.Fatalf("jobs started after cancel: %d", ran.Load())
	}
	for _, r := range results[1:] {
		if !errors.Is(r.Err, context.Canceled) {
			t.Fatalf("tenant %d: %v", r.Company, r.Err)
		}
	}
}
