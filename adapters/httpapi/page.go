package httpapi

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/schemata/schemata/domain"
)

// errBadCursor is returned by decodeCursor for anything it did not encode.
var errBadCursor = errors.New("malformed cursor")

// encodeCursor returns the opaque next_cursor for a page whose last item has
// id lastID. It is base64url for now; a later issue makes it tamper-evident
// (HMAC-signed) behind the same two functions.
func encodeCursor(lastID int64) string {
	return base64.RawURLEncoding.EncodeToString(strconv.AppendInt(nil, lastID, 10))
}

// decodeCursor reverses encodeCursor; anything else is errBadCursor.
func decodeCursor(s string) (int64, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return 0, errBadCursor
	}
	id, ok := parseID(string(b))
	if !ok {
		return 0, errBadCursor
	}
	return id, nil
}

// parsePage reads ?limit and ?cursor. limit defaults to
// domain.DefaultPageSize and is clamped to domain.MaxPageSize; a non-numeric
// or non-positive limit, a repeated parameter or a malformed cursor is a 400
// naming the parameter.
func parsePage(r *http.Request) (domain.Page, error) {
	q := r.URL.Query()
	page := domain.Page{Limit: domain.DefaultPageSize}
	if vs, ok := q["limit"]; ok {
		if len(vs) != 1 {
			return page, badRequest("limit", "limit must be given at most once")
		}
		n, err := parseLimit(vs[0])
		if err != nil {
			return page, err
		}
		page.Limit = n
	}
	if vs, ok := q["cursor"]; ok {
		if len(vs) != 1 {
			return page, badRequest("cursor", "cursor must be given at most once")
		}
		if vs[0] != "" {
			after, err := decodeCursor(vs[0])
			if err != nil {
				return page, badRequest("cursor", "cursor is not a cursor this API issued")
			}
			page.After = after
		}
	}
	return page.Clamp(), nil
}

func parseLimit(s string) (int, error) {
	bad := badRequest("limit", "limit must be an integer from 1 to "+strconv.Itoa(domain.MaxPageSize))
	if s == "" || len(s) > 64 {
		return 0, bad
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > domain.MaxPageSize { // all digits: err is only ErrRange, i.e. huge
		return domain.MaxPageSize, nil
	}
	if n < 1 {
		return 0, bad
	}
	return n, nil
}

// listJSON is the envelope of every list: the page's items and the cursor of
// the next page, null when this page is not full.
type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// newList converts a page of items; limit is the page size that was asked of
// the use case.
func newList[S, T any](items []S, limit int, conv func(S) T, id func(S) int64) listJSON[T] {
	out := listJSON[T]{Items: make([]T, 0, len(items))}
	for _, it := range items {
		out.Items = append(out.Items, conv(it))
	}
	if len(items) > 0 && len(items) >= limit {
		c := encodeCursor(id(items[len(items)-1]))
		out.NextCursor = &c
	}
	return out
}

// parseID accepts a canonical positive decimal int64 ("7"; not "+7", "07",
// " 7", "7;…" or anything that overflows).
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
