package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

var _ ports.EmailLookup = (*EmailLookup)(nil)

// emailLookupRow is a row of public.user_company_lookup.
type emailLookupRow struct {
	bun.BaseModel `bun:"table:public.user_company_lookup,alias:l"`

	Email     string    `bun:"email,pk"`
	CompanyID int64     `bun:"company_id,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

// EmailLookup maps emails to their company in public.user_company_lookup,
// used at login before any tenant is known. Emails are stored lower-cased and
// are unique across all companies. Inside a unit of work it joins the
// transaction, so a claim commits or rolls back with the tenant's user row.
type EmailLookup struct {
	db *bun.DB
}

// NewEmailLookup returns an EmailLookup over db.
func NewEmailLookup(db *bun.DB) *EmailLookup {
	return &EmailLookup{db: db}
}

// Claim records email → company. An email already claimed by any company,
// in any case, is a Conflict; an unknown company is NotFound.
func (l *EmailLookup) Claim(ctx context.Context, email string, company tenancy.CompanyID) error {
	if !company.Valid() {
		return domain.NotFound("company")
	}
	row := emailLookupRow{Email: storedEmail(email), CompanyID: int64(company)}
	_, err := PublicHandle(ctx, l.db).NewInsert().
		Model(&row).
		Column("email", "company_id").
		Returning("NULL").
		Exec(ctx)
	switch {
	case err == nil:
		return nil
	case pgCode(err) == sqlstateForeignKeyViolation:
		return &domain.Error{Code: domain.CodeNotFound, Message: "company not found", Err: err}
	default:
		return conflictOn(err, sqlstateUniqueViolation, errEmailRegistered)
	}
}

// Find returns the company of email (compared case-insensitively); NotFound
// when no company has claimed it.
func (l *EmailLookup) Find(ctx context.Context, email string) (tenancy.CompanyID, error) {
	var row emailLookupRow
	err := PublicHandle(ctx, l.db).NewSelect().
		Model(&row).
		Column("company_id").
		Where("l.email = ?", storedEmail(email)).
		Scan(ctx)
	if err != nil {
		return 0, rowError(err, "email")
	}
	return tenancy.CompanyID(row.CompanyID), nil
}

// Release removes email. Releasing an email nobody holds is not an error, so
// that a retried user deletion converges.
func (l *EmailLookup) Release(ctx context.Context, email string) error {
	_, err := PublicHandle(ctx, l.db).NewDelete().
		Model((*emailLookupRow)(nil)).
		Where("l.email = ?", storedEmail(email)).
		Exec(ctx)
	return mapError(err)
}
