package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// This file holds what Transfer (export/import of one tenant) and
// MonolithImporter share: reading a schema's tables from the catalog in
// foreign-key load order, streaming COPY helpers that keep pgdriver's wire
// protocol in step whatever fails, a pinned read-only snapshot, and the
// post-load steps (identity sequences, triggers, the email lookup).

// machineryTables are tenant tables owned by the machinery, not by the
// tenant migration set: their content follows from the schema version, so
// transfers never copy them.
var machineryTables = map[string]bool{"schemata_migrations": true}

// copySessionSettings make COPY's text format independent of the server's and
// the session's configuration: dates and intervals in an unambiguous style,
// floats with every digit, bytea in hex and timestamps with an explicit
// offset. Both directions of a transfer set them.
const copySessionSettings = "SET LOCAL DateStyle TO 'ISO, YMD'; SET LOCAL IntervalStyle TO 'postgres'; " +
	"SET LOCAL extra_float_digits TO 3; SET LOCAL bytea_output TO 'hex'; SET LOCAL TimeZone TO 'UTC'; "

// copySessionReset undoes copySessionSettings for the rest of a transaction
// (the migrations that an import runs after loading see the usual settings).
const copySessionReset = "SET LOCAL DateStyle TO DEFAULT; SET LOCAL IntervalStyle TO DEFAULT; " +
	"SET LOCAL extra_float_digits TO DEFAULT; SET LOCAL bytea_output TO DEFAULT; SET LOCAL TimeZone TO DEFAULT; "

// querier is what reading the catalog needs: a pinned *sql.Conn, a scope or a
// *sql.DB all qualify (not a *bun.DB, whose placeholders are ?, not $1).
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// tableInfo describes one table of a schema as transfers need it.
type tableInfo struct {
	Name        string
	Partitioned bool
	Columns     []string // copyable columns (not dropped, not generated), in column order
	Sequences   []string // identity and serial columns (fed by a sequence they own)
	Triggers    []string // enabled user (non-internal) triggers
	Parents     []string // tables of the same schema this one references by foreign key
}

func (t tableInfo) hasColumn(name string) bool { return slices.Contains(t.Columns, name) }

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// qualified returns schema.table, both quoted.
func qualified(schema, table string) string { return quoteIdent(schema) + "." + quoteIdent(table) }

// columnList returns "a", "b", … quoted, without parentheses.
func columnList(cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quoteIdent(c)
	}
	return strings.Join(q, ", ")
}

