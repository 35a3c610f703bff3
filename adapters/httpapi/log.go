package httpapi

import (
	"context"
	"log/slog"
)

// Log attribute keys added to records logged with a request's context.
const (
	logKeyRequestID = "request_id"
	logKeyCompanyID = "company_id"
)

// NewLogHandler wraps inner so that every record logged with a context that
// belongs to an HTTP request (slog.InfoContext(ctx, …) in handlers and use
// cases) carries request_id and, once the caller is authenticated, company_id.
// A record that already has an attribute of the same key keeps its own. Like
// any attribute added by a handler, they are nested under a group opened with
// Logger.WithGroup. cmd installs it around its JSON or text handler.
func NewLogHandler(inner slog.Handler) slog.Handler {
	return &logHandler{inner: inner}
}

type logHandler struct {
	inner slog.Handler
}

func (h *logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *logHandler) Handle(ctx context.Context, r slog.Record) error {
	reqID, hasReq := RequestIDFromContext(ctx)
	company, hasCompany := companyForLog(ctx)
	if !hasReq && !hasCompany {
		return h.inner.Handle(ctx, r)
	}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case logKeyRequestID:
			hasReq = false
		case logKeyCompanyID:
			hasCompany = false
		}
		return hasReq || hasCompany
	})
	if !hasReq && !hasCompany {
		return h.inner.Handle(ctx, r)
	}
	r = r.Clone()
	if hasReq {
		r.AddAttrs(slog.String(logKeyRequestID, reqID))
	}
	if hasCompany {
		r.AddAttrs(slog.Int64(logKeyCompanyID, int64(company)))
	}
	return h.inner.Handle(ctx, r)
}

func (h *logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logHandler{inner: h.inner.WithAttrs(attrs)}
}

func (h *logHandler) WithGroup(name string) slog.Handler {
	return &logHandler{inner: h.inner.WithGroup(name)}
}
