package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// Transfer moves one tenant between databases: Export writes the tenant's
// schema version and every row of its tables to one portable file, Import
// provisions a new company from such a file. Both stream: no table is ever
// held in memory. Transfer works with any TenantSchema: the tables and their
// load order come from the database catalog, not from a fixed list.
//
// # File format (version 1)
//
// One gzip stream (RFC 1952, so `zcat FILE` shows it) of newline-terminated
// lines. Control lines are single-line JSON objects; the rows of each table
// are PostgreSQL's COPY text format, which is itself line-oriented (one row
// per line; tab, newline and backslash inside values are escaped, so no row
// spans two lines and no row is ever the line `\.`):
//
//	{"format":"schemata-tenant-export","format_version":1,"schema_version":2,
//	 "company":{"id":7,"name":"Acme","created_at":"…"},"exported_at":"…",
//	 "tables":[{"name":"users","columns":["id","name",…]},…]}   header (one line)
//	{"table":"users"}                                              section start, tables in header order
//	1<TAB>Ada<TAB>ada@example.com<TAB>…                            COPY text rows, columns as in the header
//	\.                                                             section end
//	…                                                              one section per table
//	{"end":true,"rows":{"users":1,"invitations":0,…}}              trailer: rows per table; the last line
//
// The header lists every table of the tenant schema except the machinery's
// (schemata_migrations, whose content follows from schema_version), in load
// order (a table after the tables it references by foreign key), with its
// columns except generated ones. Values are written with DateStyle ISO,
// IntervalStyle postgres, extra_float_digits 3, bytea_output hex and
// TimeZone UTC, so they read back identically on any server. Import checks
// gzip's checksum and length, every section marker, that the trailer is the
// last line, and its row counts against what COPY loaded.
type Transfer struct {
	db *bun.DB
	ts TenantSchema
}

// NewTransfer returns a Transfer for tenants of ts. Import needs ts's
// migration set to provision the tenant at the file's version and to bring
// it to the latest; Export only reads.
func NewTransfer(db *bun.DB, ts TenantSchema) *Transfer {
	return &Transfer{db: db, ts: ts}
}

// TransferSummary describes what was exported or imported.
type TransferSummary struct {
	// CompanyID is the exported company, or the company Import created.
	CompanyID tenancy.CompanyID
	// Name is the company's name (for Import, the new company's).
	Name string
	// Version is the tenant schema version of the file: the exported
	// tenant's. Import leaves the new tenant at the latest version of its
	// migration set.
	Version int64
	// Tables holds the rows written or loaded per table.
	Tables map[string]int64
}

// transferActor is the audit actor of transfers (an operator's command).
const transferActor = "operator"

// Export writes company id to w in the export format, from one consistent
// snapshot: a REPEATABLE READ, READ ONLY transaction on one connection,
// taken while holding the tenant's advisory lock in shared mode, so that a
// tenant migration (which holds it exclusively) is never half-visible: the
// export waits for a running migration, and a migration waits for the
// export. An unknown company (or one without its schema) is a domain
// NotFound. On error, w holds a partial file that Import rejects; the caller
// should delete it.
func (t *Transfer) Export(ctx context.Context, id tenancy.CompanyID, w io.Writer) (TransferSummary, error) {
	if !id.Valid() {
		return TransferSummary{}, domain.NotFound("company")
	}
	sum := TransferSummary{CompanyID: id, Tables: map[string]int64{}}
	schema := id.Schema()
	err := readSnapshot(ctx, t.db, tenantLockKey(id), setSearchPath(id)+copySessionSettings, func(ctx context.Context, conn *sql.Conn) error {
		var (
			company  exportCompany
			hasSchem bool
		)
		err := conn.QueryRowContext(ctx,
			"SELECT id, name, created_at, EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $2) FROM public.companies WHERE id = $1",
			int64(id), schema).Scan(&company.ID, &company.Name, &company.CreatedAt, &hasSchem)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !hasSchem) {
			return domain.NotFound("company")
		}
		if err != nil {
			return fmt.Errorf("read company: %w", err)
		}
		sum.Name = company.Name
		if err := conn.QueryRowContext(ctx,
			"SELECT coalesce(max(version), 0) FROM "+qualified(schema, "schemata_migrations")).Scan(&sum.Version); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if sum.Version == 0 {
			return fmt.Errorf("tenant %d records no migration", id)
		}
		tables, err := readTables(ctx, conn, schema)
		if err != nil {
			return err
		}
		hdr := exportHeader{
			Format: exportFormatName, FormatVersion: exportFormatVersion, SchemaVersion: sum.Version,
			Company: company, ExportedAt: time.Now().UTC(), Tables: make([]exportTable, len(tables)),
		}
		for i, tb := range tables {
			hdr.Tables[i] = exportTable{Name: tb.Name, Columns: tb.Columns}
		}
		ew := newExportWriter(w)
		if err := ew.control(hdr); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		bc := bun.Conn{Conn: conn}
		for _, tb := range tables {
			if err := ew.control(exportSection{Table: tb.Name}); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			src := qualified(schema, tb.Name) + " (" + columnList(tb.Columns) + ")"
			if tb.Partitioned { // COPY TO reads a partitioned table only through a query
				src = "(SELECT " + columnList(tb.Columns) + " FROM " + qualified(schema, tb.Name) + ")"
			}
			res, err := pgdriver.CopyTo(ctx, bc, ew.rows(), "COPY "+src+" TO STDOUT")
			if err != nil {
				return fmt.Errorf("copy table %s: %w", tb.Name, err)
			}
			if err := ew.endSection(); err != nil {
				return fmt.Errorf("write: %w", err)
			}
			sum.Tables[tb.Name] = copyRows(res)
		}
		if err := ew.control(exportTrailer{End: true, Rows: sum.Tables}); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if err := ew.close(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		return nil
	})
	if err != nil {
		if domain.IsCode(err, domain.CodeNotFound) {
			return TransferSummary{}, err
		}
		return TransferSummary{}, fmt.Errorf("postgres: export company %d: %w", id, err)
	}
	return sum, nil
}

