package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

// Cursors are opaque and tamper-evident:
//
//	base64url( payload ‖ HMAC-SHA256(key, scope ‖ 0x00 ‖ payload)[:16] )
//
// The payload is the keyset position, one big-endian int64 per key (the last
// id seen; the current-deployment matrix carries component id and environment
// id). The scope binds a cursor to the list that issued it and to the caller's
// tenant: "teams@7", "teams/12/members@7", "deployments/current@7". A cursor
// of another list, another parent, another tenant or another key, a modified
// one and anything that was never issued all fail the MAC check and answer 400
// naming "cursor". The MAC is truncated to 128 bits (RFC 2104 §5 allows it;
// forging still needs 2^128 tries online).
const (
	cursorMACLen = 16
	// maxCursorLen bounds a cursor before any decoding (two keys need 43).
	maxCursorLen = 64
)

// errBadCursor is returned by cursorCodec.decode for anything it did not
// issue for that scope.
var errBadCursor = errors.New("malformed cursor")

// cursorCodec signs and checks cursors with one key.
type cursorCodec struct{ key []byte }

func (c cursorCodec) mac(scope string, payload []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(scope))
	h.Write([]byte{0}) // scopes never contain NUL: scope ‖ payload is unambiguous
	h.Write(payload)
	return h.Sum(nil)[:cursorMACLen]
}

// encode returns the cursor of the keyset position keys within scope.
func (c cursorCodec) encode(scope string, keys ...int64) string {
	buf := make([]byte, 0, 8*len(keys)+cursorMACLen)
	for _, k := range keys {
		buf = binary.BigEndian.AppendUint64(buf, uint64(k))
	}
	buf = append(buf, c.mac(scope, buf)...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// decode checks s against scope and returns its n keys, each a positive id.
func (c cursorCodec) decode(scope, s string, n int) ([]int64, error) {
	if len(s) > maxCursorLen {
		return nil, errBadCursor
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(raw) != 8*n+cursorMACLen {
		return nil, errBadCursor
	}
	payload, tag := raw[:8*n], raw[8*n:]
	if !hmac.Equal(tag, c.mac(scope, payload)) {
		return nil, errBadCursor
	}
	keys := make([]int64, n)
	for i := range keys {
		k := int64(binary.BigEndian.Uint64(payload[8*i:]))
		if k <= 0 {
			return nil, errBadCursor // never issued: ids are positive
		}
		keys[i] = k
	}
	return keys, nil
}

// Query parameters every list accepts.
const (
	paramLimit  = "limit"
	paramCursor = "cursor"
)

// listRequest is the parsed ?limit&cursor of one list, and what it takes to
// issue that list's next cursor.
type listRequest struct {
	limit int
	keys  []int64 // the cursor's keyset position; nil on the first page
	scope string
	codec cursorCodec
	query map[string][]string
}

// page is the domain.Page of a list keyed by id.
func (lr listRequest) page() domain.Page {
	p := domain.Page{Limit: lr.limit}
	if len(lr.keys) > 0 {
		p.After = lr.keys[0]
	}
	return p.Clamp()
}

// parseList reads ?limit and ?cursor of the list named list (a cursor carries
// nkeys keys) and refuses any query parameter that is neither of them nor one
// of filters, so that a misspelt filter is a 400 rather than an unfiltered
// list. limit defaults to domain.DefaultPageSize and is clamped to
// domain.MaxPageSize; a non-numeric or non-positive limit, a repeated
// parameter or a cursor this API did not issue for this list and tenant is a
// 400 naming the parameter.
func (a *api) parseList(r *http.Request, list string, nkeys int, filters ...string) (listRequest, error) {
	q := r.URL.Query()
	lr := listRequest{limit: domain.DefaultPageSize, scope: a.cursorScope(r, list), codec: a.cursors, query: q}
	for name, vs := range q {
		if name != paramLimit && name != paramCursor && !slices.Contains(filters, name) {
			return lr, badRequest(name, "unknown query parameter "+strconv.Quote(name))
		}
		if len(vs) != 1 {
			return lr, badRequest(name, name+" must be given at most once")
		}
	}
	if vs, ok := q[paramLimit]; ok {
		n, err := parseLimit(vs[0])
		if err != nil {
			return lr, err
		}
		lr.limit = n
	}
	if vs, ok := q[paramCursor]; ok && vs[0] != "" {
		keys, err := lr.codec.decode(lr.scope, vs[0], nkeys)
		if err != nil {
			return lr, badRequest(paramCursor, "cursor is not a cursor this API issued for this list")
		}
		lr.keys = keys
	}
	return lr, nil
}

// cursorScope binds a list name to the caller's tenant (0 for the platform
// admin, whose only list is the companies).
func (a *api) cursorScope(r *http.Request, list string) string {
	var company int64
	if p, ok := app.PrincipalFromContext(r.Context()); ok {
		company = int64(p.CompanyID)
	}
	return list + "@" + strconv.FormatInt(company, 10)
}

func parseLimit(s string) (int, error) {
	bad := badRequest(paramLimit, "limit must be an integer from 1 to "+strconv.Itoa(domain.MaxPageSize))
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

// idFilter reads an optional id filter (?team_id=7): 0 when absent; anything
// but a canonical positive integer is a 400 naming the parameter. An id of
// another tenant simply matches nothing.
func (lr listRequest) idFilter(name string) (int64, error) {
	vs, ok := lr.query[name]
	if !ok {
		return 0, nil
	}
	id, valid := parseID(vs[0])
	if !valid {
		return 0, badRequest(name, name+" must be a positive integer id")
	}
	return id, nil
}

// maxQueryLen bounds a free-text filter, in characters: q is a substring
// of a component name, and names have at most 63 characters.
const maxQueryLen = 63

// textFilter reads an optional free-text filter, passed on as given (the
// repository takes it literally): valid UTF-8 without control characters, at
// most maxQueryLen characters, else a 400 naming the parameter.
func (lr listRequest) textFilter(name string) (string, error) {
	vs, ok := lr.query[name]
	if !ok {
		return "", nil
	}
	s := vs[0]
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxQueryLen || strings.ContainsFunc(s, isControl) {
		return "", badRequest(name, name+" must be at most "+strconv.Itoa(maxQueryLen)+" characters of text without control characters")
	}
	return s, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// listJSON is the envelope of every list: the page's items and the cursor of
// the next page, null when this page is not full.
type listJSON[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// newList converts a page of items keyed by id.
func newList[S, T any](lr listRequest, items []S, conv func(S) T, id func(S) int64) listJSON[T] {
	return newKeyedList(lr, items, conv, func(s S) []int64 { return []int64{id(s)} })
}

// newKeyedList converts a page of items whose keyset position is keys of the
// last item. A full page gets a next_cursor; a short one ends the list.
func newKeyedList[S, T any](lr listRequest, items []S, conv func(S) T, keys func(S) []int64) listJSON[T] {
	out := listJSON[T]{Items: make([]T, 0, len(items))}
	for _, it := range items {
		out.Items = append(out.Items, conv(it))
	}
	if len(items) > 0 && len(items) >= lr.page().Limit {
		c := lr.codec.encode(lr.scope, keys(items[len(items)-1])...)
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
