package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/tenancy"
)

// itemsCodeV2 adds a NOT NULL column without a default: it fails exactly in
// the tenants whose items table holds a row (the marker), nowhere else.
var itemsCodeV2 = withMigrations(itemsV1, map[string]string{
	"0002_code.sql": "ALTER TABLE items ADD COLUMN code text NOT NULL;\nCREATE INDEX items_code_idx ON items (code);",
})

// itemsV3 adds a column (0002) and then a table and an index (0003).
var itemsV3 = withMigrations(itemsV2, map[string]string{
	"0003_tags.sql": "CREATE TABLE tags (id bigint PRIMARY KEY, label text NOT NULL);\nCREATE INDEX items_note_idx ON items (note);",
})

// putMarker inserts a row into the tenant's items table.
func putMarker(t testing.TB, db *bun.DB, id tenancy.CompanyID) {
	t.Helper()
	if _, err := db.NewRaw("INSERT INTO ?.items (name) VALUES ('marker')", bun.Ident(id.Schema())).Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func resultIDs(rs []tenancy.Result) []tenancy.CompanyID {
	var ids []tenancy.CompanyID
	for _, r := range rs {
		ids = append(ids, r.Company)
	}
	slices.Sort(ids)
	return ids
}

// assertAtV3OrV1 checks that a tenant is entirely at version 1 or entirely at
// version 3 (records, real structure and ledger agree) and returns which.
func assertAtV3OrV1(t testing.TB, db *bun.DB, id tenancy.CompanyID) int64 {
	t.Helper()
	vs := tenantVersions(t, db, id)
	note := columnExists(t, db, id, "items", "note")
	tags := tableExists(t, db, id.Schema()+".tags")
	idx := tableExists(t, db, id.Schema()+".items_note_idx")
	l := ledger(t, db, id)
	switch {
	case slices.Equal(vs, []int64{1}) && !note && !tags && !idx && l == (ledgerRow{Version: 1, Status: "ok"}):
		return 1
	case slices.Equal(vs, []int64{1, 2, 3}) && note && tags && idx && l == (ledgerRow{Version: 3, Status: "ok"}):
		return 3
	}
	t.Errorf("%s is between versions: records %v, note column %v, tags table %v, index %v, ledger %+v", id.Schema(), vs, note, tags, idx, l)
	return 0
}

// "Nothing to do" costs the same, small number of round trips with 1 tenant
// and with 200; so does Status.
func TestFleetNothingToDoIsConstant(t *testing.T) {
	db, log := newLoggedDB(t, 4)
	ctx := context.Background()
	ts := mustSchema(t, itemsV1, nil)
	m := postgres.NewTenantMigrator(db, ts)

	measure := func(n int) (run, onlyFailed, status int) {
		t.Helper()
		log.Take()
		rep, err := m.Run(ctx, postgres.FleetOptions{})
		if err != nil || !rep.NothingToDo || len(rep.Results) != 0 || len(rep.Planned) != 0 {
			t.Fatalf("at %d tenants: Run = %+v, %v; want nothing to do", n, rep, err)
		}
		run = len(log.Take())
		if rep, err := m.Run(ctx, postgres.FleetOptions{OnlyFailed: true}); err != nil || !rep.NothingToDo {
			t.Fatalf("at %d tenants: Run(OnlyFailed) = %+v, %v", n, rep, err)
		}
		onlyFailed = len(log.Take())
		st, err := m.Status(ctx)
		if err != nil || len(st) != n {
			t.Fatalf("at %d tenants: Status = %d rows, %v", n, len(st), err)
		}
		status = len(log.Take())
		return run, onlyFailed, status
	}

	provisionN(t, db, ts, 1)
	run1, failed1, status1 := measure(1)
	provisionN(t, db, ts, 199)
	run200, failed200, status200 := measure(200)
	t.Logf("round trips at 1 and 200 tenants: run %d/%d, only-failed %d/%d, status %d/%d", run1, run200, failed1, failed200, status1, status200)
	if run1 != run200 || failed1 != failed200 || status1 != status200 {
		t.Errorf("round trips grow with the fleet: run %d→%d, only-failed %d→%d, status %d→%d", run1, run200, failed1, failed200, status1, status200)
	}
	if run200 != 1 || failed200 != 1 || status200 != 1 {
		t.Errorf("nothing to do should cost one query each: run %d, only-failed %d, status %d", run200, failed200, status200)
	}
}

// A tenant with one pending migration costs one message: BEGIN, the
// search_path, the tenant lock, the version guard, the migration, its
// record, the ledger row and COMMIT travel together, committed without
// waiting for the WAL flush. The run adds a fixed number of messages (first
// look, fleet lock, look under the lock, re-check, one synchronous commit
// that makes the run durable, unlock), the synchronous commit after every
// tenant transaction.
func TestFleetOneMessagePerTenant(t *testing.T) {
	db, log := newLoggedDB(t, 4)
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 5)
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsV2, nil))
	log.Take()
	rep, err := m.Run(context.Background(), postgres.FleetOptions{})
	if err != nil || len(rep.Results) != len(ids) {
		t.Fatalf("Run = %d results, %v", len(rep.Results), err)
	}
	msgs := log.Take()
	perTenant, lastTenant, flush := 0, -1, -1
	for i, q := range msgs {
		if strings.HasPrefix(q, "BEGIN; SET LOCAL synchronous_commit TO off; ") && strings.Contains(q, "pg_advisory_xact_lock") && strings.HasSuffix(q, "COMMIT") {
			perTenant++
			lastTenant = i
		}
		if strings.Contains(q, "synchronous_commit TO on") {
			flush = i
		}
	}
	if perTenant != len(ids) || len(msgs) != len(ids)+6 || flush < lastTenant {
		t.Errorf("%d messages, %d of them whole tenant transactions, durability flush at %d after the last at %d; want %d + 6 and %d: %q",
			len(msgs), perTenant, flush, lastTenant, len(ids), len(ids), msgs)
	}
	for _, id := range ids {
		assertAt(t, db, id, 2)
	}
}

