package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// MonolithOptions configure a MonolithImporter run.
type MonolithOptions struct {
	// SourceURL is the monolithic database (a postgres:// URL, as for Open).
	SourceURL string
	// SourceSchema holds the companies table and the tenant tables; default
	// "public".
	SourceSchema string
	// DropSource drops the imported source tables (and companies), in one
	// transaction, but only after a fully verified run (see Run).
	DropSource bool
	// OnCompany, if set, is called after each source company, in order.
	OnCompany func(r MonolithCompanyResult)
}

// Statuses of a source company in a MonolithCompanyResult.
const (
	MonolithImported    = "imported"     // imported by this run
	MonolithSkippedDone = "skipped_done" // imported by an earlier run
	MonolithFailed      = "failed"       // not imported; see Err
)

// MonolithCompanyResult is the outcome for one source company.
type MonolithCompanyResult struct {
	SourceCompanyID int64
	Name            string
	// CompanyID is the new company (zero when failed).
	CompanyID tenancy.CompanyID
	// Status is MonolithImported, MonolithSkippedDone or MonolithFailed.
	Status string
	// Rows holds the rows copied per table (recorded at import time for
	// MonolithSkippedDone).
	Rows map[string]int64
	Err  error
}

// MonolithReport is the outcome of a MonolithImporter run.
type MonolithReport struct {
	Companies []MonolithCompanyResult
	// Verified: every source company is imported (by this run or an earlier
	// one), each with its row counts verified when it was imported.
	Verified bool
	// SourceDropped: DropSource was set, the source re-verified and dropped.
	SourceDropped bool
}

// MonolithImporter moves the companies of a monolithic database — one
// schema holding a companies table (id bigint, name text, …) and the tenant
// tables, each with a company_id column — into one tenant schema each.
//
// Which tables are copied: every table of the tenant schema (at the latest
// version) that also exists in the source schema, with the columns the two
// share minus company_id; the target's other columns take their defaults.
// Tables the source lacks stay empty (the tenant is provisioned without the
// seed: reference rows come from the source). A source table of the tenant
// schema without a company_id column is a setup error. The source is only
// read, in one REPEATABLE READ snapshot per company, unless DropSource.
//
// To learn the tenant schema's tables, a run first provisions one tenant in
// a transaction that it rolls back (this costs one company id).
//
// Progress is recorded per source company in public.monolith_imports, keyed
// by a hash of the source's host, port, database and schema (so a changed
// password or user does not reset it): a rerun skips the companies imported
// before and retries the failed ones.
type MonolithImporter struct {
	db *bun.DB
	ts TenantSchema
}

// NewMonolithImporter returns an importer that provisions tenants with ts's
// migration set (its seed is not used).
func NewMonolithImporter(db *bun.DB, ts TenantSchema) *MonolithImporter {
	return &MonolithImporter{db: db, ts: ts}
}

// maxMonolithError bounds the error text stored in the progress table.
const maxMonolithError = 2000

// errAlreadyImported aborts a company's transaction when another run
// imported it meanwhile.
var errAlreadyImported = errors.New("already imported")

