package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/schemata/schemata/tenancy"
)

// sqlstateUndefinedTable is PostgreSQL's undefined_table.
const sqlstateUndefinedTable = "42P01"

// Verifier compares each tenant schema's real structure, read from the
// system catalogs, with the structure its recorded version should have, and
// finds orphans (company_* schemas without a company row, companies without
// their schema). It is generic over the tenant schema: whatever a
// TenantSchema's migrations create is compared.
//
// The expected structure of a version is computed once per Verify by
// applying the migration set up to that version in a scratch schema
// (schemata_verify_<random>) inside a transaction that is always rolled back,
// and reading it back with the same catalog query as the tenants.
type Verifier struct {
	db *bun.DB
	ts TenantSchema
}

// NewVerifier returns a verifier for the tenant migration set of ts.
func NewVerifier(db *bun.DB, ts TenantSchema) *Verifier {
	return &Verifier{db: db, ts: ts}
}

// TenantDrift is the outcome of verifying one tenant.
type TenantDrift struct {
	CompanyID tenancy.CompanyID
	// Version is the version the schema records in its schemata_migrations
	// (the ledger's when those records cannot be read).
	Version int64
	// Drift lists every difference, one readable line each, e.g.
	// "missing index users_email_key" or
	// "column teams.description: type text, want character varying(10)".
	// Empty means the schema matches its version.
	Drift []string
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	// Tenants holds one entry per company verified, ordered by id; a company
	// without its schema is listed with the drift "missing schema company_<id>".
	Tenants []TenantDrift
	// OrphanSchemas are company_* schemas without a company row (only
	// searched when Verify checks every company).
	OrphanSchemas []string
	// CompaniesWithoutSchema are company rows whose schema does not exist.
	CompaniesWithoutSchema []tenancy.CompanyID
}

// OK reports whether every tenant matches and nothing is orphaned.
func (r VerifyReport) OK() bool {
	for _, t := range r.Tenants {
		if len(t.Drift) > 0 {
			return false
		}
	}
	return len(r.OrphanSchemas) == 0 && len(r.CompaniesWithoutSchema) == 0
}