// A migration that fails in a few tenants: the others are migrated, the
// ledger records each outcome, the failed tenants are rolled back entirely,
// and OnlyFailed reruns exactly them.
func TestFleetFailingTenantsThenOnlyFailed(t *testing.T) {
	db := newDB(t, 5)
	ctx := context.Background()
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 6)
	bad := []tenancy.CompanyID{ids[1], ids[4]}
	for _, id := range bad {
		putMarker(t, db, id)
	}
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsCodeV2, nil))
	var (
		mu      sync.Mutex
		seen    []tenancy.CompanyID
		planned int
	)
	rep, err := m.Run(ctx, postgres.FleetOptions{
		Parallel: 3,
		OnPlan:   func(p []tenancy.Plan) { planned += len(p) },
		OnResult: func(r tenancy.Result) { mu.Lock(); seen = append(seen, r.Company); mu.Unlock() },
	})
	if err == nil || !strings.Contains(err.Error(), "2 of 6 tenants failed") {
		t.Fatalf("Run error = %v, want 2 of 6 failed", err)
	}
	slices.Sort(seen)
	if planned != 6 || !slices.Equal(seen, ids) || !slices.Equal(resultIDs(rep.Results), ids) || rep.NothingToDo {
		t.Fatalf("planned %d, OnResult %v, results %v; want all of %v", planned, seen, resultIDs(rep.Results), ids)
	}
	for _, r := range rep.Results {
		if (r.Err != nil) != slices.Contains(bad, r.Company) {
			t.Errorf("company %d: err = %v", r.Company, r.Err)
		}
	}
	for _, id := range ids {
		if slices.Contains(bad, id) {
			l := ledger(t, db, id)
			if l.Status != "failed" || l.Version != 1 || !strings.Contains(l.Error, "migration 0002_code") || !strings.Contains(l.Error, "contains null values") {
				t.Errorf("ledger of failed %s = %+v", id.Schema(), l)
			}
			if vs := tenantVersions(t, db, id); !slices.Equal(vs, []int64{1}) || columnExists(t, db, id, "items", "code") {
				t.Errorf("failed %s kept part of its migration: records %v", id.Schema(), vs)
			}
			continue
		}
		assertAt(t, db, id, 2)
		if !columnExists(t, db, id, "items", "code") || !tableExists(t, db, id.Schema()+".items_code_idx") {
			t.Errorf("%s: migration 2 not applied", id.Schema())
		}
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		want := tenancy.StatusOK
		if slices.Contains(bad, s.CompanyID) {
			want = tenancy.StatusFailed
		}
		if s.Status != want || (want == tenancy.StatusFailed) != (s.Error != "") {
			t.Errorf("status of %d = %+v, want %s", s.CompanyID, s, want)
		}
	}

	// Rerunning the failed tenants before fixing them fails again and
	// touches no one else.
	rep, err = m.Run(ctx, postgres.FleetOptions{OnlyFailed: true})
	if err == nil || !slices.Equal(resultIDs(rep.Results), bad) {
		t.Fatalf("OnlyFailed rerun before the fix = %v, %v; want the same two failures", resultIDs(rep.Results), err)
	}

	// Fix the data; OnlyFailed now succeeds for exactly those tenants.
	for _, id := range bad {
		if _, err := db.NewRaw("DELETE FROM ?.items", bun.Ident(id.Schema())).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = m.Run(ctx, postgres.FleetOptions{OnlyFailed: true})
	if err != nil || !slices.Equal(resultIDs(rep.Results), bad) {
		t.Fatalf("OnlyFailed rerun after the fix = %v, %v", resultIDs(rep.Results), err)
	}
	for _, id := range ids {
		assertAt(t, db, id, 2)
	}
	if rep, err := m.Run(ctx, postgres.FleetOptions{}); err != nil || !rep.NothingToDo {
		t.Errorf("run after the fix = %+v, %v; want nothing to do", rep, err)
	}
}

