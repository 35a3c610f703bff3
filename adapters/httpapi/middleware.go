package httpapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
)

// headerRequestID carries the request id in and out.
const headerRequestID = "X-Request-Id"

// requestID accepts a sane incoming X-Request-Id (validRequestID) or makes
// one, echoes it in the response and puts it in the request context.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(headerRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(headerRequestID, id)
		next.ServeHTTP(w, r.WithContext(withReqInfo(r.Context(), &reqInfo{id: id})))
	})
}

// statusWriter records the status and size of a response for the access log
// and tells the recoverer whether a response has started.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (sw *statusWriter) WriteHeader(code int) {
	if sw.status == 0 && code >= 200 { // 1xx are informational, not the answer
		sw.status = code
	}
	sw.ResponseWriter.WriteHeader(code)
}

func (sw *statusWriter) Write(b []byte) (int, error) {
	if sw.status == 0 {
		sw.status = http.StatusOK
	}
	n, err := sw.ResponseWriter.Write(b)
	sw.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (sw *statusWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }

// accessLog logs one line per request: method, route pattern, status,
// duration, bytes, request id and, when authenticated, company id.
func (a *api) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			if status == 0 {
				status = http.StatusOK // the handler wrote nothing: net/http answers 200
			}
			attrs := []slog.Attr{
				slog.String("method", r.Method),
				slog.String("path", routePattern(r)),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.Int64("bytes", sw.bytes),
			}
			if ri := reqInfoFrom(r.Context()); ri != nil {
				attrs = append(attrs, slog.String(logKeyRequestID, ri.id))
				company, admin := ri.principal()
				if company.Valid() {
					attrs = append(attrs, slog.Int64(logKeyCompanyID, int64(company)))
				}
				if admin {
					attrs = append(attrs, slog.Bool("platform_admin", true))
				}
			}
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			a.log.LogAttrs(r.Context(), level, "http request", attrs...)
		}()
		next.ServeHTTP(sw, r)
	})
}

// routePattern is the matched chi route ("/api/v1/companies/{id}"), so that
// logs group by endpoint and never carry ids or junk from the URL. Unmatched
// requests log a fixed placeholder.
func routePattern(r *http.Request) string {
	if rctx := chi.RouteContext(r.Context()); rctx != nil {
		if p := rctx.RoutePattern(); p != "" {
			return p
		}
	}
	return "(unmatched)"
}

// recoverer turns a panic into a logged stack trace and a 500 problem (when
// no response has started). http.ErrAbortHandler is re-panicked, as net/http
// expects.
func (a *api) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			a.log.ErrorContext(r.Context(), "panic while serving a request",
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				return // too late for a problem body; the connection carries what was written
			}
			writeProblem(w, internalProblem())
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody caps every request body at max bytes: a declared Content-Length
// over the limit is refused at once, anything else is cut off by
// http.MaxBytesReader and answered 413 by the decoder.
func (a *api) limitBody(next http.Handler) http.Handler {
	limit := a.cfg.MaxBodyBytes
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			// Do not read the body; tell net/http not to keep the connection.
			w.Header().Set("Connection", "close")
			writeProblem(w, payloadTooLargeProblem(limit))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets headers every API response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