// Import creates a new company from an export file read from r, named name
// ("" keeps the exported company's name), and returns it. A file whose
// schema version is newer than the latest of the migration set (or is not
// one of its versions) is refused before anything is written.
//
// Everything happens in one transaction, so a failure at any step (a damaged
// or truncated file included) leaves nothing behind:
//
//  1. the company row, its schema and the tenant migrations up to the file's
//     version (no seed: the reference rows come from the file);
//  2. a check that the file's tables are exactly the tables of that version
//     and its columns exist in them;
//  3. every table loaded with COPY FROM in the file's (load) order, keeping
//     ids; the tables' user triggers are disabled during the load (the rows
//     were shaped by them at the source, and a trigger that fills another
//     table would duplicate rows the file also holds), deferrable
//     constraints are checked at its end, and each table's row count is
//     checked against the trailer;
//  4. identity and serial sequences moved past the largest loaded id;
//  5. the remaining migrations up to the latest version, and the fleet
//     ledger row at the latest version;
//  6. the email lookup rows from the tenant's users table; an email that
//     already belongs to another company aborts everything with a
//     domain.Conflict naming (up to five of) them;
//  7. an audit event "company.imported".
func (t *Transfer) Import(ctx context.Context, r io.Reader, name string) (TransferSummary, error) {
	set := t.ts.Migrations
	if len(set) == 0 {
		return TransferSummary{}, errors.New("postgres: import company: the tenant schema has no migrations")
	}
	er, err := newExportReader(ctx, r)
	if err != nil {
		return TransferSummary{}, err
	}
	hdr, err := er.header()
	if err != nil {
		return TransferSummary{}, err
	}
	if hdr.SchemaVersion > set.Latest() {
		return TransferSummary{}, &domain.Error{Code: domain.CodeInvalid, Field: "file", Message: fmt.Sprintf(
			"the file is at tenant schema version %d, newer than this program's latest version %d: import it with a newer release",
			hdr.SchemaVersion, set.Latest())}
	}
	at := slices.IndexFunc(set, func(m tenancy.Migration) bool { return m.Version == hdr.SchemaVersion })
	if at < 0 {
		return TransferSummary{}, &domain.Error{Code: domain.CodeInvalid, Field: "file", Message: fmt.Sprintf(
			"the file is at tenant schema version %d, which this program's migration set does not have", hdr.SchemaVersion)}
	}
	if name == "" {
		name = hdr.Company.Name
	}
	if name, err = domain.ValidateName("name", name); err != nil {
		return TransferSummary{}, err
	}

	sum := TransferSummary{Name: name, Version: hdr.SchemaVersion, Tables: map[string]int64{}}
	s, err := newWriteScope(ctx, t.db, 0)
	if err != nil {
		return TransferSummary{}, err
	}
	err = runScope(ctx, s, func(ctx context.Context) error {
		company, err := insertCompanyRow(ctx, s, name)
		if err != nil {
			return err
		}
		id := tenancy.CompanyID(company.ID)
		sum.CompanyID = id
		// Provision at the file's version, without the seed: the
		// provisioner's own steps with a truncated migration set.
		prov := &Provisioner{db: t.db, ts: TenantSchema{Migrations: set[:at+1]}}
		if err := prov.provisionSchema(ctx, s, id); err != nil {
			return err
		}
		if err := t.load(ctx, s, id, hdr, er, sum.Tables); err != nil {
			return err
		}
		for _, m := range set[at+1:] {
			if _, err := s.ExecContext(ctx, migrationMessage(t.db, m)); err != nil {
				return fmt.Errorf("migration %s: %w", migrationLabel(m), err)
			}
		}
		if len(set[at+1:]) > 0 {
			if _, err := s.ExecContext(ctx,
				"UPDATE public.tenant_fleet SET version = $1, updated_at = now() WHERE company_id = $2",
				set.Latest(), int64(id)); err != nil {
				return fmt.Errorf("fleet ledger row: %w", err)
			}
		}
		if _, err := rebuildLookup(ctx, s, id); err != nil {
			return err
		}
		return NewAuditLog(t.db).Record(ctx, domain.AuditEvent{
			CompanyID: company.ID, Actor: transferActor, Action: "company.imported", Target: "company:" + id.String(),
			Detail: map[string]string{
				"from": "export", "name": name, "exported_company_id": fmt.Sprint(hdr.Company.ID),
				"schema_version": fmt.Sprint(hdr.SchemaVersion),
			},
		})
	})
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			return TransferSummary{}, err
		}
		return TransferSummary{}, fmt.Errorf("postgres: import company: %w", err)
	}
	return sum, nil
}