func TestFleetOnly(t *testing.T) {
	db, log := newLoggedDB(t, 4)
	ctx := context.Background()
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 4)
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsV2, nil))
	fail := func(string) func([]tenancy.Plan) {
		return func([]tenancy.Plan) { t.Error("OnPlan called although nothing may run") }
	}

	log.Take()
	rep, err := m.Run(ctx, postgres.FleetOptions{Only: []tenancy.CompanyID{ids[0], 999999, 999998}, OnPlan: fail("unknown")})
	if err == nil || !strings.Contains(err.Error(), "no company with id 999998, 999999") || len(rep.Results) != 0 {
		t.Fatalf("Run with unknown ids = %+v, %v; want an error naming them", rep, err)
	}
	if msgs := log.Take(); len(msgs) != 1 {
		t.Errorf("an unknown id must fail at the first look, before anything runs; sent %q", msgs)
	}
	if _, err := m.Run(ctx, postgres.FleetOptions{Only: []tenancy.CompanyID{0}}); err == nil {
		t.Error("invalid id accepted")
	}
	for _, id := range ids {
		assertAt(t, db, id, 1)
	}

	only := []tenancy.CompanyID{ids[2], ids[0]}
	rep, err = m.Run(ctx, postgres.FleetOptions{Only: only})
	if err != nil || !slices.Equal(resultIDs(rep.Results), []tenancy.CompanyID{ids[0], ids[2]}) {
		t.Fatalf("Run(Only) = %v, %v", resultIDs(rep.Results), err)
	}
	assertAt(t, db, ids[0], 2)
	assertAt(t, db, ids[1], 1)
	assertAt(t, db, ids[2], 2)
	assertAt(t, db, ids[3], 1)
	if rep, err := m.Run(ctx, postgres.FleetOptions{Only: []tenancy.CompanyID{ids[0]}}); err != nil || !rep.NothingToDo {
		t.Errorf("Run(Only) of an up-to-date tenant = %+v, %v; want nothing to do", rep, err)
	}
}

