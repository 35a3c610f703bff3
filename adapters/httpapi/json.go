package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Media types accepted in request bodies.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
	mediaForm       = "application/x-www-form-urlencoded"
)

// mediaType returns the request's media type, lower-cased and without
// parameters. A charset parameter, when present, must be UTF-8.
func mediaType(r *http.Request) (string, error) {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return "", unsupportedMediaType("a Content-Type header is required")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", unsupportedMediaType("the Content-Type header is malformed")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return "", unsupportedMediaType("the only supported charset is utf-8")
	}
	return mt, nil
}

// requireJSON checks that the body is declared as JSON (one of accepted).
func requireJSON(r *http.Request, accepted ...string) error {
	mt, err := mediaType(r)
	if err != nil {
		return err
	}
	if len(accepted) == 0 {
		accepted = []string{mediaJSON}
	}
	for _, a := range accepted {
		if mt == a {
			return nil
		}
	}
	return unsupportedMediaType("the request body must be " + strings.Join(accepted, " or "))
}

// readJSON checks the Content-Type (application/json, or one of accepted)
// and decodes the body strictly into dst.
func readJSON[T any](r *http.Request, dst *T, accepted ...string) error {
	if err := requireJSON(r, accepted...); err != nil {
		return err
	}
	return decodeJSON(r, dst)
}

// decodeJSON reads exactly one JSON object from the (size-limited) body into
// dst (T must be a struct of flat fields): unknown fields, a type mismatch,
// a null or non-object document and trailing data are 400s naming the field
// where possible; a body over the limit is a 413. Keys must match the field
// names exactly and appear once: encoding/json would otherwise accept "Name"
// for "name" and let a repeated key silently win.
func decodeJSON[T any](r *http.Request, dst *T) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return payloadTooLarge(mbe.Limit)
		}
		return badRequest("", "the request body could not be read")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var v *T
	if err := dec.Decode(&v); err != nil {
		return decodeError(err)
	}
	if v == nil {
		return badRequest("", "the request body must be a JSON object, not null")
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return badRequest("", "the request body must hold a single JSON object and nothing after it")
	}
	if err := checkKeys(raw, jsonFieldNames(reflect.TypeFor[T]())); err != nil {
		return err
	}
	*dst = *v
	return nil
}

// checkKeys walks the top-level keys of the JSON object raw (already known to
// be well-formed) and refuses a key that is not exactly one of names, or that
// repeats.
func checkKeys(raw []byte, names map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return decodeError(err)
	}
	seen := make(map[string]bool, len(names))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return decodeError(err)
		}
		key, _ := tok.(string)
		if !names[key] {
			return badRequest(key, "unknown field "+strconv.Quote(key)+" (field names are case-sensitive)")
		}
		if seen[key] {
			return badRequest(key, "field "+strconv.Quote(key)+" is given more than once")
		}
		seen[key] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return decodeError(err)
		}
	}
	return nil
}

// jsonFieldNames returns the JSON names of struct type t's fields.
func jsonFieldNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names[name] = true
	}
	return names
}

// decodeError turns a json.Decoder error into a 400 (or 413) problem.
func decodeError(err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return payloadTooLarge(mbe.Limit)
	case errors.Is(err, io.EOF):
		return badRequest("", "the request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the request body is truncated JSON")
	case errors.As(err, &syn):
		return badRequest("", "the request body is malformed JSON (at byte "+strconv.FormatInt(syn.Offset, 10)+")")
	case errors.As(err, &typ):
		switch {
		case typ.Field == "":
			return badRequest("", "the request body must be a JSON object")
		case typ.Type == nil:
			return badRequest(typ.Field, "field "+typ.Field+" has the wrong type")
		}
		return badRequest(typ.Field, "field "+typ.Field+" must be "+jsonKind(typ.Type.Kind().String()))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		return badRequest(name, "unknown field "+strconv.Quote(name))
	}
	return badRequest("", "the request body could not be read as JSON")
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "int", "int8", "int16", "int32", "int64":
		return "an integer within range"
	case "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number within range"
	case "slice", "array":
		return "an array"
	}
	return "an object"
}

// writeJSON sends v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		// Only a programming error (an unencodable DTO) gets here.
		writeProblem(w, internalProblem())
		return
	}
	w.Header().Set("Content-Type", mediaJSON)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// optional is a JSON field of a partial update that tells "absent" from
// "null" from a value.
type optional[T any] struct {
	Set   bool // the field was present
	Null  bool // the field was null
	Value T
}

// UnmarshalJSON records presence, null, or the value.
func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// utc normalises timestamps in responses.
func utc(t time.Time) time.Time { return t.UTC() }