// Run imports every source company, in id order, one transaction each:
//
//  1. under a transaction-scoped advisory lock for this source company (two
//     runs never import it twice), skip it if it is recorded as imported;
//  2. insert the company row and provision its tenant at the latest version
//     without the seed;
//  3. in one snapshot of the source, count the company's rows per table and
//     stream each table (COPY TO piped into COPY FROM), keeping ids, with
//     the tenant tables' user triggers disabled (as Transfer.Import does);
//  4. move identity sequences past the largest id, count the rows of every
//     copied table in the tenant and compare with the source counts;
//  5. claim the email lookup rows (an email that belongs to another company,
//     from the source or not, fails the company with a domain.Conflict);
//  6. record the company as imported, with its row counts, and audit it.
//
// A company that fails (any constraint, a count mismatch, an invalid name) is
// rolled back, recorded as failed with its error, reported, and skipped; the
// others proceed. Run returns an error when any company failed, when the
// setup failed, or when DropSource was refused.
//
// DropSource: only when every source company is imported (Verified), Run
// drops, in one transaction on the source, the copied tables and companies,
// after locking them and re-checking that the source still holds exactly the
// companies and per-company row counts that were imported (rows changed in
// place are not detected: stop writes to the monolith before the final run).
// It is refused when a copied table has source columns the tenant schema
// lacks (their values were not imported). Without DropSource the source is
// never written.
func (m *MonolithImporter) Run(ctx context.Context, o MonolithOptions) (MonolithReport, error) {
	var rep MonolithReport
	if len(m.ts.Migrations) == 0 {
		return rep, errors.New("postgres: import monolith: the tenant schema has no migrations")
	}
	if o.SourceURL == "" {
		return rep, domain.Invalid("source_url", "the source database URL is required")
	}
	schema := o.SourceSchema
	if schema == "" {
		schema = "public"
	}
	key, err := monolithSourceKey(o.SourceURL, schema)
	if err != nil {
		return rep, err
	}
	src, err := Open(o.SourceURL, Options{MaxOpenConns: 2, ApplicationName: "schemata-import"})
	if err != nil {
		return rep, fmt.Errorf("postgres: import monolith: source: %w", err)
	}
	defer src.Close()

	r := &monolithRun{m: m, src: src, schema: schema, key: key}
	if err := r.setup(ctx); err != nil {
		return rep, fmt.Errorf("postgres: import monolith: %w", err)
	}
	var (
		failed int
		first  *MonolithCompanyResult
	)
	for _, c := range r.companies {
		if ctx.Err() != nil {
			break
		}
		res := r.importCompany(ctx, c)
		rep.Companies = append(rep.Companies, res)
		if res.Status == MonolithFailed {
			failed++
			if first == nil {
				first = &rep.Companies[len(rep.Companies)-1]
			}
		}
		if o.OnCompany != nil {
			o.OnCompany(res)
		}
	}
	if failed > 0 {
		return rep, fmt.Errorf("postgres: import monolith: %d of %d companies failed (first: source company %d: %w)",
			failed, len(r.companies), first.SourceCompanyID, first.Err)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("postgres: import monolith: stopped after %d of %d companies: %w", len(rep.Companies), len(r.companies), err)
	}
	rep.Verified = true
	if o.DropSource {
		if err := r.dropSource(ctx); err != nil {
			return rep, fmt.Errorf("postgres: import monolith: source not dropped: %w", err)
		}
		rep.SourceDropped = true
	}
	return rep, nil
}

// monolithRun is the state of one Run.
type monolithRun struct {
	m      *MonolithImporter
	src    *bun.DB
	schema string // source schema
	key    string // source_url_hash

	companies []sourceCompany
	copies    []monolithCopy // tables to copy, in load order
	loadInfo  []tableInfo    // the target tables of copies, in the same order
	ignored   []string       // source columns ("table.column") the tenant schema lacks
	progress  map[int64]monolithProgress
}

type sourceCompany struct {
	id   int64
	name string
}

// monolithCopy is one table to copy: its columns in target order.
type monolithCopy struct {
	table   string
	columns []string
}

type monolithProgress struct {
	status    string
	companyID tenancy.CompanyID
	rows      map[string]int64
}