func TestFleetDryRunWritesNothing(t *testing.T) {
	db, log := newLoggedDB(t, 4)
	ctx := context.Background()
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 3)
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsV3, nil))
	snapshot := func() string {
		var rows []string
		if err := db.NewRaw(`SELECT concat_ws(' ', company_id, version, status, error, duration_ms, updated_at) FROM public.tenant_fleet ORDER BY 1`).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			rows = append(rows, id.Schema(), strings.Repeat("v", len(tenantVersions(t, db, id))))
		}
		return strings.Join(rows, "\n")
	}
	before := snapshot()
	log.Take()
	rep, err := m.Run(ctx, postgres.FleetOptions{
		DryRun:   true,
		OnPlan:   func([]tenancy.Plan) { t.Error("OnPlan called in a dry run") },
		OnResult: func(tenancy.Result) { t.Error("OnResult called in a dry run") },
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := log.Take()
	var want []tenancy.Plan
	for _, id := range ids {
		want = append(want, tenancy.Plan{CompanyID: id, From: 1, To: 3})
	}
	if !slices.Equal(rep.Planned, want) || len(rep.Results) != 0 || rep.NothingToDo || rep.Latest != 3 {
		t.Errorf("dry run report = %+v, want planned %v and no results", rep, want)
	}
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "SELECT ") {
		t.Errorf("a dry run must send one plain SELECT, sent %q", msgs)
	}
	if after := snapshot(); after != before {
		t.Errorf("dry run changed the fleet:\nbefore %s\nafter  %s", before, after)
	}
	for _, id := range ids {
		if columnExists(t, db, id, "items", "note") {
			t.Errorf("%s migrated by a dry run", id.Schema())
		}
	}
}

