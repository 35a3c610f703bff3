package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

// auditEnv is an audit log, the unit of work of its store, a tenant of it,
// and a way to read back the events recorded with an action.
type auditEnv struct {
	Log     ports.AuditLog
	UoW     ports.UnitOfWork
	Company tenancy.CompanyID
	Events  func(t *testing.T, action string) []domain.AuditEvent
}

// TestRepoAuditLog runs the audit log contract against AuditLog and checks
// how events are stored.
func TestRepoAuditLog(t *testing.T) {
	t.Parallel()
	store := newRepoStore(t)
	log := postgres.NewAuditLog(store.db)
	testAuditLogContract(t, func(t *testing.T) auditEnv {
		return auditEnv{Log: log, UoW: store.uow, Company: store.newTenant(t), Events: func(t *testing.T, action string) []domain.AuditEvent {
			t.Helper()
			var rows []struct {
				ID        int64             `bun:"id"`
				At        time.Time         `bun:"at"`
				CompanyID *int64            `bun:"company_id"`
				Actor     string            `bun:"actor"`
				Action    string            `bun:"action"`
				Target    string            `bun:"target"`
				Detail    map[string]string `bun:"detail,type:jsonb"`
			}
			err := store.db.NewRaw("SELECT id, at, company_id, actor, action, target, detail FROM public.audit_log WHERE action = ? ORDER BY id", action).
				Scan(t.Context(), &rows)
			must(t, err, "read audit log")
			out := make([]domain.AuditEvent, len(rows))
			for i, r := range rows {
				out[i] = domain.AuditEvent{ID: r.ID, At: r.At, Actor: r.Actor, Action: r.Action, Target: r.Target, Detail: r.Detail}
				if r.CompanyID != nil {
					out[i].CompanyID = *r.CompanyID
				}
			}
			return out
		}}
	})

	t.Run("a company-less event stores NULL and an empty detail object", func(t *testing.T) {
		must(t, log.Record(t.Context(), domain.AuditEvent{Actor: "anonymous", Action: "pg.nulls"}), "record")
		var isNull, emptyObject bool
		err := store.db.NewRaw("SELECT company_id IS NULL, detail = '{}'::jsonb FROM public.audit_log WHERE action = 'pg.nulls'").
			Scan(t.Context(), &isNull, &emptyObject)
		must(t, err, "read")
		if !isNull || !emptyObject {
			t.Errorf("company_id IS NULL = %v, detail = '{}' = %v; want both true", isNull, emptyObject)
		}
	})
}

// testAuditLogContract checks a ports.AuditLog. newEnv returns the log and
// what the suite needs to observe it.
func testAuditLogContract(t *testing.T, newEnv func(t *testing.T) auditEnv) {
	t.Run("record outside a unit of work", func(t *testing.T) {
		env := newEnv(t)
		at := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
		in := domain.AuditEvent{At: at, CompanyID: int64(env.Company), Actor: "user:42", Action: "login.succeeded",
			Target: "user:42", Detail: map[string]string{"ip": "192.0.2.1", "quote": `it's "x"`}}
		must(t, env.Log.Record(t.Context(), in), "record")
		got := env.Events(t, in.Action)
		if len(got) != 1 {
			t.Fatalf("recorded %d events, want 1: %+v", len(got), got)
		}
		e := got[0]
		if e.ID <= 0 || !e.At.Equal(at) || e.CompanyID != in.CompanyID || e.Actor != in.Actor ||
			e.Target != in.Target || fmt.Sprint(e.Detail) != fmt.Sprint(in.Detail) {
			t.Errorf("recorded %+v, want %+v", e, in)
		}
	})

	t.Run("a zero time means now and no company means none", func(t *testing.T) {
		env := newEnv(t)
		before := time.Now().Add(-time.Hour) // generous: clocks of client and server may differ
		must(t, env.Log.Record(t.Context(), domain.AuditEvent{Actor: "anonymous", Action: "login.failed"}), "record")
		got := env.Events(t, "login.failed")
		if len(got) != 1 || got[0].At.Before(before) || got[0].CompanyID != 0 || len(got[0].Detail) != 0 {
			t.Errorf("recorded %+v, want one event stamped now, with no company and no detail", got)
		}
	})

	t.Run("actor and action are required", func(t *testing.T) {
		env := newEnv(t)
		wantCode(t, env.Log.Record(t.Context(), domain.AuditEvent{Action: "no.actor"}), domain.CodeInvalid, "no actor")
		wantCode(t, env.Log.Record(t.Context(), domain.AuditEvent{Actor: "anonymous"}), domain.CodeInvalid, "no action")
		if got := env.Events(t, "no.actor"); len(got) != 0 {
			t.Errorf("an invalid event was recorded: %+v", got)
		}
	})

	t.Run("events commit and roll back with the unit of work", func(t *testing.T) {
		env := newEnv(t)
		errAbort := errors.New("abort")
		err := env.UoW.WithinTenant(t.Context(), env.Company, func(ctx context.Context) error {
			if err := env.Log.Record(ctx, domain.AuditEvent{Actor: "user:1", Action: "uow.rolled_back"}); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("unit of work error = %v, want %v", err, errAbort)
		}
		if got := env.Events(t, "uow.rolled_back"); len(got) != 0 {
			t.Errorf("an event of a rolled back unit of work was kept: %+v", got)
		}
		err = env.UoW.WithinTenant(t.Context(), env.Company, func(ctx context.Context) error {
			return env.Log.Record(ctx, domain.AuditEvent{Actor: "user:1", Action: "uow.committed"})
		})
		must(t, err, "committed unit of work")
		if got := env.Events(t, "uow.committed"); len(got) != 1 {
			t.Errorf("a committed unit of work recorded %d events, want 1", len(got))
		}
	})

	t.Run("events can be recorded from a read-only scope", func(t *testing.T) {
		env := newEnv(t)
		err := env.UoW.ReadTenant(t.Context(), env.Company, func(ctx context.Context) error {
			return env.Log.Record(ctx, domain.AuditEvent{Actor: "user:1", Action: "cross_tenant.attempt"})
		})
		must(t, err, "record in a read scope")
		if got := env.Events(t, "cross_tenant.attempt"); len(got) != 1 {
			t.Errorf("recorded %d events from a read scope, want 1", len(got))
		}
	})
}