// setup reads the source catalog and companies, the target tenant schema
// (from a provisioning that is rolled back) and the recorded progress, and
// plans the copy.
func (r *monolithRun) setup(ctx context.Context) error {
	srcTables, err := readTables(ctx, r.src.DB, r.schema)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	srcByName := make(map[string]tableInfo, len(srcTables))
	for _, t := range srcTables {
		srcByName[t.Name] = t
	}
	ct, ok := srcByName["companies"]
	if !ok || !ct.hasColumn("id") || !ct.hasColumn("name") {
		return fmt.Errorf("source schema %s has no companies (id, name) table", r.schema)
	}
	err = scanRows(ctx, r.src.DB, "SELECT id, name FROM "+qualified(r.schema, "companies")+" ORDER BY id", nil,
		func(rows *sql.Rows) error {
			var c sourceCompany
			var name sql.NullString
			if err := rows.Scan(&c.id, &name); err != nil {
				return err
			}
			c.name = name.String
			r.companies = append(r.companies, c)
			return nil
		})
	if err != nil {
		return fmt.Errorf("source companies: %w", err)
	}
	target, err := r.probeTenantSchema(ctx)
	if err != nil {
		return fmt.Errorf("read the tenant schema: %w", err)
	}
	for _, tt := range target {
		if tt.Name == "companies" {
			continue // the source's companies table is not tenant data
		}
		st, ok := srcByName[tt.Name]
		if !ok {
			continue
		}
		if !st.hasColumn("company_id") {
			return fmt.Errorf("source table %s.%s has no company_id column", r.schema, tt.Name)
		}
		var cols []string
		for _, c := range tt.Columns {
			if c != "company_id" && st.hasColumn(c) {
				cols = append(cols, c)
			}
		}
		if len(cols) == 0 {
			return fmt.Errorf("source table %s.%s shares no column with the tenant table", r.schema, tt.Name)
		}
		for _, c := range st.Columns {
			if c != "company_id" && !tt.hasColumn(c) {
				r.ignored = append(r.ignored, tt.Name+"."+c)
			}
		}
		r.copies = append(r.copies, monolithCopy{table: tt.Name, columns: cols})
		r.loadInfo = append(r.loadInfo, tt)
	}
	r.progress, err = readMonolithProgress(ctx, r.m.db, r.key)
	return err
}

// errProbe rolls back the probe provisioning.
var errProbe = errors.New("probe")

// probeTenantSchema provisions a tenant in a transaction that is rolled back
// and returns its tables in load order: the exact structure every imported
// tenant gets. (It costs one company id.)
func (r *monolithRun) probeTenantSchema(ctx context.Context) ([]tableInfo, error) {
	var tables []tableInfo
	s, err := newWriteScope(ctx, r.m.db, 0)
	if err != nil {
		return nil, err
	}
	err = runScope(ctx, s, func(ctx context.Context) error {
		c, err := insertCompanyRow(ctx, s, "monolith import probe")
		if err != nil {
			return err
		}
		id := tenancy.CompanyID(c.ID)
		prov := &Provisioner{db: r.m.db, ts: TenantSchema{Migrations: r.m.ts.Migrations}}
		if err := prov.provisionSchema(ctx, s, id); err != nil {
			return err
		}
		if tables, err = readTables(ctx, s, id.Schema()); err != nil {
			return err
		}
		return errProbe
	})
	if !errors.Is(err, errProbe) {
		return nil, err
	}
	return tables, nil
}

func readMonolithProgress(ctx context.Context, db *bun.DB, key string) (map[int64]monolithProgress, error) {
	out := map[int64]monolithProgress{}
	err := scanRows(ctx, db.DB, `SELECT source_company_id, status, coalesce(company_id, 0), rows::text
  FROM public.monolith_imports WHERE source_url_hash = $1`, []any{key}, func(rows *sql.Rows) error {
		var (
			id   int64
			p    monolithProgress
			cid  int64
			blob string
		)
		if err := rows.Scan(&id, &p.status, &cid, &blob); err != nil {
			return err
		}
		p.companyID = tenancy.CompanyID(cid)
		if err := json.Unmarshal([]byte(blob), &p.rows); err != nil {
			return fmt.Errorf("progress of source company %d: %w", id, err)
		}
		out[id] = p
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read import progress: %w", err)
	}
	return out, nil
}

// monolithLockKey is the advisory lock key of one source company (see
// tenantLockKey for the key space).
func monolithLockKey(key string, sourceID int64) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("schemata/monolith/" + key + "/" + strconv.FormatInt(sourceID, 10)))
	return int64(h.Sum64())
}

