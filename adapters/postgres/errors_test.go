package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/schemata/schemata/adapters/postgres/pgtest"
	"github.com/schemata/schemata/domain"
)

func TestMapError(t *testing.T) {
	db, err := Open(pgtest.NewDatabase(t), Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.DB.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `
		CREATE TEMP TABLE parent (id bigint PRIMARY KEY, code varchar(3), n int CHECK (n > 0), label text NOT NULL DEFAULT 'x');
		CREATE TEMP TABLE child (parent_id bigint REFERENCES pg_temp.parent (id));
		INSERT INTO pg_temp.parent (id) VALUES (1);
		INSERT INTO pg_temp.child VALUES (1);`); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sql  string
		want domain.Code
	}{
		{"INSERT INTO pg_temp.parent (id) VALUES (1)", domain.CodeConflict},              // 23505
		{"INSERT INTO pg_temp.child VALUES (42)", domain.CodeConflict},                   // 23503
		{"DELETE FROM pg_temp.parent WHERE id = 1", domain.CodeConflict},                 // 23503
		{"INSERT INTO pg_temp.parent (id, n) VALUES (2, -1)", domain.CodeInvalid},        // 23514
		{"INSERT INTO pg_temp.parent (id, code) VALUES (3, 'abcd')", domain.CodeInvalid}, // 22001
		{"INSERT INTO pg_temp.parent (id, label) VALUES (4, NULL)", domain.CodeInvalid},  // 23502
		{"SELECT 1/0", domain.CodeInternal},
	} {
		_, err := conn.ExecContext(ctx, tc.sql)
		if err == nil {
			t.Fatalf("%s succeeded", tc.sql)
		}
		mapped := mapError(err)
		if got := domain.ErrorCode(mapped); got != tc.want {
			t.Errorf("%s: mapError(%v) has code %s, want %s", tc.sql, err, got, tc.want)
		}
		if pgCode(mapped) == "" {
			t.Errorf("%s: the PostgreSQL error is not kept in the chain of %v", tc.sql, mapped)
		}
	}

	if mapError(nil) != nil {
		t.Error("mapError(nil) != nil")
	}
	if err := mapError(fmt.Errorf("get: %w", sql.ErrNoRows)); !errors.Is(err, sql.ErrNoRows) || domain.ErrorCode(err) != domain.CodeInternal {
		t.Errorf("mapError(no rows) = %v, want it left for the caller", err)
	}
	nf := domain.NotFound("user")
	if err := mapError(nf); err != error(nf) {
		t.Errorf("mapError(domain error) = %v, want it unchanged", err)
	}
}
