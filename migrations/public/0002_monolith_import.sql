-- Progress of imports from a monolithic (single-schema) database: one row per
-- source company, so that a rerun skips the companies already imported and
-- retries the failed ones. source_url_hash identifies the source (see
-- postgres.MonolithImporter); it never holds the URL or its credentials.
-- An imported row is written in the same transaction as the tenant it
-- describes; deleting that company deletes the row (a rerun would import the
-- company again).
CREATE TABLE public.monolith_imports (
    source_url_hash   text        NOT NULL,
    source_company_id bigint      NOT NULL,
    company_id        bigint      REFERENCES public.companies (id) ON DELETE CASCADE,
    name              text        NOT NULL DEFAULT '',
    status            text        NOT NULL CHECK (status IN ('imported', 'failed')),
    error             text        NOT NULL DEFAULT '',
    rows              jsonb       NOT NULL DEFAULT '{}'::jsonb,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_url_hash, source_company_id),
    CHECK ((status = 'imported') = (company_id IS NOT NULL))
);
CREATE INDEX monolith_imports_company_id_idx ON public.monolith_imports (company_id);