// monolithSourceKey identifies a source: a SHA-256 of its host, port,
// database and schema (not its user or password).
func monolithSourceKey(rawURL, schema string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", domain.Invalid("source_url", "the source must be a postgres:// URL")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	sum := sha256.Sum256([]byte(strings.ToLower(u.Hostname()) + ":" + port + "/" + strings.TrimPrefix(u.Path, "/") + "\x00" + schema))
	return hex.EncodeToString(sum[:]), nil
}

// importCompany imports one source company and records the outcome.
func (r *monolithRun) importCompany(ctx context.Context, c sourceCompany) MonolithCompanyResult {
	res := MonolithCompanyResult{SourceCompanyID: c.id, Name: c.name}
	if p, ok := r.progress[c.id]; ok && p.status == MonolithImported {
		res.Status, res.CompanyID, res.Rows = MonolithSkippedDone, p.companyID, p.rows
		return res
	}
	err := r.importInTx(ctx, c, &res)
	if errors.Is(err, errAlreadyImported) {
		if p, perr := readMonolithProgress(ctx, r.m.db, r.key); perr == nil {
			res.CompanyID, res.Rows = p[c.id].companyID, p[c.id].rows
		}
		res.Status = MonolithSkippedDone
		return res
	}
	if err == nil {
		res.Status = MonolithImported
		return res
	}
	res.Status, res.CompanyID, res.Rows, res.Err = MonolithFailed, 0, nil, err
	// The transaction is gone; record the failure on its own, even when ctx
	// was cancelled.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msg := err.Error()
	if len(msg) > maxMonolithError {
		msg = strings.ToValidUTF8(msg[:maxMonolithError], "") + "…"
	}
	if _, rerr := r.m.db.DB.ExecContext(rctx, `INSERT INTO public.monolith_imports
       (source_url_hash, source_company_id, name, status, error, updated_at)
VALUES ($1, $2, $3, 'failed', $4, now())
ON CONFLICT (source_url_hash, source_company_id) DO UPDATE
   SET name = EXCLUDED.name, status = 'failed', error = EXCLUDED.error, company_id = NULL, rows = '{}', updated_at = now()
 WHERE monolith_imports.status <> 'imported'`, r.key, c.id, c.name, msg); rerr != nil {
		res.Err = errors.Join(err, fmt.Errorf("record the failure: %w", rerr))
	}
	return res
}

// importInTx runs steps 1–6 of Run for one company in one transaction.
func (r *monolithRun) importInTx(ctx context.Context, c sourceCompany, res *MonolithCompanyResult) error {
	name, err := domain.ValidateName("name", c.name)
	if err != nil {
		return err
	}
	s, err := newWriteScope(ctx, r.m.db, 0)
	if err != nil {
		return err
	}
	return runScope(ctx, s, func(ctx context.Context) error {
		// The lock is its own statement, so that the read below sees what a
		// run that held it before committed.
		if _, err := s.ExecContext(ctx, "SELECT pg_catalog.pg_advisory_xact_lock($1)", monolithLockKey(r.key, c.id)); err != nil {
			return fmt.Errorf("lock source company: %w", err)
		}
		var status string
		err := s.QueryRowContext(ctx,
			"SELECT status FROM public.monolith_imports WHERE source_url_hash = $1 AND source_company_id = $2",
			r.key, c.id).Scan(&status)
		switch {
		case err == nil && status == MonolithImported:
			return errAlreadyImported
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("read progress: %w", err)
		}
		company, err := insertCompanyRow(ctx, s, name)
		if err != nil {
			return err
		}
		id := tenancy.CompanyID(company.ID)
		res.CompanyID = id
		prov := &Provisioner{db: r.m.db, ts: TenantSchema{Migrations: r.m.ts.Migrations}}
		if err := prov.provisionSchema(ctx, s, id); err != nil {
			return err
		}
		rows, err := r.copyCompany(ctx, s, id, c.id)
		if err != nil {
			return err
		}
		res.Rows = rows
		if _, err := rebuildLookup(ctx, s, id); err != nil {
			return err
		}
		blob, err := json.Marshal(rows)
		if err != nil {
			return err
		}
		if _, err := s.ExecContext(ctx, `INSERT INTO public.monolith_imports
       (source_url_hash, source_company_id, company_id, name, status, error, rows, updated_at)
VALUES ($1, $2, $3, $4, 'imported', '', $5::jsonb, now())
ON CONFLICT (source_url_hash, source_company_id) DO UPDATE
   SET company_id = EXCLUDED.company_id, name = EXCLUDED.name, status = 'imported', error = '',
       rows = EXCLUDED.rows, updated_at = now()`, r.key, c.id, int64(id), c.name, string(blob)); err != nil {
			return fmt.Errorf("record progress: %w", err)
		}
		return NewAuditLog(r.m.db).Record(ctx, domain.AuditEvent{
			CompanyID: company.ID, Actor: transferActor, Action: "company.imported", Target: "company:" + id.String(),
			Detail: map[string]string{"from": "monolith", "name": name, "source_company_id": strconv.FormatInt(c.id, 10)},
		})
	})
}

