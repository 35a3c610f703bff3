-- Public schema: only what is shared by every tenant. Every name is qualified.

CREATE TABLE public.companies (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- email -> company, used at login. Emails are stored lower-cased and are unique
-- across the whole platform.
CREATE TABLE public.user_company_lookup (
    email      text        PRIMARY KEY CHECK (email = lower(email)),
    company_id bigint      NOT NULL REFERENCES public.companies (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX user_company_lookup_company_id_idx ON public.user_company_lookup (company_id);

-- Append-only security log. company_id has no foreign key so that events
-- outlive the company they describe.
CREATE TABLE public.audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    company_id bigint,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    target     text        NOT NULL DEFAULT '',
    detail     jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_company_id_at_idx ON public.audit_log (company_id, at);

CREATE FUNCTION public.audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON public.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_log_append_only();

-- The fleet ledger: one row per tenant, updated in the same transaction as
-- each tenant migration (status ok) and after a failed one (status failed).
CREATE TABLE public.tenant_fleet (
    company_id  bigint      PRIMARY KEY REFERENCES public.companies (id) ON DELETE CASCADE,
    version     bigint      NOT NULL DEFAULT 0,
    status      text        NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'failed')),
    error       text        NOT NULL DEFAULT '',
    duration_ms bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_fleet_version_idx ON public.tenant_fleet (version);
