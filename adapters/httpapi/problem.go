package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
)

// problemTypePrefix starts the stable type URI of every problem: the suffix
// is the problem's code, e.g. urn:schemata:problem:not_found.
const problemTypePrefix = "urn:schemata:problem:"

// Problem codes of the HTTP layer itself, beside the domain.Code values.
const (
	codeBadRequest       = "bad_request"            // malformed JSON, unknown field, wrong type, bad query
	codeRouteNotFound    = "not_found"              // same code as domain.CodeNotFound: no probing by code
	codeMethodNotAllowed = "method_not_allowed"     // the route exists, the method does not
	codeUnsupportedMedia = "unsupported_media_type" // wrong Content-Type
	codePayloadTooLarge  = "payload_too_large"      // body over Config.MaxBodyBytes
)

// defaultRetryAfterSeconds is the Retry-After of a 429 whose error does not
// say when to retry (app.RetryAfter).
const defaultRetryAfterSeconds = 60

// problem is an RFC 9457 problem details object with Schemata's extension
// members code, field and errors.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Code     string       `json:"code"`
	Field    string       `json:"field,omitempty"`
	Errors   []fieldError `json:"errors,omitempty"`
}

// fieldError names one offending input field.
type fieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func newProblem(status int, code, detail string) problem {
	return problem{
		Type:   problemTypePrefix + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
	}
}

func (p problem) withField(field string) problem {
	if field != "" {
		p.Field = field
		p.Errors = []fieldError{{Field: field, Detail: p.Detail}}
	}
	return p
}

// requestError is a 4xx decided by the HTTP layer (before any use case ran).
type requestError struct{ p problem }

func (e *requestError) Error() string { return e.p.Code + ": " + e.p.Detail }

func badRequest(field, detail string) error {
	return &requestError{newProblem(http.StatusBadRequest, codeBadRequest, detail).withField(field)}
}

func unsupportedMediaType(detail string) error {
	return &requestError{newProblem(http.StatusUnsupportedMediaType, codeUnsupportedMedia, detail)}
}

func payloadTooLarge(limit int64) error {
	return &requestError{payloadTooLargeProblem(limit)}
}

func payloadTooLargeProblem(limit int64) problem {
	return newProblem(http.StatusRequestEntityTooLarge, codePayloadTooLarge,
		"the request body is larger than "+strconv.FormatInt(limit, 10)+" bytes")
}

// writeProblem sends p as application/problem+json. For a 401 it adds the
// WWW-Authenticate challenge (RFC 9110 requires one) unless one is set.
func writeProblem(w http.ResponseWriter, p problem) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if p.Status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		h.Set("WWW-Authenticate", `Bearer realm="schemata"`)
	}
	if p.Status == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
		h.Set("Retry-After", strconv.Itoa(defaultRetryAfterSeconds))
	}
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// problemFor maps an error to its problem. Domain errors keep their message
// (written for clients); anything unexpected becomes a generic 500 whose cause
// goes only to the log. The second result tells whether the error is a
// server-side failure to log at error level.
func problemFor(ctx context.Context, err error) (problem, bool) {
	var re *requestError
	if errors.As(err, &re) {
		return re.p, false
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return payloadTooLargeProblem(mbe.Limit), false
	}
	var de *domain.Error
	if !errors.As(err, &de) {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return newProblem(http.StatusServiceUnavailable, string(domain.CodeUnavailable), "the request timed out; try again"), true
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			// The client went away; nobody reads this answer.
			return newProblem(http.StatusServiceUnavailable, string(domain.CodeUnavailable), "the request was cancelled"), false
		}
		return internalProblem(), true
	}
	code := string(de.Code)
	switch de.Code {
	case domain.CodeInvalid:
		return newProblem(http.StatusUnprocessableEntity, code, de.Message).withField(de.Field), false
	case domain.CodeNotFound:
		return newProblem(http.StatusNotFound, code, de.Message), false
	case domain.CodeConflict:
		return newProblem(http.StatusConflict, code, de.Message), false
	case domain.CodeUnauthenticated:
		return newProblem(http.StatusUnauthorized, code, de.Message), false
	case domain.CodeForbidden:
		return newProblem(http.StatusForbidden, code, de.Message), false
	case domain.CodeTooManyRequests:
		return newProblem(http.StatusTooManyRequests, code, de.Message), false
	case domain.CodeUnavailable:
		return newProblem(http.StatusServiceUnavailable, code, de.Message), true
	}
	return internalProblem(), true
}

// retryAfterHeader is d in whole seconds, rounded up, at least 1 (RFC 9110
// §10.2.3: a non-negative integer of seconds; 0 would invite a tight loop).
func retryAfterHeader(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(secs, 1), 10)
}

func internalProblem() problem {
	return newProblem(http.StatusInternalServerError, string(domain.CodeInternal),
		"an unexpected error occurred; it has been logged")
}

// fail answers err as a problem and logs server-side failures with their
// cause (never sent to the client).
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	p, serverSide := problemFor(r.Context(), err)
	if serverSide {
		a.log.ErrorContext(r.Context(), "request failed", "status", p.Status, "err", err)
	}
	if p.Status == http.StatusTooManyRequests {
		if d, ok := app.RetryAfter(err); ok {
			w.Header().Set("Retry-After", retryAfterHeader(d))
		}
	}
	writeProblem(w, p)
}