// load checks the file's tables against the freshly provisioned schema and
// streams every section into its table.
func (t *Transfer) load(ctx context.Context, s *scope, id tenancy.CompanyID, hdr exportHeader, er *exportReader, rows map[string]int64) error {
	schema := id.Schema()
	target, err := readTables(ctx, s, schema)
	if err != nil {
		return err
	}
	byName := make(map[string]tableInfo, len(target))
	for _, tb := range target {
		byName[tb.Name] = tb
	}
	var problems []string
	inFile := map[string]bool{}
	for _, ft := range hdr.Tables {
		inFile[ft.Name] = true
		tt, ok := byName[ft.Name]
		if !ok {
			problems = append(problems, "table "+ft.Name+" does not exist")
			continue
		}
		for _, c := range ft.Columns {
			if !tt.hasColumn(c) {
				problems = append(problems, "column "+ft.Name+"."+c+" does not exist")
			}
		}
	}
	for _, tb := range target {
		if !inFile[tb.Name] {
			problems = append(problems, "table "+tb.Name+" is missing from the file")
		}
	}
	if len(problems) > 0 {
		return &domain.Error{Code: domain.CodeInvalid, Field: "file", Message: fmt.Sprintf(
			"the file does not match tenant schema version %d: %s", hdr.SchemaVersion, strings.Join(problems, "; "))}
	}

	enable, err := prepareLoad(ctx, s, schema, target)
	if err != nil {
		return err
	}
	if _, err := s.ExecContext(ctx, copySessionSettings+"SET CONSTRAINTS ALL DEFERRED"); err != nil {
		return fmt.Errorf("prepare load: %w", err)
	}
	conn, err := scopeConn(ctx, s)
	if err != nil {
		return err
	}
	for _, ft := range hdr.Tables {
		sec, err := er.section(ft.Name)
		if err != nil {
			return err
		}
		n, err := copyFrom(ctx, conn, sec, copyFromQuery(schema, ft.Name, ft.Columns))
		if er.err != nil { // the file failed: that, not COPY's view of the cut data, is the cause
			return er.err
		}
		if err != nil {
			return fmt.Errorf("load table %s: %w", ft.Name, mapError(err))
		}
		rows[ft.Name] = n
	}
	tr, err := er.trailer()
	if err != nil {
		return err
	}
	if len(tr.Rows) != len(hdr.Tables) {
		return damaged("the trailer counts %d tables, the header lists %d", len(tr.Rows), len(hdr.Tables))
	}
	for table, n := range rows {
		if want, ok := tr.Rows[table]; !ok || want != n {
			return damaged("table %s: loaded %d rows, the trailer says %d", table, n, want)
		}
	}
	if _, err := s.ExecContext(ctx, "SET CONSTRAINTS ALL IMMEDIATE; "+copySessionReset+enable); err != nil {
		return fmt.Errorf("finish load: %w", mapError(err))
	}
	return resetSequences(ctx, s, schema, target)
}