// copyCompany streams the rows of source company srcID into tenant id (step
// 3 and 4 of Run) and returns the verified row counts.
func (r *monolithRun) copyCompany(ctx context.Context, s *scope, id tenancy.CompanyID, srcID int64) (map[string]int64, error) {
	schema := id.Schema()
	enable, err := prepareLoad(ctx, s, schema, r.loadInfo)
	if err != nil {
		return nil, err
	}
	if _, err := s.ExecContext(ctx, copySessionSettings+"SET CONSTRAINTS ALL DEFERRED"); err != nil {
		return nil, fmt.Errorf("prepare load: %w", err)
	}
	conn, err := scopeConn(ctx, s)
	if err != nil {
		return nil, err
	}
	tables := make([]string, len(r.copies))
	for i, cp := range r.copies {
		tables[i] = cp.table
	}
	var srcCounts map[string]int64
	err = readSnapshot(ctx, r.src, 0, copySessionSettings, func(ctx context.Context, sconn *sql.Conn) error {
		var err error
		if srcCounts, err = countRows(ctx, sconn, r.schema, tables, " WHERE company_id = $1", srcID); err != nil {
			return fmt.Errorf("count source rows: %w", err)
		}
		for _, cp := range r.copies {
			out := "COPY (SELECT " + columnList(cp.columns) + " FROM " + qualified(r.schema, cp.table) +
				" WHERE company_id = " + strconv.FormatInt(srcID, 10) + ") TO STDOUT"
			if err := pipeCopy(ctx, bun.Conn{Conn: sconn}, out, conn, copyFromQuery(schema, cp.table, cp.columns)); err != nil {
				return fmt.Errorf("copy table %s: %w", cp.table, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.ExecContext(ctx, "SET CONSTRAINTS ALL IMMEDIATE; "+copySessionReset+enable); err != nil {
		return nil, fmt.Errorf("finish load: %w", mapError(err))
	}
	if err := resetSequences(ctx, s, schema, r.loadInfo); err != nil {
		return nil, err
	}
	got, err := countRows(ctx, s, schema, tables, "")
	if err != nil {
		return nil, fmt.Errorf("count imported rows: %w", err)
	}
	var diff []string
	for _, t := range tables {
		if got[t] != srcCounts[t] {
			diff = append(diff, fmt.Sprintf("%s: source %d, imported %d", t, srcCounts[t], got[t]))
		}
	}
	if len(diff) > 0 {
		return nil, fmt.Errorf("row counts differ: %s", strings.Join(diff, "; "))
	}
	return got, nil
}

// pipeCopy streams the output of a COPY TO on src into a COPY FROM on dst
// through a pipe, so no table is held in memory. Whatever fails, both
// connections end their COPY in protocol order (see drainWriter and
// endingReader); an error means the destination transaction must roll back.
func pipeCopy(ctx context.Context, src bun.Conn, out string, dst bun.Conn, in string) error {
	pr, pw := io.Pipe()
	dw := &drainWriter{w: pw}
	srcErr := make(chan error, 1)
	go func() {
		_, err := pgdriver.CopyTo(ctx, src, dw, out)
		_ = pw.CloseWithError(err) // nil: the reader sees io.EOF
		srcErr <- err
	}()
	er := &endingReader{ctx: ctx, r: pr}
	_, dstErr := pgdriver.CopyFrom(ctx, dst, er, in)
	// If the destination stopped reading early, unblock the source: its
	// writes now fail and the drainWriter swallows the rest of its COPY.
	_ = pr.CloseWithError(errors.New("copy destination finished"))
	if err := <-srcErr; err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	if er.err != nil {
		return er.err
	}
	if dstErr != nil {
		return mapError(dstErr)
	}
	return nil
}

// dropSource re-verifies the source against the recorded imports under an
// exclusive lock and drops the copied tables and companies, in one
// transaction on the source.
func (r *monolithRun) dropSource(ctx context.Context) error {
	if len(r.ignored) > 0 {
		return fmt.Errorf("source columns the tenant schema lacks were not imported: %s", strings.Join(r.ignored, ", "))
	}
	recorded, err := readMonolithProgress(ctx, r.m.db, r.key)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(r.copies)+1)
	for _, cp := range r.copies {
		names = append(names, qualified(r.schema, cp.table))
	}
	names = append(names, qualified(r.schema, "companies"))
	return runWrite(ctx, r.src, 0, func(ctx context.Context) error {
		s := scopeFrom(ctx)
		if _, err := s.ExecContext(ctx, "LOCK TABLE "+strings.Join(names, ", ")+" IN ACCESS EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock source tables: %w", err)
		}
		var problems []string
		ids := map[int64]bool{}
		err := scanRows(ctx, s, "SELECT id FROM "+qualified(r.schema, "companies"), nil, func(rows *sql.Rows) error {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids[id] = true
			if p, ok := recorded[id]; !ok || p.status != MonolithImported {
				problems = append(problems, fmt.Sprintf("company %d is not imported", id))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("re-verify companies: %w", err)
		}
		for _, cp := range r.copies {
			seen := map[int64]bool{}
			err := scanRows(ctx, s, "SELECT company_id, count(*) FROM "+qualified(r.schema, cp.table)+" GROUP BY 1", nil,
				func(rows *sql.Rows) error {
					var (
						cid sql.NullInt64
						n   int64
					)
					if err := rows.Scan(&cid, &n); err != nil {
						return err
					}
					if !cid.Valid || !ids[cid.Int64] {
						problems = append(problems, fmt.Sprintf("%s: %d rows of no source company", cp.table, n))
						return nil
					}
					seen[cid.Int64] = true
					if want := recorded[cid.Int64].rows[cp.table]; want != n {
						problems = append(problems, fmt.Sprintf("%s: company %d has %d rows, %d were imported", cp.table, cid.Int64, n, want))
					}
					return nil
				})
			if err != nil {
				return fmt.Errorf("re-verify %s: %w", cp.table, err)
			}
			for id := range ids {
				if want := recorded[id].rows[cp.table]; !seen[id] && want != 0 {
					problems = append(problems, fmt.Sprintf("%s: company %d has 0 rows, %d were imported", cp.table, id, want))
				}
			}
		}
		if len(problems) > 0 {
			slices.Sort(problems)
			if len(problems) > 10 {
				problems = append(problems[:10], fmt.Sprintf("and %d more", len(problems)-10))
			}
			return fmt.Errorf("the source changed since it was imported: %s", strings.Join(problems, "; "))
		}
		if _, err := s.ExecContext(ctx, "DROP TABLE "+strings.Join(names, ", ")); err != nil {
			return fmt.Errorf("drop source tables: %w", err)
		}
		return nil
	})
}
