package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.uber.org/fx"
	"golang.org/x/term"

	"github.com/schemata/schemata/adapters/postgres"
	"github.com/schemata/schemata/app"
	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/tenancy"
)

// Exit codes that scripts can trust.
const (
	exitTenantFailed = 1 // the command ran; at least one tenant failed or drifted
	exitCannotRun    = 2 // the command could not run: configuration, database, refused, busy
)

// exitError carries an exit code to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// ExitCode implements kong.ExitCoder.
func (e *exitError) ExitCode() int { return e.code }

func failedTenants(format string, args ...any) error {
	return &exitError{code: exitTenantFailed, err: fmt.Errorf(format, args...)}
}

func cannotRun(err error) error {
	var ee *exitError
	if err == nil || errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitCannotRun, err: err}
}

// TenantsCmd groups the fleet operations.
type TenantsCmd struct {
	List    TenantsListCmd    `cmd:"" help:"List tenants with their schema version and status."`
	Create  TenantsCreateCmd  `cmd:"" help:"Provision a tenant (company row, schema, migrations, seed) in one transaction."`
	Drop    TenantsDropCmd    `cmd:"" help:"Drop a tenant: its schema and company row together."`
	Migrate TenantsMigrateCmd `cmd:"" help:"Bring tenant schemas to the latest version."`
	Status  TenantsStatusCmd  `cmd:"" help:"Fleet migration status from the ledger."`
	Verify  TenantsVerifyCmd  `cmd:"" help:"Compare each tenant schema's real structure with its recorded version; find orphans."`
	Export  TenantsExportCmd  `cmd:"" help:"Export one tenant (schema version and every row) to a file."`
	Import  TenantsImportCmd  `cmd:"" help:"Import a tenant file as a new company."`
}

// Output flags shared by the fleet commands.
type Output struct {
	JSON bool `name:"json" help:"Machine-readable JSON on stdout."`
}

// fleet is the running graph of a fleet command.
type fleet struct {
	migrator    *postgres.TenantMigrator
	verifier    *postgres.Verifier
	transfer    *postgres.Transfer
	monolith    *postgres.MonolithImporter
	companies   *app.Companies
	provisioner *postgres.Provisioner
}

