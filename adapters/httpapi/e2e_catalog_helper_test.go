package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schemata/schemata/tenancy"
)

// JSON shapes of the catalog that the e2e tests read.
type (
	teamOut struct {
		ID          int64     `json:"id"`
		Name        string    `json:"name"`
		Description string    `json:"description"`
		CreatedAt   time.Time `json:"created_at"`
		UpdatedAt   time.Time `json:"updated_at"`
	}
	componentOut struct {
		ID                 int64     `json:"id"`
		Name               string    `json:"name"`
		Description        string    `json:"description"`
		ServiceTypeID      int64     `json:"service_type_id"`
		TeamID             int64     `json:"team_id"`
		Lifecycle          string    `json:"lifecycle"`
		Tier               *int      `json:"tier"`
		RepositoryURL      string    `json:"repository_url"`
		RegistryProviderID *int64    `json:"registry_provider_id"`
		ImageRepository    string    `json:"image_repository"`
		Tags               []string  `json:"tags"`
		CreatedAt          time.Time `json:"created_at"`
		UpdatedAt          time.Time `json:"updated_at"`
	}
	tagOut struct {
		ID        int64     `json:"id"`
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	environmentOut struct {
		ID              int64     `json:"id"`
		Name            string    `json:"name"`
		Category        string    `json:"category"`
		CloudProviderID int64     `json:"cloud_provider_id"`
		Region          string    `json:"region"`
		CreatedAt       time.Time `json:"created_at"`
		UpdatedAt       time.Time `json:"updated_at"`
	}
	versionOut struct {
		ID          int64     `json:"id"`
		ComponentID int64     `json:"component_id"`
		Version     string    `json:"version"`
		ImageDigest string    `json:"image_digest"`
		GitSHA      string    `json:"git_sha"`
		Notes       string    `json:"notes"`
		CreatedAt   time.Time `json:"created_at"`
	}
	deploymentOut struct {
		ID            int64     `json:"id"`
		ComponentID   int64     `json:"component_id"`
		EnvironmentID int64     `json:"environment_id"`
		VersionID     int64     `json:"version_id"`
		Status        string    `json:"status"`
		DeployedAt    time.Time `json:"deployed_at"`
		Actor         string    `json:"actor"`
		CreatedAt     time.Time `json:"created_at"`
	}
	currentOut struct {
		ComponentID   int64     `json:"component_id"`
		EnvironmentID int64     `json:"environment_id"`
		VersionID     int64     `json:"version_id"`
		Version       string    `json:"version"`
		DeploymentID  int64     `json:"deployment_id"`
		DeployedAt    time.Time `json:"deployed_at"`
	}
	activityOut struct {
		ID         int64             `json:"id"`
		At         time.Time         `json:"at"`
		Actor      string            `json:"actor"`
		ActorID    int64             `json:"actor_id"`
		Action     string            `json:"action"`
		EntityType string            `json:"entity_type"`
		EntityID   int64             `json:"entity_id"`
		Detail     map[string]string `json:"detail"`
	}
	memberOut struct {
		TeamID int64 `json:"team_id"`
		UserID int64 `json:"user_id"`
	}
	dependencyOut struct {
		ComponentID int64 `json:"component_id"`
		DependsOnID int64 `json:"depends_on_id"`
	}
	rawPage struct {
		Items      []json.RawMessage `json:"items"`
		NextCursor *string           `json:"next_cursor"`
	}
)

// callAs sends one request, expects status and decodes the JSON answer as T.
func callAs[T any](s *stack, method, path, tok string, body any, status int) T {
	s.t.Helper()
	return decodeAs[T](s.t, s.expect(s.send(method, path, tok, body), status, ""))
}

// withQuery appends a query parameter to path.
func withQuery(path, name, value string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + url.QueryEscape(name) + "=" + url.QueryEscape(value)
}

// walk follows next_cursor through the list at path (which may carry
// filters) with page size limit and returns the items of every page in
// order. It fails the test when a full page has no cursor, a short page has
// one, a page is larger than limit, or the walk does not end.
func walk(s *stack, path, tok string, limit int) []json.RawMessage {
	s.t.Helper()
	first := withQuery(path, "limit", strconv.Itoa(limit))
	next := first
	var all []json.RawMessage
	for pages := 1; ; pages++ {
		if pages > 500 {
			s.t.Fatalf("%s: the cursor walk does not end", path)
		}
		p := decodeAs[rawPage](s.t, s.expect(s.send("GET", next, tok, nil), 200, ""))
		if len(p.Items) > limit {
			s.t.Fatalf("%s: %d items on a page of %d", next, len(p.Items), limit)
		}
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			if len(p.Items) == limit {
				s.t.Fatalf("%s: a full page without next_cursor", next)
			}
			return all
		}
		if len(p.Items) < limit {
			s.t.Fatalf("%s: a short page (%d of %d) with a next_cursor", next, len(p.Items), limit)
		}
		next = withQuery(first, "cursor", *p.NextCursor)
	}
}

