package postgres

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
	"github.com/schemata/schemata/tenancy"
)

var (
	_ ports.CompanyRepository = (*CompanyRepository)(nil)
	_ tenancy.DirectorySource = (*CompanyRepository)(nil)
)

// companyRow is a row of public.companies.
type companyRow struct {
	bun.BaseModel `bun:"table:public.companies,alias:c"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
}

func (r companyRow) domain() domain.Company {
	return domain.Company{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt}
}

// CompanyRepository reads public.companies. It implements
// ports.CompanyRepository and, for the tenant directory cache,
// tenancy.DirectorySource. It needs no tenant scope; inside a unit of work it
// joins it.
type CompanyRepository struct {
	db *bun.DB
}

// NewCompanyRepository returns a CompanyRepository over db.
func NewCompanyRepository(db *bun.DB) *CompanyRepository {
	return &CompanyRepository{db: db}
}

// Get returns the company id; NotFound when it does not exist.
func (r *CompanyRepository) Get(ctx context.Context, id tenancy.CompanyID) (domain.Company, error) {
	if !id.Valid() {
		return domain.Company{}, domain.NotFound("company")
	}
	var row companyRow
	err := PublicHandle(ctx, r.db).NewSelect().
		Model(&row).
		Where("c.id = ?", int64(id)).
		Scan(ctx)
	if err != nil {
		return domain.Company{}, rowError(err, "company")
	}
	return row.domain(), nil
}

// List returns one page of companies in id order.
func (r *CompanyRepository) List(ctx context.Context, page domain.Page) ([]domain.Company, error) {
	var rows []companyRow
	err := keyset(PublicHandle(ctx, r.db).NewSelect().Model(&rows), page).Scan(ctx)
	if err != nil {
		return nil, mapError(err)
	}
	out := make([]domain.Company, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out, nil
}

// CompanyExists reports whether company id exists, with one primary-key
// lookup. An invalid id does not exist.
func (r *CompanyRepository) CompanyExists(ctx context.Context, id tenancy.CompanyID) (bool, error) {
	if !id.Valid() {
		return false, nil
	}
	var exists bool
	err := PublicHandle(ctx, r.db).
		NewRaw("SELECT EXISTS (SELECT 1 FROM public.companies WHERE id = ?)", int64(id)).
		Scan(ctx, &exists)
	if err != nil {
		return false, mapError(err)
	}
	return exists, nil
}
