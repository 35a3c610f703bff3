package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/tenancy"
)

// BenchmarkScale is the fleet scale run of BENCHMARKS.md (not run by CI: it
// takes minutes). For 200 and 2,000 tenants of Schemata's real tenant schema it
// provisions the fleet, then times `migrate` with nothing pending, `status`,
// `verify`, and one real migration (a column and an index), and samples the
// peak proportional memory (PSS) of all PostgreSQL server processes during
// each step. Run it with:
//
//	go test -run '^$' -bench BenchmarkScale -benchtime=1x -timeout 60m ./adapters/postgres/
//
// SCHEMATA_SCALE_SIZES overrides the sizes (comma-separated).
func BenchmarkScale(b *testing.B) {
	sizes := []int{200, 2000}
	if s := os.Getenv("SCHEMATA_SCALE_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				b.Fatalf("bad SCHEMATA_SCALE_SIZES %q", s)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			for range b.N {
				scaleRun(b, n)
			}
		})
	}
}

func scaleRun(b *testing.B, n int) {
	ctx := context.Background()
	db := newDB(b, 16)
	ts := referenceSchema(b)
	step := func(name string, fn func() error) {
		stop := samplePostgresPSS()
		start := time.Now()
		if err := fn(); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		wall := time.Since(start)
		peak := stop()
		b.Logf("tenants=%d %s: %.3fs, peak server PSS %.1f MiB", n, name, wall.Seconds(), float64(peak)/(1<<20))
		b.ReportMetric(wall.Seconds(), name+"_s")
		b.ReportMetric(float64(peak)/(1<<20), name+"_peakMiB")
	}
	p := postgres.NewProvisioner(db, ts)
	step("provision", func() error {
		res := tenancy.RunFleet(ctx, make([]tenancy.CompanyID, n), 4, func(ctx context.Context, _ tenancy.CompanyID) error {
			_, err := p.Create(ctx, "Tenant", nil)
			return err
		})
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
		}
		return nil
	})
	m := postgres.NewTenantMigrator(db, ts)
	step("migrate_noop", func() error {
		rep, err := m.Run(ctx, postgres.FleetOptions{})
		if err == nil && !rep.NothingToDo {
			err = fmt.Errorf("expected nothing to do")
		}
		return err
	})
	step("status", func() error {
		st, err := m.Status(ctx)
		if err == nil && len(st) != n {
			err = fmt.Errorf("status lists %d tenants, want %d", len(st), n)
		}
		return err
	})
	v := postgres.NewVerifier(db, ts)
	step("verify", func() error {
		rep, err := v.Verify(ctx, nil, nil)
		if err == nil && !rep.OK() {
			err = fmt.Errorf("drift on a fresh fleet: %+v", rep)
		}
		return err
	})
	next := scaleNextSchema(b, ts)
	step("migrate_one", func() error {
		rep, err := postgres.NewTenantMigrator(db, next).Run(ctx, postgres.FleetOptions{})
		if err == nil && len(rep.Results) != n {
			err = fmt.Errorf("migrated %d tenants, want %d", len(rep.Results), n)
		}
		return err
	})
}

// scaleNextSchema is Schemata's tenant set (read from migrations/tenant on
// disk so that one file can be added) plus one migration.
func scaleNextSchema(b *testing.B, ts postgres.TenantSchema) postgres.TenantSchema {
	fsys := fstest.MapFS{}
	entries, err := os.ReadDir(filepath.Join("..", "..", "migrations", "tenant"))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("..", "..", "migrations", "tenant", e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		fsys[e.Name()] = &fstest.MapFile{Data: data}
	}
	next := fmt.Sprintf("%04d_scale_probe.sql", ts.Migrations.Latest()+1)
	fsys[next] = &fstest.MapFile{Data: []byte("ALTER TABLE components ADD COLUMN scale_probe text NOT NULL DEFAULT '';\nCREATE INDEX components_scale_probe_idx ON components (scale_probe);")}
	out, err := postgres.LoadTenantSchema(fsys, postgres.ReferenceSeed)
	if err != nil {
		b.Fatal(err)
	}
	return out
}

// samplePostgresPSS samples the summed PSS of every process named
// "postgres" every 25 ms until the returned function is called; that
// function returns the peak in bytes.
func samplePostgresPSS() func() int64 {
	var peak atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(25 * time.Millisecond)
		defer t.Stop()
		for {
			if v := postgresPSS(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

func postgresPSS() int64 {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total int64
	for _, d := range dirs {
		comm, err := os.ReadFile(d + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		f, err := os.Open(d + "/smaps_rollup")
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				total += kb << 10
				break
			}
		}
		f.Close()
	}
	return total
}