// Verify checks the companies in only (every company when only is empty; an
// id without a company row is an error before anything is checked), calling
// onResult (if not nil, never concurrently) as each tenant is done. Each
// tenant costs one catalog query (its structure, migration records and
// ledger row); the whole adds two queries (the company list and the orphan
// schemas) and one scratch transaction computing the expected structure of
// every version the ledger records (plus one per other version a schema
// records). The error reports a failure to read the catalogs, not drift.
func (v *Verifier) Verify(ctx context.Context, only []tenancy.CompanyID, onResult func(TenantDrift)) (VerifyReport, error) {
	var rep VerifyReport
	if len(v.ts.Migrations) == 0 {
		return rep, errors.New("postgres: verify: the tenant schema has no migrations")
	}
	tenants, err := v.tenants(ctx, only)
	if err != nil {
		return rep, err
	}
	if len(only) == 0 {
		if rep.OrphanSchemas, err = v.orphanSchemas(ctx); err != nil {
			return rep, err
		}
	}
	latest := v.ts.Migrations.Latest()
	var versions []int64
	for _, t := range tenants {
		if !t.hasSchema {
			rep.CompaniesWithoutSchema = append(rep.CompaniesWithoutSchema, t.id)
		} else if t.ledgerVersion <= latest {
			versions = append(versions, max(t.ledgerVersion, 0))
		}
	}
	slices.Sort(versions)
	cache := &expectedCache{v: v, byVersion: map[int64]structure{}}
	if len(versions) > 0 {
		if cache.byVersion, err = v.expected(ctx, slices.Compact(versions)); err != nil {
			return rep, err
		}
	}

	rep.Tenants = make([]TenantDrift, len(tenants))
	byID := make(map[tenancy.CompanyID]int, len(tenants))
	ids := make([]tenancy.CompanyID, len(tenants))
	for i, t := range tenants {
		byID[t.id], ids[i] = i, t.id
	}
	var mu sync.Mutex
	results := tenancy.RunFleet(ctx, ids, v.parallel(), func(ctx context.Context, id tenancy.CompanyID) error {
		i := byID[id]
		d, err := v.verifyTenant(ctx, tenants[i], cache)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		rep.Tenants[i] = d
		if onResult != nil {
			onResult(d)
		}
		return nil
	})
	var errs []error
	for i, r := range results {
		if r.Err != nil {
			rep.Tenants[i] = TenantDrift{CompanyID: r.Company, Version: tenants[i].ledgerVersion}
			errs = append(errs, fmt.Errorf("company %d: %w", r.Company, r.Err))
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("postgres: verify: %d of %d tenants could not be read: %w", len(errs), len(tenants), errors.Join(errs...))
	}
	return rep, nil
}

// parallel bounds concurrent tenant checks by the default and the pool.
func (v *Verifier) parallel() int {
	p := tenancy.DefaultParallelism()
	if pool := v.db.DB.Stats().MaxOpenConnections; pool > 0 {
		p = min(p, pool)
	}
	return p
}

// verifyTenant is one company to verify.
type verifyTenant struct {
	id            tenancy.CompanyID
	ledgerVersion int64 // 0 without a ledger row
	hasSchema     bool
}

// tenants lists the companies to verify, with their ledger version and
// whether their schema exists, in one query.
func (v *Verifier) tenants(ctx context.Context, only []tenancy.CompanyID) ([]verifyTenant, error) {
	q := `SELECT c.id, coalesce(f.version, 0), n.oid IS NOT NULL
FROM public.companies c
LEFT JOIN public.tenant_fleet f ON f.company_id = c.id
LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = 'company_' || c.id::text`
	if len(only) > 0 {
		ids := make([]int64, len(only))
		for i, id := range only {
			if !id.Valid() {
				return nil, fmt.Errorf("postgres: verify: invalid company id %d", id)
			}
			ids[i] = int64(id)
		}
		q = v.db.QueryGen().FormatQuery(q+" WHERE c.id = ANY(?::bigint[])", pgdialect.Array(ids))
	}
	rows, err := v.db.DB.QueryContext(ctx, q+" ORDER BY c.id")
	if err != nil {
		return nil, fmt.Errorf("postgres: verify: list companies: %w", err)
	}
	defer rows.Close()
	var (
		out   []verifyTenant
		found = map[tenancy.CompanyID]bool{}
	)
	for rows.Next() {
		var (
			t   verifyTenant
			raw int64
		)
		if err := rows.Scan(&raw, &t.ledgerVersion, &t.hasSchema); err != nil {
			return nil, fmt.Errorf("postgres: verify: list companies: %w", err)
		}
		t.id = tenancy.CompanyID(raw)
		found[t.id] = true
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: verify: list companies: %w", err)
	}
	var unknown []string
	for _, id := range only {
		if !found[id] {
			unknown = append(unknown, id.String())
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, fmt.Errorf("postgres: verify: no company with id %s", strings.Join(slices.Compact(unknown), ", "))
	}
	return out, nil
}

// orphanSchemas lists company_* schemas without a company row, in one query.
func (v *Verifier) orphanSchemas(ctx context.Context) ([]string, error) {
	var out []string
	rows, err := v.db.DB.QueryContext(ctx, `SELECT n.nspname FROM pg_catalog.pg_namespace n
WHERE n.nspname LIKE 'company\_%'
  AND NOT EXISTS (SELECT 1 FROM public.companies c WHERE 'company_' || c.id::text = n.nspname)
ORDER BY n.nspname`)
	if err != nil {
		return nil, fmt.Errorf("postgres: verify: find orphan schemas: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("postgres: verify: find orphan schemas: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: verify: find orphan schemas: %w", err)
	}
	return out, nil
}

// Catalog kinds, in report order.
const (
	kindTable = iota
	kindColumn
	kindIndex
	kindConstraint
	kindTrigger
)

var kindNames = map[string]int{"table": kindTable, "column": kindColumn, "index": kindIndex, "constraint": kindConstraint, "trigger": kindTrigger}

// objKey names one catalog object of a schema. Indexes are named per schema;
// columns, constraints and triggers per table.
type objKey struct {
	kind  int
	table string
	name  string
}

// structure is a schema's structure: each object's definition, with the
// schema's own name taken out of it.
type structure map[objKey]string

// catalogSQL reads a schema's structure with one sub-query per catalog kind,
// each row (kind, table, name, definition). The schema's relations are found
// through their dependency on the schema (pg_depend, indexed) rather than by
// pg_class.relnamespace, which has no index: the cost of a tenant then does
// not grow with the number of tenants. Column definitions are their
// type, nullability, default, identity and generation joined by \x1f.
// Indexes that implement a constraint are reported as that constraint;
// internal triggers (those of foreign keys) are left out.
const catalogSQL = `WITH nsp AS (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = ?),
rel AS (
    SELECT c.oid, c.relname, c.relkind FROM nsp
    JOIN pg_catalog.pg_depend dep ON dep.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
        AND dep.refobjid = nsp.oid AND dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
    JOIN pg_catalog.pg_class c ON c.oid = dep.objid AND c.relnamespace = nsp.oid
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f'))
SELECT 'table', r.relname, r.relname, r.relkind::text FROM rel r
UNION ALL
SELECT 'column', r.relname, a.attname, concat_ws(E'\x1f', pg_catalog.format_type(a.atttypid, a.atttypmod),
    CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,
    coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text)
FROM rel r JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
UNION ALL
SELECT 'index', r.relname, i.relname, pg_catalog.pg_get_indexdef(x.indexrelid)
FROM rel r JOIN pg_catalog.pg_index x ON x.indrelid = r.oid JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
    WHERE k.conindid = x.indexrelid AND k.conrelid = r.oid AND k.contype IN ('p', 'u', 'x'))
UNION ALL
SELECT 'constraint', r.relname, k.conname, pg_catalog.pg_get_constraintdef(k.oid)
FROM rel r JOIN pg_catalog.pg_constraint k ON k.conrelid = r.oid
UNION ALL
SELECT 'trigger', r.relname, g.tgname, pg_catalog.pg_get_triggerdef(g.oid)
FROM rel r JOIN pg_catalog.pg_trigger g ON g.tgrelid = r.oid AND NOT g.tgisinternal`

// tenantRecordsSQL and tenantLedgerSQL extend catalogSQL, for a tenant, with
// its migration records and its ledger row, so that a tenant costs one query.
const (
	tenantRecordsSQL = "\nUNION ALL\nSELECT 'recorded', '', version::text, '' FROM ?.schemata_migrations"
	tenantLedgerSQL  = "\nUNION ALL\nSELECT 'ledger', '', version::text, status FROM public.tenant_fleet WHERE company_id = ?"
)

// tenantFacts is what the tenant query says besides the structure.
type tenantFacts struct {
	recorded      map[int64]bool
	ledger        bool
	ledgerVersion int64
}

// readStructure runs a catalog query on q (the pool or a pinned connection)
// and returns the structure of schema with its name normalised away, and the
// tenant facts when the query has them.
func readStructure(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}, query, schema string) (structure, tenantFacts, error) {
	facts := tenantFacts{recorded: map[int64]bool{}}
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, facts, err
	}
	defer rows.Close()
	norm := schemaNormaliser(schema)
	s := structure{}
	for rows.Next() {
		var kind, table, name, def string
		if err := rows.Scan(&kind, &table, &name, &def); err != nil {
			return nil, facts, err
		}
		switch kind {
		case "recorded":
			if v, err := strconv.ParseInt(name, 10, 64); err == nil {
				facts.recorded[v] = true
			}
		case "ledger":
			facts.ledger = true
			facts.ledgerVersion, _ = strconv.ParseInt(name, 10, 64)
		default:
			s[objKey{kind: kindNames[kind], table: table, name: name}] = norm(def)
		}
	}
	return s, facts, rows.Err()
}

// schemaNormaliser returns a function that removes the qualification by
// schema ("company_7.items" → "items") from a catalog definition, so that a
// tenant and the scratch schema compare equal.
func schemaNormaliser(schema string) func(string) string {
	re := regexp.MustCompile(`(^|[^\w$"])"?` + regexp.QuoteMeta(schema) + `"?\.`)
	return func(s string) string {
		if !strings.Contains(s, schema) {
			return s
		}
		return re.ReplaceAllString(s, "${1}")
	}
}

// verifyTenant reads one tenant in one query and compares it with the
// structure its recorded version should have.
func (v *Verifier) verifyTenant(ctx context.Context, t verifyTenant, cache *expectedCache) (TenantDrift, error) {
	d := TenantDrift{CompanyID: t.id, Version: t.ledgerVersion}
	if !t.hasSchema {
		d.Drift = []string{"missing schema " + t.id.Schema()}
		return d, nil
	}
	schema := t.id.Schema()
	gen := v.db.QueryGen()
	// The search_path every connection of postgres.Open has, set here too so
	// that tenants and the scratch schema are read alike on any pool.
	catalog := "SET LOCAL search_path TO " + NoTenantSearchPath + "; " + gen.FormatQuery(catalogSQL, schema)
	ledger := gen.FormatQuery(tenantLedgerSQL, int64(t.id))
	got, facts, err := readStructure(ctx, v.db.DB, catalog+gen.FormatQuery(tenantRecordsSQL, bun.Ident(schema))+ledger, schema)
	recordsRead := true
	if pgCode(err) == sqlstateUndefinedTable {
		// No schemata_migrations: compare with the ledger's version.
		recordsRead = false
		got, facts, err = readStructure(ctx, v.db.DB, catalog+ledger, schema)
	}
	if err != nil {
		return d, fmt.Errorf("read catalog of %s: %w", schema, err)
	}
	set := v.ts.Migrations
	if recordsRead {
		d.Version = 0
		for ver := range facts.recorded {
			d.Version = max(d.Version, ver)
		}
	} else {
		d.Version = max(facts.ledgerVersion, 0)
		d.Drift = append(d.Drift, fmt.Sprintf("no migration records (schemata_migrations): compared with the fleet ledger's version %d", d.Version))
	}
	if d.Version > set.Latest() {
		d.Drift = append(d.Drift, fmt.Sprintf("schema records version %d, newer than this program knows (latest %d)", d.Version, set.Latest()))
		return d, nil
	}
	if recordsRead {
		known := map[int64]bool{}
		for _, m := range set {
			known[m.Version] = true
			if m.Version <= d.Version && !facts.recorded[m.Version] {
				d.Drift = append(d.Drift, fmt.Sprintf("migration %s is not recorded", migrationLabel(m)))
			}
		}
		var unknown []int64
		for ver := range facts.recorded {
			if !known[ver] {
				unknown = append(unknown, ver)
			}
		}
		slices.Sort(unknown)
		for _, ver := range unknown {
			d.Drift = append(d.Drift, fmt.Sprintf("version %d is recorded but is not a migration of this program", ver))
		}
		switch {
		case !facts.ledger:
			d.Drift = append(d.Drift, "no fleet ledger row")
		case facts.ledgerVersion != d.Version:
			d.Drift = append(d.Drift, fmt.Sprintf("fleet ledger records version %d, the schema version %d", facts.ledgerVersion, d.Version))
		}
	}
	want, err := cache.get(ctx, d.Version)
	if err != nil {
		return d, err
	}
	d.Drift = append(d.Drift, diffStructure(want, got)...)
	return d, nil
}

// expectedCache holds the expected structure per version; a version no
// ledger row announced is computed on first use.
type expectedCache struct {
	v         *Verifier
	mu        sync.Mutex
	byVersion map[int64]structure
}

func (c *expectedCache) get(ctx context.Context, version int64) (structure, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.byVersion[version]; ok {
		return s, nil
	}
	m, err := c.v.expected(ctx, []int64{version})
	if err != nil {
		return nil, err
	}
	c.byVersion[version] = m[version]
	return m[version], nil
}

// expected computes the structure each of versions (ascending) should have:
// in one transaction that is always rolled back, it creates a scratch schema
// with the machinery's schemata_migrations table, applies the migration set
// step by step and reads the schema back after each version.
func (v *Verifier) expected(ctx context.Context, versions []int64) (map[int64]structure, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	scratch := "schemata_verify_" + hex.EncodeToString(b[:])
	into := `SET LOCAL search_path TO "` + scratch + `", pg_temp; `
	conn, err := v.db.DB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: verify: acquire connection: %w", err)
	}
	defer conn.Close()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(rctx, "ROLLBACK"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := conn.ExecContext(ctx, `BEGIN; CREATE SCHEMA "`+scratch+`"; `+into+tenantLedgerDDL); err != nil {
		return nil, fmt.Errorf("postgres: verify: create scratch schema: %w", err)
	}
	out := make(map[int64]structure, len(versions))
	set, next := v.ts.Migrations, 0
	for _, ver := range versions {
		for ; next < len(set) && set[next].Version <= ver; next++ {
			if _, err := conn.ExecContext(ctx, into+set[next].SQL); err != nil {
				return nil, fmt.Errorf("postgres: verify: expected structure: migration %s: %w", migrationLabel(set[next]), err)
			}
		}
		s, _, err := readStructure(ctx, conn, "SET LOCAL search_path TO "+NoTenantSearchPath+"; "+
			v.db.QueryGen().FormatQuery(catalogSQL, scratch), scratch)
		if err != nil {
			return nil, fmt.Errorf("postgres: verify: read expected structure: %w", err)
		}
		out[ver] = s
	}
	return out, nil
}

var relkindWords = map[string]string{"r": "table", "p": "partitioned table", "v": "view", "m": "materialized view", "f": "foreign table"}

func relkindWord(k string) string {
	if w, ok := relkindWords[k]; ok {
		return w
	}
	return "relation"
}

// diffStructure lists the differences between want and got, one readable
// line each, ordered by kind (tables, columns, indexes, constraints,
// triggers) and name. The objects of a missing or extra table are not listed
// again.
func diffStructure(want, got structure) []string {
	keys := make([]objKey, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b objKey) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.table, b.table), cmp.Compare(a.name, b.name))
	})
	absent := map[string]bool{} // tables missing or extra
	var out []string
	for _, k := range keys {
		w, inWant := want[k]
		g, inGot := got[k]
		if k.kind != kindTable && absent[k.table] {
			continue
		}
		qualified := k.table + "." + k.name
		switch k.kind {
		case kindTable:
			switch {
			case !inGot:
				absent[k.table] = true
				out = append(out, "missing "+relkindWord(w)+" "+k.name)
			case !inWant:
				absent[k.table] = true
				out = append(out, "extra "+relkindWord(g)+" "+k.name)
			case w != g:
				out = append(out, fmt.Sprintf("%s: is a %s, want a %s", k.name, relkindWord(g), relkindWord(w)))
			}
		case kindColumn:
			switch {
			case !inGot:
				out = append(out, "missing column "+qualified)
			case !inWant:
				out = append(out, "extra column "+qualified)
			case w != g:
				out = append(out, columnDiff(qualified, w, g)...)
			}
		default:
			word, name := map[int]string{kindIndex: "index", kindConstraint: "constraint", kindTrigger: "trigger"}[k.kind], qualified
			if k.kind == kindIndex {
				name = k.name // index names are unique per schema
			}
			switch {
			case !inGot:
				out = append(out, "missing "+word+" "+name)
			case !inWant:
				out = append(out, "extra "+word+" "+name)
			case w != g:
				out = append(out, fmt.Sprintf("%s %s: %s, want %s", word, name, g, w))
			}
		}
	}
	return out
}