// withFleet starts the database part of the graph, runs fn with a
// platform-admin context that is cancelled on SIGINT/SIGTERM, and stops.
func withFleet(g *Globals, log *slog.Logger, migratePublic bool, fn func(ctx context.Context, f *fleet) error) error {
	opts, err := databaseOptions(g, log, migratePublic)
	if err != nil {
		return cannotRun(err)
	}
	var f fleet
	fxApp := fx.New(opts,
		fx.Provide(app.NewCompanies),
		fx.Populate(&f.migrator, &f.verifier, &f.transfer, &f.monolith, &f.companies, &f.provisioner))
	if err := fxApp.Err(); err != nil {
		return cannotRun(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx = app.WithPrincipal(ctx, app.Principal{PlatformAdmin: true})
	startCtx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	if err := fxApp.Start(startCtx); err != nil {
		return cannotRun(err)
	}
	runErr := fn(ctx, &f)
	stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancelStop()
	if err := fxApp.Stop(stopCtx); err != nil && runErr == nil {
		return cannotRun(err)
	}
	return cannotRun(runErr)
}

// stdout and stderr are variables so that tests can capture them.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
	stdin  io.Reader = os.Stdin
)

func printJSON(v any) error {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(header string, rows func(w io.Writer)) {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	rows(tw)
	_ = tw.Flush()
}

// progress returns a progress bar on stderr when it is a terminal and JSON is
// off; otherwise a no-op bar.
func progress(o Output, total int, what string) *progressbar.ProgressBar {
	if o.JSON || !isTerminal(stderr) {
		return progressbar.DefaultSilent(int64(total), what)
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks the operator to type want, unless yes. With no terminal on
// stdin it refuses rather than guess.
func confirm(yes bool, prompt, want string) error {
	if yes {
		return nil
	}
	f, ok := stdin.(*os.File)
	if ok && !term.IsTerminal(int(f.Fd())) {
		return fmt.Errorf("refusing: %s; pass --yes to confirm non-interactively", prompt)
	}
	fmt.Fprintf(stderr, "%s\nType %q to confirm: ", prompt, want)
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("refusing: no confirmation read")
	}
	if strings.TrimSpace(line) != want {
		return fmt.Errorf("refusing: confirmation did not match")
	}
	return nil
}

func parseIDs(ss []string) ([]tenancy.CompanyID, error) {
	ids := make([]tenancy.CompanyID, 0, len(ss))
	for _, s := range ss {
		id, err := tenancy.ParseCompanyID(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("bad tenant id %q: %w", s, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

type statusJSON struct {
	CompanyID  int64     `json:"company_id"`
	Name       string    `json:"name"`
	Version    int64     `json:"version"`
	Latest     int64     `json:"latest"`
	Status     string    `json:"status"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	UpdatedAt  time.Time `json:"updated_at"`
}

func toStatusJSON(s []tenancy.TenantStatus) []statusJSON {
	out := make([]statusJSON, len(s))
	for i, t := range s {
		out[i] = statusJSON{CompanyID: int64(t.CompanyID), Name: t.Name, Version: t.Version, Latest: t.Latest,
			Status: t.Status, Error: t.Error, DurationMS: t.Duration.Milliseconds(), UpdatedAt: t.UpdatedAt}
	}
	return out
}

func printStatus(o Output, st []tenancy.TenantStatus) error {
	if o.JSON {
		return printJSON(toStatusJSON(st))
	}
	counts := map[string]int{}
	table("ID\tNAME\tVERSION\tLATEST\tSTATUS\tUPDATED\tERROR", func(w io.Writer) {
		for _, t := range st {
			counts[t.Status]++
			fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\t%s\t%s\n", t.CompanyID, t.Name, t.Version, t.Latest, t.Status,
				t.UpdatedAt.UTC().Format(time.RFC3339), oneLine(t.Error))
		}
	})
	fmt.Fprintf(stdout, "\n%d tenant(s): %d ok, %d pending, %d failed, %d missing\n", len(st),
		counts["ok"], counts["pending"], counts["failed"], counts["missing"])
	return nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}

// TenantsListCmd lists tenants.
type TenantsListCmd struct {
	Output
}

// Run lists the fleet.
func (c *TenantsListCmd) Run(g *Globals, log *slog.Logger) error {
	return withFleet(g, log, false, func(ctx context.Context, f *fleet) error {
		st, err := f.migrator.Status(ctx)
		if err != nil {
			return err
		}
		return printStatus(c.Output, st)
	})
}

// TenantsStatusCmd prints the ledger; exits 1 when any tenant is not ok.
type TenantsStatusCmd struct {
	Output
}

// Run prints the fleet status.
func (c *TenantsStatusCmd) Run(g *Globals, log *slog.Logger) error {
	return withFleet(g, log, false, func(ctx context.Context, f *fleet) error {
		st, err := f.migrator.Status(ctx)
		if err != nil {
			return err
		}
		if err := printStatus(c.Output, st); err != nil {
			return err
		}
		bad := 0
		for _, t := range st {
			if t.Status != "ok" {
				bad++
			}
		}
		if bad > 0 {
			return failedTenants("%d tenant(s) not at the latest version or failed", bad)
		}
		return nil
	})
}

// TenantsCreateCmd provisions a tenant.
type TenantsCreateCmd struct {
	Output
	Name string `name:"name" required:"" help:"Company name."`
}

// Run creates the tenant.
func (c *TenantsCreateCmd) Run(g *Globals, log *slog.Logger) error {
	return withFleet(g, log, true, func(ctx context.Context, f *fleet) error {
		co, err := f.companies.Create(ctx, c.Name)
		if err != nil {
			return err
		}
		if c.JSON {
			return printJSON(map[string]any{"id": co.ID, "name": co.Name, "schema": tenancy.CompanyID(co.ID).Schema(), "created_at": co.CreatedAt})
		}
		fmt.Fprintf(stdout, "created tenant %d (%s) in schema %s\n", co.ID, co.Name, tenancy.CompanyID(co.ID).Schema())
		return nil
	})
}

// TenantsDropCmd drops a tenant.
type TenantsDropCmd struct {
	Output
	ID    string `arg:"" help:"Tenant (company) id."`
	Force bool   `name:"force" help:"Drop even when the tenant still has users (their logins go too)."`
	Yes   bool   `name:"yes" short:"y" help:"Do not ask for confirmation."`
}

// Run drops the tenant after confirmation.
func (c *TenantsDropCmd) Run(g *Globals, log *slog.Logger) error {
	id, err := tenancy.ParseCompanyID(c.ID)
	if err != nil {
		return cannotRun(fmt.Errorf("bad tenant id %q: %w", c.ID, err))
	}
	return withFleet(g, log, false, func(ctx context.Context, f *fleet) error {
		co, err := f.companies.Get(ctx, id)
		if err != nil {
			return err
		}
		what := fmt.Sprintf("This drops tenant %d (%s): schema %s and every row in it.", id, co.Name, id.Schema())
		if c.Force {
			what += " --force: its users and their logins are deleted too."
		}
		if err := confirm(c.Yes, what, id.String()); err != nil {
			return err
		}
		if c.Force {
			err = f.companies.Purge(ctx, id)
		} else {
			err = f.companies.Delete(ctx, id)
		}
		if err != nil {
			if domain.IsCode(err, domain.CodeConflict) {
				return fmt.Errorf("%w (use --force to drop it with its users)", err)
			}
			return err
		}
		if c.JSON {
			return printJSON(map[string]any{"id": int64(id), "dropped": true})
		}
		fmt.Fprintf(stdout, "dropped tenant %d (%s)\n", id, co.Name)
		return nil
	})
}

// TenantsMigrateCmd runs the fleet migrator.
type TenantsMigrateCmd struct {
	Output
	Parallel   int      `name:"parallel" env:"MIGRATE_PARALLEL" default:"0" help:"Tenants migrated at once (0: number of CPUs, at least 2)."`
	Only       []string `name:"only" sep:"," help:"Only these tenant ids (comma-separated)."`
	OnlyFailed bool     `name:"only-failed" help:"Only tenants whose last run failed."`
	DryRun     bool     `name:"dry-run" help:"List what would run; change nothing."`
	Wait       bool     `name:"wait" help:"Wait for another running fleet migration instead of exiting."`
}

type planJSON struct {
	CompanyID int64 `json:"company_id"`
	From      int64 `json:"from"`
	To        int64 `json:"to"`
}

type resultJSON struct {
	CompanyID  int64  `json:"company_id"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// Run migrates; exit 1 when any tenant failed.
func (c *TenantsMigrateCmd) Run(g *Globals, log *slog.Logger) error {
	only, err := parseIDs(c.Only)
	if err != nil {
		return cannotRun(err)
	}
	return withFleet(g, log, !c.DryRun, func(ctx context.Context, f *fleet) error {
		var bar *progressbar.ProgressBar
		rep, err := f.migrator.Run(ctx, postgres.FleetOptions{
			Parallel: c.Parallel, Only: only, OnlyFailed: c.OnlyFailed, DryRun: c.DryRun, Wait: c.Wait,
			OnPlan: func(plans []tenancy.Plan) {
				if !c.DryRun && len(plans) > 0 {
					bar = progress(c.Output, len(plans), "migrating tenants")
				}
			},
			OnResult: func(tenancy.Result) {
				if bar != nil {
					_ = bar.Add(1)
				}
			},
		})
		if bar != nil {
			_ = bar.Finish()
		}
		if errors.Is(err, postgres.ErrFleetBusy) {
			return cannotRun(err)
		}
		if perr := printMigrateReport(c, rep); perr != nil {
			return perr
		}
		if err != nil {
			failed := 0
			for _, r := range rep.Results {
				if r.Err != nil {
					failed++
				}
			}
			if failed > 0 {
				return failedTenants("%d tenant(s) failed; rerun with --only-failed after fixing them", failed)
			}
			return err
		}
		return nil
	})
}

func printMigrateReport(c *TenantsMigrateCmd, rep postgres.FleetReport) error {
	if c.JSON {
		out := struct {
			Latest      int64        `json:"latest"`
			DryRun      bool         `json:"dry_run"`
			NothingToDo bool         `json:"nothing_to_do"`
			Planned     []planJSON   `json:"planned"`
			Results     []resultJSON `json:"results"`
		}{Latest: rep.Latest, DryRun: c.DryRun, NothingToDo: rep.NothingToDo, Planned: []planJSON{}, Results: []resultJSON{}}
		for _, p := range rep.Planned {
			out.Planned = append(out.Planned, planJSON{int64(p.CompanyID), p.From, p.To})
		}
		for _, r := range rep.Results {
			out.Results = append(out.Results, toResultJSON(r))
		}
		return printJSON(out)
	}
	if rep.NothingToDo {
		fmt.Fprintf(stdout, "nothing to do: every tenant is at version %d\n", rep.Latest)
		return nil
	}
	if c.DryRun {
		table("ID\tFROM\tTO", func(w io.Writer) {
			for _, p := range rep.Planned {
				fmt.Fprintf(w, "%d\t%d\t%d\n", p.CompanyID, p.From, p.To)
			}
		})
		fmt.Fprintf(stdout, "\ndry run: %d tenant(s) would be migrated to version %d\n", len(rep.Planned), rep.Latest)
		return nil
	}
	failed := 0
	table("ID\tSTATUS\tDURATION\tERROR", func(w io.Writer) {
		for _, r := range rep.Results {
			j := toResultJSON(r)
			if r.Err != nil {
				failed++
			}
			fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", r.Company, j.Status, r.Duration.Round(time.Millisecond), oneLine(j.Error))
		}
	})
	fmt.Fprintf(stdout, "\n%d tenant(s) migrated to version %d: %d ok, %d failed\n", len(rep.Results), rep.Latest, len(rep.Results)-failed, failed)
	return nil
}

func toResultJSON(r tenancy.Result) resultJSON {
	j := resultJSON{CompanyID: int64(r.Company), Status: "ok", DurationMS: r.Duration.Milliseconds()}
	if r.Err != nil {
		j.Status, j.Error = "failed", r.Err.Error()
	}
	return j
}

// TenantsVerifyCmd reports drift and orphans; exit 1 when any is found.
type TenantsVerifyCmd struct {
	Output
	IDs []string `arg:"" optional:"" help:"Tenant ids to verify (default: all)."`
}

// Run verifies.
func (c *TenantsVerifyCmd) Run(g *Globals, log *slog.Logger) error {
	only, err := parseIDs(c.IDs)
	if err != nil {
		return cannotRun(err)
	}
	return withFleet(g, log, false, func(ctx context.Context, f *fleet) error {
		st, err := f.migrator.Status(ctx)
		if err != nil {
			return err
		}
		total := len(st)
		if len(only) > 0 {
			total = len(only)
		}
		bar := progress(c.Output, total, "verifying tenants")
		rep, err := f.verifier.Verify(ctx, only, func(postgres.TenantDrift) { _ = bar.Add(1) })
		_ = bar.Finish()
		if err != nil {
			return err
		}
		if c.JSON {
			type driftJSON struct {
				CompanyID int64    `json:"company_id"`
				Version   int64    `json:"version"`
				OK        bool     `json:"ok"`
				Drift     []string `json:"drift"`
			}
			out := struct {
				OK                     bool        `json:"ok"`
				Tenants                []driftJSON `json:"tenants"`
				OrphanSchemas          []string    `json:"orphan_schemas"`
				CompaniesWithoutSchema []int64     `json:"companies_without_schema"`
			}{OK: rep.OK(), Tenants: []driftJSON{}, OrphanSchemas: append([]string{}, rep.OrphanSchemas...), CompaniesWithoutSchema: []int64{}}
			for _, t := range rep.Tenants {
				out.Tenants = append(out.Tenants, driftJSON{int64(t.CompanyID), t.Version, len(t.Drift) == 0, append([]string{}, t.Drift...)})
			}
			for _, id := range rep.CompaniesWithoutSchema {
				out.CompaniesWithoutSchema = append(out.CompaniesWithoutSchema, int64(id))
			}
			if err := printJSON(out); err != nil {
				return err
			}
		} else {
			drifted := 0
			for _, t := range rep.Tenants {
				if len(t.Drift) == 0 {
					continue
				}
				drifted++
				fmt.Fprintf(stdout, "tenant %d (version %d): %d difference(s)\n", t.CompanyID, t.Version, len(t.Drift))
				for _, d := range t.Drift {
					fmt.Fprintf(stdout, "  - %s\n", d)
				}
			}
			for _, s := range rep.OrphanSchemas {
				fmt.Fprintf(stdout, "orphan schema %s: no company row\n", s)
			}
			for _, id := range rep.CompaniesWithoutSchema {
				fmt.Fprintf(stdout, "company %d has no schema %s\n", id, id.Schema())
			}
			fmt.Fprintf(stdout, "\n%d tenant(s) verified: %d match, %d drifted; %d orphan schema(s); %d company(ies) without schema\n",
				len(rep.Tenants), len(rep.Tenants)-drifted, drifted, len(rep.OrphanSchemas), len(rep.CompaniesWithoutSchema))
		}
		if !rep.OK() {
			return failedTenants("drift or orphans found")
		}
		return nil
	})
}

// TenantsExportCmd writes one tenant to a file.
type TenantsExportCmd struct {
	Output
	ID  string `arg:"" help:"Tenant (company) id."`
	Out string `name:"out" required:"" help:"File to write (refuses to overwrite; '-' for stdout)."`
}

// Run exports the tenant; the file is written to a temporary name and
// renamed when complete, so a failed export leaves no partial file.
func (c *TenantsExportCmd) Run(g *Globals, log *slog.Logger) error {
	id, err := tenancy.ParseCompanyID(c.ID)
	if err != nil {
		return cannotRun(fmt.Errorf("bad tenant id %q: %w", c.ID, err))
	}
	return withFleet(g, log, false, func(ctx context.Context, f *fleet) error {
		var sum postgres.TransferSummary
		if c.Out == "-" {
			sum, err = f.transfer.Export(ctx, id, stdout)
			return err
		}
		if _, err := os.Stat(c.Out); err == nil {
			return fmt.Errorf("%s exists; refusing to overwrite", c.Out)
		}
		tmp, err := os.CreateTemp(dirOf(c.Out), ".schemata-export-*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		sum, err = f.transfer.Export(ctx, id, tmp)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), c.Out); err != nil {
			return err
		}
		return printTransfer(c.Output, "exported", sum, c.Out)
	})
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

func printTransfer(o Output, verb string, s postgres.TransferSummary, file string) error {
	var rows int64
	for _, n := range s.Tables {
		rows += n
	}
	if o.JSON {
		return printJSON(map[string]any{"company_id": int64(s.CompanyID), "name": s.Name, "version": s.Version,
			"tables": s.Tables, "rows": rows, "file": file, "result": verb})
	}
	fmt.Fprintf(stdout, "%s tenant %d (%s) at version %d: %d table(s), %d row(s) — %s\n", verb, s.CompanyID, s.Name, s.Version, len(s.Tables), rows, file)
	return nil
}

// TenantsImportCmd loads a tenant file as a new company.
type TenantsImportCmd struct {
	Output
	File string `name:"file" required:"" help:"File written by 'tenants export'."`
	Name string `name:"name" help:"Company name (default: the exported one)."`
}

// Run imports the file.
func (c *TenantsImportCmd) Run(g *Globals, log *slog.Logger) error {
	return withFleet(g, log, true, func(ctx context.Context, f *fleet) error {
		in, err := os.Open(c.File)
		if err != nil {
			return err
		}
		defer in.Close()
		sum, err := f.transfer.Import(ctx, bufio.NewReaderSize(in, 1<<20), c.Name)
		if err != nil {
			return err
		}
		return printTransfer(c.Output, "imported", sum, c.File)
	})
}

// ImportMonolithCmd imports every company of a single-schema database.
type ImportMonolithCmd struct {
	Output
	From         string `name:"from" required:"" help:"PostgreSQL URL of the monolithic database."`
	SourceSchema string `name:"source-schema" default:"public" help:"Schema holding companies and the tenant tables."`
	DropSource   bool   `name:"drop-source" help:"After a fully verified run, drop the source tables."`
	Yes          bool   `name:"yes" short:"y" help:"Do not ask for confirmation (with --drop-source)."`
}

// Run imports; exit 1 when any company failed.
func (c *ImportMonolithCmd) Run(g *Globals, log *slog.Logger) error {
	if c.DropSource {
		if err := confirm(c.Yes, "--drop-source drops the source tables after a fully verified import.", "drop"); err != nil {
			return cannotRun(err)
		}
	}
	return withFleet(g, log, true, func(ctx context.Context, f *fleet) error {
		rep, err := f.monolith.Run(ctx, postgres.MonolithOptions{SourceURL: c.From, SourceSchema: c.SourceSchema, DropSource: c.DropSource,
			OnCompany: func(r postgres.MonolithCompanyResult) {
				if !c.JSON {
					line := fmt.Sprintf("%-12s source company %d (%s)", r.Status, r.SourceCompanyID, r.Name)
					if r.CompanyID != 0 {
						line += fmt.Sprintf(" → tenant %d", r.CompanyID)
					}
					if r.Err != nil {
						line += ": " + oneLine(r.Err.Error())
					}
					fmt.Fprintln(stderr, line)
				}
			}})
		failed := 0
		for _, r := range rep.Companies {
			if r.Status == "failed" {
				failed++
			}
		}
		if c.JSON {
			type companyJSON struct {
				SourceCompanyID int64            `json:"source_company_id"`
				Name            string           `json:"name"`
				CompanyID       int64            `json:"company_id,omitempty"`
				Status          string           `json:"status"`
				Rows            map[string]int64 `json:"rows,omitempty"`
				Error           string           `json:"error,omitempty"`
			}
			out := struct {
				Verified      bool          `json:"verified"`
				SourceDropped bool          `json:"source_dropped"`
				Companies     []companyJSON `json:"companies"`
			}{Verified: rep.Verified, SourceDropped: rep.SourceDropped, Companies: []companyJSON{}}
			for _, r := range rep.Companies {
				j := companyJSON{SourceCompanyID: r.SourceCompanyID, Name: r.Name, CompanyID: int64(r.CompanyID), Status: r.Status, Rows: r.Rows}
				if r.Err != nil {
					j.Error = r.Err.Error()
				}
				out.Companies = append(out.Companies, j)
			}
			if perr := printJSON(out); perr != nil {
				return perr
			}
		} else {
			fmt.Fprintf(stdout, "%d compan(ies): %d imported or already done, %d failed; verified: %t; source dropped: %t\n",
				len(rep.Companies), len(rep.Companies)-failed, failed, rep.Verified, rep.SourceDropped)
		}
		if failed > 0 {
			return failedTenants("%d compan(ies) failed; fix them and rerun (finished ones are skipped)", failed)
		}
		return err
	})
}