// Cancelling the context from OnResult stops the run: every tenant is
// entirely at its old or its new version, the ledger agrees, nothing is
// marked failed, and a rerun finishes the rest.
func TestFleetCancelledRunLeavesNoTenantBetween(t *testing.T) {
	db := newDB(t, 6)
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 24)
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsV3, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var done atomic.Int32
	rep, err := m.Run(ctx, postgres.FleetOptions{Parallel: 3, OnResult: func(tenancy.Result) {
		if done.Add(1) == 5 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	ok := map[tenancy.CompanyID]bool{}
	for _, r := range rep.Results {
		if r.Err == nil {
			ok[r.Company] = true
		} else if !errors.Is(r.Err, context.Canceled) {
			t.Errorf("company %d: %v, want success or context.Canceled", r.Company, r.Err)
		}
	}
	migrated := 0
	for _, id := range ids {
		v := assertAtV3OrV1(t, db, id)
		if v == 3 {
			migrated++
		}
		if (v == 3) != ok[id] {
			t.Errorf("%s at version %d but its result says success=%v", id.Schema(), v, ok[id])
		}
	}
	if migrated < 5 || migrated == len(ids) {
		t.Fatalf("%d of %d tenants migrated; the cancel after 5 must stop the run part-way", migrated, len(ids))
	}

	rep, err = postgres.NewTenantMigrator(db, mustSchema(t, itemsV3, nil)).Run(context.Background(), postgres.FleetOptions{})
	if err != nil || len(rep.Results) != len(ids)-migrated {
		t.Fatalf("rerun = %d results, %v; want the %d left", len(rep.Results), err, len(ids)-migrated)
	}
	for _, id := range ids {
		if v := assertAtV3OrV1(t, db, id); v != 3 {
			t.Errorf("%s at version %d after the rerun", id.Schema(), v)
		}
	}
}

// A run cancelled between the messages of one tenant's transaction (its
// first migration already sent) rolls that tenant back entirely.
func TestFleetCancelInsideTenantTransactionRollsBack(t *testing.T) {
	db := newDB(t, 4)
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 2)
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsV3, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent []int
	postgres.SetBeforeMessage(m, func(id tenancy.CompanyID, i int) {
		sent = append(sent, i)
		if id == ids[0] && i == 1 {
			cancel() // migration 0002 is applied in the open transaction
		}
	})
	rep, err := m.Run(ctx, postgres.FleetOptions{Parallel: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if !slices.Equal(sent, []int{0, 1}) {
		t.Fatalf("messages attempted %v, want [0 1] (two pending migrations, one message each)", sent)
	}
	if len(rep.Results) != 2 || !errors.Is(rep.Results[0].Err, context.Canceled) || !errors.Is(rep.Results[1].Err, context.Canceled) {
		t.Fatalf("results %+v", rep.Results)
	}
	for _, id := range ids {
		if v := assertAtV3OrV1(t, db, id); v != 1 {
			t.Errorf("%s at version %d, want 1", id.Schema(), v)
		}
	}
	postgres.SetBeforeMessage(m, nil)
	if _, err := m.Run(context.Background(), postgres.FleetOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if v := assertAtV3OrV1(t, db, id); v != 3 {
			t.Errorf("%s at version %d after the rerun", id.Schema(), v)
		}
	}
}

// migrationRecordCounts returns, per tenant, how many times each version is
// recorded (the primary key makes more than one impossible, so a second
// application would have failed instead) and the total.
func migrationRecordCount(t testing.TB, db *bun.DB, id tenancy.CompanyID) int64 {
	t.Helper()
	return queryInt(t, db, "SELECT count(*) FROM ?.schemata_migrations", bun.Ident(id.Schema()))
}

// waitForFleetLockWaiter returns once a session waits for the fleet lock; it
// fails the test if done reports first.
func waitForFleetLockWaiter(t testing.TB, db *bun.DB, done <-chan error) {
	t.Helper()
	class, obj := postgres.FleetLockKey()
	for {
		if queryInt(t, db, `SELECT count(*) FROM pg_catalog.pg_locks WHERE NOT granted AND locktype = 'advisory'
			AND classid = ? AND objid = ? AND objsubid = 2`, class, obj) > 0 {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("the second run finished (%v) while the first held the fleet lock", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func TestFleetConcurrentRunners(t *testing.T) {
	db := newDB(t, 10)
	ctx := context.Background()
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 6)

	t.Run("no wait: the second run is refused", func(t *testing.T) {
		ts := mustSchema(t, itemsV2, nil)
		holding, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		first := make(chan error, 1)
		go func() {
			_, err := postgres.NewTenantMigrator(db, ts).Run(ctx, postgres.FleetOptions{Parallel: 2, OnPlan: func([]tenancy.Plan) {
				once.Do(func() { close(holding); <-release })
			}})
			first <- err
		}()
		<-holding // the first run holds the fleet lock and has not started work
		rep, err := postgres.NewTenantMigrator(db, ts).Run(ctx, postgres.FleetOptions{Wait: false})
		if !errors.Is(err, postgres.ErrFleetBusy) || !strings.Contains(err.Error(), "held by server process") || len(rep.Results) != 0 {
			t.Errorf("second run = %+v, %v; want ErrFleetBusy naming the holder", rep, err)
		}
		for _, id := range ids {
			assertAt(t, db, id, 1)
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			assertAt(t, db, id, 2)
		}
	})

	t.Run("wait: the second run waits, then finds nothing to do", func(t *testing.T) {
		ts := mustSchema(t, itemsV3, nil)
		holding, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		type outcome struct {
			rep postgres.FleetReport
			err error
		}
		first, second := make(chan outcome, 1), make(chan outcome, 1)
		go func() {
			rep, err := postgres.NewTenantMigrator(db, ts).Run(ctx, postgres.FleetOptions{Parallel: 2, OnPlan: func([]tenancy.Plan) {
				once.Do(func() { close(holding); <-release })
			}})
			first <- outcome{rep, err}
		}()
		<-holding
		secondErr := make(chan error, 1)
		go func() {
			rep, err := postgres.NewTenantMigrator(db, ts).Run(ctx, postgres.FleetOptions{Wait: true})
			second <- outcome{rep, err}
			secondErr <- err
		}()
		waitForFleetLockWaiter(t, db, secondErr)
		close(release)
		a, b := <-first, <-second
		if a.err != nil || b.err != nil {
			t.Fatalf("runs = %v, %v", a.err, b.err)
		}
		if len(a.rep.Results) != len(ids) || len(b.rep.Results) != 0 || !b.rep.NothingToDo {
			t.Errorf("first run migrated %d, second %d (nothing to do %v); want %d and 0", len(a.rep.Results), len(b.rep.Results), b.rep.NothingToDo, len(ids))
		}
		for _, id := range ids {
			assertAt(t, db, id, 3)
			if n := migrationRecordCount(t, db, id); n != 3 {
				t.Errorf("%s records %d migrations, want 3", id.Schema(), n)
			}
		}
	})

	t.Run("wait: cancelling the waiting run gives up at once and holds nothing", func(t *testing.T) {
		ts := mustSchema(t, withMigrations(itemsV3, map[string]string{"0004_flag.sql": "ALTER TABLE items ADD COLUMN flag boolean NOT NULL DEFAULT false;"}), nil)
		holding, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		first := make(chan error, 1)
		go func() {
			_, err := postgres.NewTenantMigrator(db, ts).Run(ctx, postgres.FleetOptions{OnPlan: func([]tenancy.Plan) {
				once.Do(func() { close(holding); <-release })
			}})
			first <- err
		}()
		<-holding
		wctx, cancel := context.WithCancel(ctx)
		second := make(chan error, 1)
		go func() {
			_, err := postgres.NewTenantMigrator(db, ts).Run(wctx, postgres.FleetOptions{Wait: true})
			second <- err
		}()
		waitForFleetLockWaiter(t, db, second)
		cancel()
		if err := <-second; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled waiting run = %v, want context.Canceled", err)
		}
		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		// Neither run holds the fleet lock any more.
		if rep, err := postgres.NewTenantMigrator(db, ts).Run(ctx, postgres.FleetOptions{Wait: false}); err != nil || !rep.NothingToDo {
			t.Errorf("run after both = %+v, %v", rep, err)
		}
		class, obj := postgres.FleetLockKey()
		if n := queryInt(t, db, "SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND classid = ? AND objid = ? AND objsubid = 2", class, obj); n != 0 {
			t.Errorf("fleet lock still held or awaited by %d sessions", n)
		}
	})

	t.Run("three waiting runs at once migrate each tenant exactly once", func(t *testing.T) {
		set := withMigrations(itemsV3, map[string]string{
			"0004_flag.sql": "ALTER TABLE items ADD COLUMN flag boolean NOT NULL DEFAULT false;",
			"0005_rank.sql": "ALTER TABLE items ADD COLUMN rank integer;",
		})
		var wg sync.WaitGroup
		reps := make([]postgres.FleetReport, 3)
		errs := make([]error, 3)
		for i := range reps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				reps[i], errs[i] = postgres.NewTenantMigrator(db, mustSchema(t, set, nil)).Run(ctx, postgres.FleetOptions{Wait: true})
			}()
		}
		wg.Wait()
		times := map[tenancy.CompanyID]int{}
		for i := range reps {
			if errs[i] != nil {
				t.Fatalf("run %d: %v", i, errs[i])
			}
			for _, r := range reps[i].Results {
				if r.Err != nil {
					t.Errorf("run %d, company %d: %v", i, r.Company, r.Err)
				}
				times[r.Company]++
			}
		}
		for _, id := range ids {
			if times[id] != 1 {
				t.Errorf("%s migrated by %d runs, want 1", id.Schema(), times[id])
			}
			assertAt(t, db, id, 5)
			if n := migrationRecordCount(t, db, id); n != 5 {
				t.Errorf("%s records %d migrations, want 5", id.Schema(), n)
			}
		}
	})
}

// Tenants created with an older migration set while a rollout runs — one
// committed during a pass, one whose provisioning transaction is still open
// when the pass ends — end at the latest version.
func TestFleetRolloutRacesProvisioning(t *testing.T) {
	db := newDB(t, 10)
	ctx := context.Background()
	old := mustSchema(t, itemsV1, nil)
	ids := provisionN(t, db, old, 6)
	p := postgres.NewProvisioner(db, old)
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsV2, nil))

	var (
		calls      atomic.Int32
		committed  tenancy.CompanyID
		inFlight   = make(chan tenancy.CompanyID, 1)
		provErr    = make(chan error, 1)
		runDone    = make(chan error, 1)
		releaseTxn = make(chan struct{})
	)
	rep, err := func() (postgres.FleetReport, error) {
		defer close(runDone)
		return m.Run(ctx, postgres.FleetOptions{Parallel: 2, OnResult: func(tenancy.Result) {
			switch calls.Add(1) {
			case 1:
				// Created and committed by an older program during the pass.
				c, err := p.Create(ctx, "Committed meanwhile", nil)
				if err != nil {
					t.Error(err)
					return
				}
				committed = tenancy.CompanyID(c.ID)
			case 2:
				// Created by an older program whose transaction is still open
				// when the pass ends: the re-check must wait for it.
				entered := make(chan struct{})
				go func() {
					_, err := p.Create(ctx, "In flight", func(ctx context.Context, id tenancy.CompanyID) error {
						inFlight <- id
						close(entered)
						<-releaseTxn
						return nil
					})
					provErr <- err
				}()
				<-entered
				go func() {
					// Release the provisioning once the fleet's re-check
					// waits for it (or the run ended without waiting).
					for {
						select {
						case <-runDone:
							close(releaseTxn)
							return
						case <-time.After(5 * time.Millisecond):
						}
						var waiting bool
						if err := db.NewRaw(`SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE NOT granted
							AND locktype = 'relation' AND relation = 'public.companies'::regclass)`).Scan(ctx, &waiting); err != nil {
							t.Error(err)
						}
						if waiting {
							close(releaseTxn)
							return
						}
					}
				}()
			}
		}})
	}()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-provErr; err != nil {
		t.Fatal(err)
	}
	late := <-inFlight
	if committed == 0 {
		t.Fatal("the tenant created during the pass was not created")
	}
	for _, id := range append(ids, committed, late) {
		assertAt(t, db, id, 2)
	}
	if got := resultIDs(rep.Results); !slices.Contains(got, committed) || !slices.Contains(got, late) || len(got) != len(ids)+2 {
		t.Errorf("results %v, want the 6 tenants and %d, %d", got, committed, late)
	}
}

// Status reports ok, failed (with its error), pending and missing, and a run
// heals a tenant whose ledger row is missing.
func TestFleetStatus(t *testing.T) {
	db := newDB(t, 4)
	ctx := context.Background()
	ids := provisionN(t, db, mustSchema(t, itemsV1, nil), 4)
	putMarker(t, db, ids[1])
	m := postgres.NewTenantMigrator(db, mustSchema(t, itemsCodeV2, nil))
	if _, err := m.Run(ctx, postgres.FleetOptions{Only: ids[:2]}); err == nil {
		t.Fatal("the marker tenant must fail")
	}
	if _, err := db.NewRaw("DELETE FROM public.tenant_fleet WHERE company_id = ?", int64(ids[3])).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		status  string
		version int64
	}{{tenancy.StatusOK, 2}, {tenancy.StatusFailed, 1}, {tenancy.StatusPending, 1}, {tenancy.StatusMissing, 0}}
	if len(st) != len(want) {
		t.Fatalf("%d statuses, want %d", len(st), len(want))
	}
	for i, s := range st {
		if s.CompanyID != ids[i] || s.Status != want[i].status || s.Version != want[i].version || s.Latest != 2 || s.Name == "" {
			t.Errorf("status %d = %+v, want %s at %d", i, s, want[i].status, want[i].version)
		}
		if (s.Error != "") != (s.Status == tenancy.StatusFailed) || (s.UpdatedAt.IsZero()) != (s.Status == tenancy.StatusMissing) {
			t.Errorf("status %d = %+v: error/updated_at inconsistent", i, s)
		}
	}

	if _, err := db.NewRaw("DELETE FROM ?.items", bun.Ident(ids[1].Schema())).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := m.Run(ctx, postgres.FleetOptions{})
	if err != nil || !slices.Equal(resultIDs(rep.Results), ids[1:]) {
		t.Fatalf("run = %v, %v", resultIDs(rep.Results), err)
	}
	for _, id := range ids {
		assertAt(t, db, id, 2)
	}
	if st, err = m.Status(ctx); err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Status != tenancy.StatusOK {
			t.Errorf("after the run: %+v", s)
		}
	}
}

// A long transaction that is creating a company (a large import) delays a
// look at the fleet by the lock timeout at most: the look is then taken
// without waiting for it, and the transaction is not disturbed.
func TestFleetLookDoesNotWaitForLongCompanyCreation(t *testing.T) {
	db := newDB(t, 4)
	ctx := context.Background()
	ts := mustSchema(t, itemsV1, nil)
	provisionN(t, db, ts, 2)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.NewRaw("INSERT INTO public.companies (name) VALUES ('importing')").Exec(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := postgres.NewTenantMigrator(db, ts).Run(ctx, postgres.FleetOptions{})
	if err != nil || !rep.NothingToDo {
		t.Fatalf("Run while a company is being created = %+v, %v", rep, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("the long transaction was disturbed: %v", err)
	}
}
