package postgres

import (
	"strings"
	"testing"

	"github.com/schemata/schemata/tenancy"
)

func TestMigratePublicNextMigration(t *testing.T) {
	set := tenancy.MigrationSet{{Version: 1, Name: "a"}, {Version: 2, Name: "b"}, {Version: 3, Name: "c"}}
	for _, tc := range []struct {
		recorded []int64
		want     int64  // version of the next migration, 0 for none
		wantErr  string // substring
	}{
		{recorded: nil, want: 1},
		{recorded: []int64{1}, want: 2},
		{recorded: []int64{1, 2, 3}, want: 0},
		{recorded: []int64{1, 3}, wantErr: "0002_b is not applied but the newer version 3 is"},
		{recorded: []int64{1, 2, 3, 4}, wantErr: "newer than this program knows"},
		{recorded: []int64{1, 2}, want: 3},
	} {
		rec := map[int64]bool{}
		for _, v := range tc.recorded {
			rec[v] = true
		}
		next, err := nextPublicMigration(set, rec)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("recorded %v: err = %v, want %q", tc.recorded, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("recorded %v: %v", tc.recorded, err)
		case tc.want == 0 && next != nil, tc.want != 0 && (next == nil || next.Version != tc.want):
			t.Errorf("recorded %v: next = %+v, want version %d", tc.recorded, next, tc.want)
		}
	}
	// A recorded version inside the set's range that the set lacks.
	gappy := tenancy.MigrationSet{{Version: 1, Name: "a"}, {Version: 3, Name: "c"}}
	if _, err := nextPublicMigration(gappy, map[int64]bool{1: true, 2: true}); err == nil || !strings.Contains(err.Error(), "does not have") {
		t.Errorf("unknown recorded version: err = %v", err)
	}
}