// readTables returns the ordinary and partitioned tables of schema (except
// partitions and the machinery's tables) in load order: a table comes after
// every table it references by foreign key. Members of a foreign-key cycle,
// which no order can satisfy, come last in name order (the load defers
// deferrable constraints). It costs three queries.
func readTables(ctx context.Context, q querier, schema string) ([]tableInfo, error) {
	byName := map[string]*tableInfo{}
	var names []string
	err := scanRows(ctx, q, `SELECT c.relname, c.relkind = 'p', a.attname,
       (a.attidentity <> '' OR a.atthasdef)
         AND pg_catalog.pg_get_serial_sequence(pg_catalog.format('%I.%I', n.nspname, c.relname), a.attname) IS NOT NULL
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
 WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
 ORDER BY c.relname, a.attnum`, []any{schema}, func(rows *sql.Rows) error {
		var table, column string
		var partitioned, seq bool
		if err := rows.Scan(&table, &partitioned, &column, &seq); err != nil {
			return err
		}
		if machineryTables[table] {
			return nil
		}
		t := byName[table]
		if t == nil {
			t = &tableInfo{Name: table, Partitioned: partitioned}
			byName[table] = t
			names = append(names, table)
		}
		t.Columns = append(t.Columns, column)
		if seq {
			t.Sequences = append(t.Sequences, column)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tables of %s: %w", schema, err)
	}
	err = scanRows(ctx, q, `SELECT c.relname, p.relname
  FROM pg_catalog.pg_constraint k
  JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
  JOIN pg_catalog.pg_class p ON p.oid = k.confrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE k.contype = 'f' AND n.nspname = $1 AND p.relnamespace = c.relnamespace
 ORDER BY 1, 2`, []any{schema}, func(rows *sql.Rows) error {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return err
		}
		if t := byName[child]; t != nil && child != parent && byName[parent] != nil && !slices.Contains(t.Parents, parent) {
			t.Parents = append(t.Parents, parent)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read foreign keys of %s: %w", schema, err)
	}
	err = scanRows(ctx, q, `SELECT c.relname, t.tgname
  FROM pg_catalog.pg_trigger t
  JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND NOT t.tgisinternal AND t.tgenabled <> 'D'
 ORDER BY 1, 2`, []any{schema}, func(rows *sql.Rows) error {
		var table, trigger string
		if err := rows.Scan(&table, &trigger); err != nil {
			return err
		}
		if t := byName[table]; t != nil {
			t.Triggers = append(t.Triggers, trigger)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read triggers of %s: %w", schema, err)
	}
	return loadOrder(byName, names), nil
}

// loadOrder sorts tables topologically by their Parents (Kahn's algorithm,
// ties broken by name so the order is deterministic); cycle members are
// appended in name order.
func loadOrder(byName map[string]*tableInfo, names []string) []tableInfo {
	slices.Sort(names)
	placed := make(map[string]bool, len(names))
	out := make([]tableInfo, 0, len(names))
	for len(out) < len(names) {
		progress := false
		for _, n := range names {
			if placed[n] {
				continue
			}
			ready := true
			for _, p := range byName[n].Parents {
				if !placed[p] {
					ready = false
					break
				}
			}
			if ready {
				placed[n] = true
				out = append(out, *byName[n])
				progress = true
				break // restart so that the smallest ready name always goes next
			}
		}
		if !progress {
			for _, n := range names {
				if !placed[n] {
					placed[n] = true
					out = append(out, *byName[n])
				}
			}
		}
	}
	return out
}

// scanRows runs a query and calls scan for each row.
func scanRows(ctx context.Context, q querier, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readSnapshot runs fn on a connection pinned for the duration, inside one
// REPEATABLE READ, READ ONLY transaction (so every read of fn sees the same
// snapshot) whose first message also runs setLocal (SET LOCAL statements).
//
// When lockKey is not zero, the connection first takes the shared advisory
// lock lockKey at session level, before the transaction starts, and holds it
// to the end: the snapshot is then taken after the lock is held. (A
// transaction-level lock cannot give that: in REPEATABLE READ the statement
// that takes it also fixes the snapshot, before the wait.) The transaction is
// always rolled back (nothing is written) and the lock released in the same
// message; a connection where that fails is discarded, never pooled, so no
// session state survives.
func readSnapshot(ctx context.Context, db *bun.DB, lockKey int64, setLocal string, fn func(ctx context.Context, conn *sql.Conn) error) error {
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Close()
	locked := false
	err = func() error {
		if lockKey != 0 {
			if _, err := conn.ExecContext(ctx, "SELECT pg_catalog.pg_advisory_lock_shared($1)", lockKey); err != nil {
				return fmt.Errorf("lock: %w", err)
			}
			locked = true
		}
		if _, err := conn.ExecContext(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; "+setLocal); err != nil {
			return fmt.Errorf("begin snapshot: %w", err)
		}
		return fn(ctx, conn)
	}()
	end := "ROLLBACK"
	if locked {
		end += "; SELECT pg_catalog.pg_advisory_unlock_shared(" + strconv.FormatInt(lockKey, 10) + ")"
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, endErr := conn.ExecContext(fctx, end); endErr != nil {
		// Nothing was written and fn's reads are complete; what matters is
		// that this connection, whose transaction and lock state are
		// unknown, is closed (which ends both) and never pooled.
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	return err
}

// drainWriter passes writes on to w until one fails, then swallows the rest
// and keeps the first error. pgdriver's CopyTo must read a COPY's output to
// its end to keep the connection usable (on a writer error it stops reading
// mid-message and the connection falls out of step), so a COPY TO always
// writes through one.
type drainWriter struct {
	w   io.Writer
	err error
}

func (d *drainWriter) Write(p []byte) (int, error) {
	if d.err == nil {
		if _, err := d.w.Write(p); err != nil {
			d.err = err
		}
	}
	return len(p), nil
}

// endingReader feeds a COPY FROM. pgdriver's CopyFrom sends CopyDone only
// when its reader returns io.EOF (any other error leaves the connection in
// copy mode) and drops data returned together with io.EOF, so endingReader
// returns either data or io.EOF, never both, and turns a failure of r (or a
// cancelled ctx) into io.EOF, keeping the error for the caller, who must
// then abort the transaction that the truncated COPY ran in.
type endingReader struct {
	ctx context.Context
	r   io.Reader
	eof bool
	err error
}

func (e *endingReader) Read(p []byte) (int, error) {
	if e.eof || e.err != nil {
		return 0, io.EOF
	}
	if err := e.ctx.Err(); err != nil {
		e.err = err
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF):
		e.eof = true
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	default:
		e.err = err
		return 0, io.EOF
	}
}

// copyRows returns the row count of a COPY's command tag.
func copyRows(res sql.Result) int64 {
	if res == nil {
		return 0
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0
	}
	return n
}

// scopeConn returns the pinned connection of write scope s for a COPY, after
// sending whatever the scope still has pending (BEGIN, SET LOCAL
// search_path) so that the COPY runs inside the scope's transaction.
func scopeConn(ctx context.Context, s *scope) (bun.Conn, error) {
	s.mu.Lock()
	mode, pending := s.mode, s.pending != ""
	s.mu.Unlock()
	if mode != modeWrite {
		return bun.Conn{}, errors.New("postgres: COPY needs a write unit of work")
	}
	if pending {
		if _, err := s.ExecContext(ctx, "SELECT 1"); err != nil {
			return bun.Conn{}, err
		}
	}
	return bun.Conn{Conn: s.conn}, nil
}

// insertCompanyRow inserts a company row in scope s (the first statement
// of its transaction) and returns it.
func insertCompanyRow(ctx context.Context, s *scope, name string) (domain.Company, error) {
	var (
		rawID   int64
		created time.Time
	)
	if err := s.QueryRowContext(ctx,
		"INSERT INTO public.companies (name) VALUES ($1) RETURNING id, created_at", name,
	).Scan(&rawID, &created); err != nil {
		return domain.Company{}, fmt.Errorf("insert company row: %w", mapError(err))
	}
	if !tenancy.CompanyID(rawID).Valid() { // unreachable with an identity column; never let it near SQL
		return domain.Company{}, fmt.Errorf("database returned invalid company id %d", rawID)
	}
	return domain.Company{ID: rawID, Name: name, CreatedAt: created}, nil
}

// prepareLoad readies freshly provisioned tables for a raw load: it disables
// their enabled user triggers (the rows being loaded were already shaped by
// them at the source; a trigger that maintains another table would
// otherwise duplicate rows that are loaded too) and empties them if a
// migration put rows in (the loaded data is the whole truth). It returns the
// statement that re-enables exactly the disabled triggers.
func prepareLoad(ctx context.Context, s *scope, schema string, tables []tableInfo) (string, error) {
	var disable, enable strings.Builder
	for _, t := range tables {
		for _, tg := range t.Triggers {
			fmt.Fprintf(&disable, "ALTER TABLE %s DISABLE TRIGGER %s;\n", qualified(schema, t.Name), quoteIdent(tg))
			fmt.Fprintf(&enable, "ALTER TABLE %s ENABLE TRIGGER %s;\n", qualified(schema, t.Name), quoteIdent(tg))
		}
	}
	if disable.Len() > 0 {
		if _, err := s.ExecContext(ctx, disable.String()); err != nil {
			return "", fmt.Errorf("disable triggers: %w", err)
		}
	}
	if len(tables) == 0 {
		return enable.String(), nil
	}
	probes := make([]string, len(tables))
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = qualified(schema, t.Name)
		probes[i] = "EXISTS (SELECT 1 FROM " + names[i] + ")"
	}
	var nonEmpty bool
	if err := s.QueryRowContext(ctx, "SELECT "+strings.Join(probes, " OR ")).Scan(&nonEmpty); err != nil {
		return "", fmt.Errorf("check tables are empty: %w", err)
	}
	if nonEmpty {
		if _, err := s.ExecContext(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
			return "", fmt.Errorf("empty the tables the migrations filled: %w", err)
		}
	}
	return enable.String(), nil
}

// resetSequences moves every identity or serial sequence of tables past the
// largest value loaded into its column, so that the next generated id
// continues after the loaded ones. Empty columns keep their fresh sequence.
func resetSequences(ctx context.Context, s *scope, schema string, tables []tableInfo) error {
	var sb strings.Builder
	for _, t := range tables {
		for _, col := range t.Sequences {
			fmt.Fprintf(&sb, "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(%s, %s), m) FROM (SELECT max(%s) AS m FROM %s) x WHERE m IS NOT NULL;\n",
				pgString(qualified(schema, t.Name)), pgString(col), quoteIdent(col), qualified(schema, t.Name))
		}
	}
	if sb.Len() == 0 {
		return nil
	}
	if _, err := s.ExecContext(ctx, sb.String()); err != nil {
		return fmt.Errorf("reset identity sequences: %w", err)
	}
	return nil
}

// pgString quotes s as a string literal (standard_conforming_strings is on:
// pgdriver insists on it).
func pgString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// maxConflictEmails bounds how many emails a Conflict names.
const maxConflictEmails = 5

// rebuildLookup recreates the public.user_company_lookup rows of tenant id
// from its users table, if the tenant schema has one with an email column.
// When any email already belongs to another company nothing is claimed (the
// caller's transaction must then roll back) and the error is a
// domain.Conflict naming up to maxConflictEmails of them. It returns the
// number of emails claimed.
func rebuildLookup(ctx context.Context, s *scope, id tenancy.CompanyID) (int64, error) {
	users := qualified(id.Schema(), "users")
	var has bool
	if err := s.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute
		WHERE attrelid = pg_catalog.to_regclass($1) AND attname = 'email' AND attnum > 0 AND NOT attisdropped)`,
		users).Scan(&has); err != nil {
		return 0, fmt.Errorf("email lookup: %w", err)
	}
	if !has {
		return 0, nil
	}
	var claimed, distinct int64
	if err := s.QueryRowContext(ctx, `WITH ins AS (
	INSERT INTO public.user_company_lookup (email, company_id)
	SELECT DISTINCT lower(email), $1::bigint FROM `+users+` WHERE email IS NOT NULL
	ON CONFLICT (email) DO NOTHING
	RETURNING 1)
SELECT (SELECT count(*) FROM ins), (SELECT count(DISTINCT lower(email)) FROM `+users+` WHERE email IS NOT NULL)`,
		int64(id)).Scan(&claimed, &distinct); err != nil {
		return 0, fmt.Errorf("email lookup: %w", mapError(err))
	}
	if claimed == distinct {
		return claimed, nil
	}
	var (
		taken []string
		total int64
	)
	err := scanRows(ctx, s, `SELECT u.email, count(*) OVER ()
  FROM (SELECT DISTINCT lower(email) AS email FROM `+users+` WHERE email IS NOT NULL) u
  JOIN public.user_company_lookup l ON l.email = u.email AND l.company_id <> $1
 ORDER BY 1 LIMIT `+strconv.Itoa(maxConflictEmails), []any{int64(id)}, func(rows *sql.Rows) error {
		var e string
		if err := rows.Scan(&e, &total); err != nil {
			return err
		}
		taken = append(taken, e)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("email lookup: %w", err)
	}
	msg := "emails already registered to another company: " + strings.Join(taken, ", ")
	if more := total - int64(len(taken)); more > 0 {
		msg += fmt.Sprintf(" (and %d more)", more)
	}
	if len(taken) == 0 { // claimed concurrently and released again: still nothing may be claimed
		msg = fmt.Sprintf("%d of %d emails could not be claimed", distinct-claimed, distinct)
	}
	return 0, domain.Conflict("%s", msg)
}

// countRows counts the rows of each table in one query; where is appended
// to every count (e.g. " WHERE company_id = $1").
func countRows(ctx context.Context, q querier, schema string, tables []string, where string, args ...any) (map[string]int64, error) {
	out := make(map[string]int64, len(tables))
	if len(tables) == 0 {
		return out, nil
	}
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = "(SELECT count(*) FROM " + qualified(schema, t) + where + ")"
	}
	counts := make([]int64, len(tables))
	dest := make([]any, len(tables))
	for i := range counts {
		dest[i] = &counts[i]
	}
	rows, err := q.QueryContext(ctx, "SELECT "+strings.Join(parts, ", "), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, t := range tables {
		out[t] = counts[i]
	}
	return out, nil
}

// copyFromQuery is the COPY statement that loads cols of schema.table.
func copyFromQuery(schema, table string, cols []string) string {
	return "COPY " + qualified(schema, table) + " (" + columnList(cols) + ") FROM STDIN"
}

// copyFrom runs a COPY FROM with r (which must follow endingReader's
// contract) on conn.
func copyFrom(ctx context.Context, conn bun.Conn, r io.Reader, query string) (int64, error) {
	res, err := pgdriver.CopyFrom(ctx, conn, r, query)
	if err != nil {
		return 0, err
	}
	return copyRows(res), nil
}