// items decodes raw list items as T.
func items[T any](t *testing.T, raw []json.RawMessage) []T {
	t.Helper()
	out := make([]T, 0, len(raw))
	for _, r := range raw {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatalf("decode %s: %v", r, err)
		}
		out = append(out, v)
	}
	return out
}

// all returns every item of the list at path (pages of 200) as T.
func all[T any](s *stack, path, tok string) []T {
	s.t.Helper()
	return items[T](s.t, walk(s, path, tok, 200))
}

// cursorOf returns the next_cursor of the first page of one item of the
// list at path; the list must have at least two items.
func cursorOf(s *stack, path, tok string) string {
	s.t.Helper()
	p := decodeAs[rawPage](s.t, s.expect(s.send("GET", withQuery(path, "limit", "1"), tok, nil), 200, ""))
	if p.NextCursor == nil {
		s.t.Fatalf("%s: no next_cursor on a page of 1", path)
	}
	return *p.NextCursor
}

// refIDs maps the names of one kind of reference data of the caller's
// tenant to their ids.
func refIDs(s *stack, segment, tok string) map[string]int64 {
	s.t.Helper()
	out := map[string]int64{}
	for _, it := range all[itemOut](s, "/api/v1/"+segment, tok) {
		out[it.Name] = it.ID
	}
	return out
}

// digest fingerprints every row of every table of the given schemas (plus
// the tenant-shaped public tables), so that "nothing changed" can be checked
// after a batch of refused requests. The audit log is left out: refused
// cross-tenant attempts are recorded there on purpose.
func (s *stack) digest(companies ...tenancy.CompanyID) string {
	s.t.Helper()
	ctx := context.Background()
	tables := []string{`public.companies`, `public.user_company_lookup`}
	for _, c := range companies {
		rows, err := s.db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables
			WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name`, c.Schema())
		if err != nil {
			s.t.Fatalf("tables of %s: %v", c.Schema(), err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				s.t.Fatal(err)
			}
			tables = append(tables, `"`+c.Schema()+`"."`+name+`"`)
		}
		if err := rows.Err(); err != nil {
			s.t.Fatal(err)
		}
		_ = rows.Close()
	}
	var b strings.Builder
	for _, tbl := range tables {
		var sum string
		q := `SELECT coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '') FROM ` + tbl + ` AS t`
		if err := s.db.QueryRowContext(ctx, q).Scan(&sum); err != nil {
			s.t.Fatalf("%s: %v", q, err)
		}
		fmt.Fprintf(&b, "%s=%s\n", tbl, sum)
	}
	return b.String()
}

// unchanged fails the test when the digest of companies is not before.
func (s *stack) unchanged(before string, companies ...tenancy.CompanyID) {
	s.t.Helper()
	if after := s.digest(companies...); after != before {
		s.t.Fatalf("refused requests changed data:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// path builds an API path from segments: path("teams", 7, "members").
func path(parts ...any) string {
	var b strings.Builder
	b.WriteString("/api/v1")
	for _, p := range parts {
		b.WriteByte('/')
		fmt.Fprint(&b, p)
	}
	return b.String()
}