// columnDiff explains how two column definitions (see catalogSQL) differ.
func columnDiff(name, want, got string) []string {
	w, g := strings.Split(want, "\x1f"), strings.Split(got, "\x1f")
	if len(w) != 5 || len(g) != 5 {
		return []string{fmt.Sprintf("column %s: %q, want %q", name, got, want)}
	}
	none := func(s string) string {
		if s == "" {
			return "none"
		}
		return s
	}
	identity := map[string]string{"": "not an identity column", "a": "identity always", "d": "identity by default"}
	generated := map[string]string{"": "not generated", "s": "generated stored"}
	var out []string
	if w[0] != g[0] {
		out = append(out, fmt.Sprintf("column %s: type %s, want %s", name, g[0], w[0]))
	}
	if w[1] != g[1] {
		word := map[string]string{"null": "nullable", "not null": "not null"}
		out = append(out, fmt.Sprintf("column %s: %s, want %s", name, word[g[1]], word[w[1]]))
	}
	if w[2] != g[2] {
		out = append(out, fmt.Sprintf("column %s: default %s, want %s", name, none(g[2]), none(w[2])))
	}
	if w[3] != g[3] {
		out = append(out, fmt.Sprintf("column %s: %s, want %s", name, cmp.Or(identity[g[3]], g[3]), cmp.Or(identity[w[3]], w[3])))
	}
	if w[4] != g[4] {
		out = append(out, fmt.Sprintf("column %s: %s, want %s", name, cmp.Or(generated[g[4]], g[4]), cmp.Or(generated[w[4]], w[4])))
	}
	return out
}
