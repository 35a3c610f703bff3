package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/schemata/schemata/domain"
	"github.com/schemata/schemata/ports"
)

var _ ports.ComponentRepository = (*ComponentRepository)(nil)

// componentRow is a row of the tenant table components, with the names of its
// tags (scanned from an ARRAY subquery, never written).
type componentRow struct {
	bun.BaseModel `bun:"table:components,alias:c"`

	ID                 int64     `bun:"id,pk,autoincrement"`
	Name               string    `bun:"name,notnull"`
	Description        string    `bun:"description,notnull"`
	ServiceTypeID      int64     `bun:"service_type_id,notnull"`
	TeamID             int64     `bun:"team_id,notnull"`
	Lifecycle          string    `bun:"lifecycle,notnull"`
	Tier               *int      `bun:"tier"`
	RepositoryURL      string    `bun:"repository_url,notnull"`
	RegistryProviderID *int64    `bun:"registry_provider_id"`
	ImageRepository    string    `bun:"image_repository,notnull"`
	Tags               []string  `bun:"tags,array,scanonly"`
	CreatedAt          time.Time `bun:"created_at,notnull"`
	UpdatedAt          time.Time `bun:"updated_at,notnull"`
}

func (r componentRow) domain() domain.Component {
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return domain.Component{
		ID:                 r.ID,
		Name:               r.Name,
		Description:        r.Description,
		ServiceTypeID:      r.ServiceTypeID,
		TeamID:             r.TeamID,
		Lifecycle:          domain.Lifecycle(r.Lifecycle),
		Tier:               r.Tier,
		RepositoryURL:      r.RepositoryURL,
		RegistryProviderID: r.RegistryProviderID,
		ImageRepository:    r.ImageRepository,
		Tags:               tags,
		CreatedAt:          r.CreatedAt,
		UpdatedAt:          r.UpdatedAt,
	}
}

func componentsDomain(rows []componentRow) []domain.Component {
	out := make([]domain.Component, len(rows))
	for i, row := range rows {
		out[i] = row.domain()
	}
	return out
}

// componentTagsExpr selects the tag names of component c, sorted bytewise
// (COLLATE "C") like domain.NormalizeTags sorts them. It makes every
// component read one statement.
const componentTagsExpr = `ARRAY(SELECT tg.name FROM component_tags AS ct JOIN tags AS tg ON tg.id = ct.tag_id
	WHERE ct.component_id = c.id ORDER BY tg.name COLLATE "C") AS tags`

// ComponentRepository stores a tenant's components with their tags and
// dependencies. Every method needs a tenant scope in ctx (UnitOfWork) and
// returns ErrNoTenantScope without one. Every read is one statement, tags
// included.
type ComponentRepository struct {
	db *bun.DB
}

// NewComponentRepository returns a ComponentRepository over db.
func NewComponentRepository(db *bun.DB) *ComponentRepository {
	return &ComponentRepository{db: db}
}

func componentNameTaken(name string) string {
	return fmt.Sprintf("a component named %q already exists", name)
}

// selectComponents starts a SELECT of components with their tags.
func selectComponents(h Handle, model any) *bun.SelectQuery {
	return h.NewSelect().Model(model).ColumnExpr("c.*").ColumnExpr(componentTagsExpr)
}

// List returns one page of components in id order, narrowed by f: team,
// service type, lifecycle, tag name (exact), and Query, a case-insensitive
// substring of the name in which '%', '_' and '\' are taken literally.
func (r *ComponentRepository) List(ctx context.Context, f domain.ComponentFilter, page domain.Page) ([]domain.Component, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	var rows []componentRow
	q := selectComponents(h, &rows)
	if f.TeamID != 0 {
		q = q.Where("c.team_id = ?", f.TeamID)
	}
	if f.ServiceTypeID != 0 {
		q = q.Where("c.service_type_id = ?", f.ServiceTypeID)
	}
	if f.Lifecycle != "" {
		q = q.Where("c.lifecycle = ?", string(f.Lifecycle))
	}
	if f.Tag != "" {
		q = q.Where(`c.id IN (SELECT ct.component_id FROM component_tags AS ct
			JOIN tags AS tg ON tg.id = ct.tag_id WHERE tg.name = ?)`, f.Tag)
	}
	if f.Query != "" {
		q = q.Where("c.name ILIKE ?", likeContains(f.Query))
	}
	if err := keyset(q, page).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	return componentsDomain(rows), nil
}

// Get returns component id with its tags in one statement; NotFound when
// absent.
func (r *ComponentRepository) Get(ctx context.Context, id int64) (domain.Component, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Component{}, err
	}
	var row componentRow
	if err := selectComponents(h, &row).Where("c.id = ?", id).Scan(ctx); err != nil {
		return domain.Component{}, rowError(err, "component")
	}
	return row.domain(), nil
}

// upsertTagsSQL creates the tags of a write that do not exist yet. It is sent
// in the same message as the write, as its own statement: in READ COMMITTED
// each statement of a message takes a fresh snapshot, so the write sees every
// tag that exists once this one is done — including one that a concurrent
// transaction created and committed while we waited on its unique key. (A
// single statement with a data-modifying CTE would not: ON CONFLICT DO
// NOTHING returns nothing for such a tag and the statement's snapshot does
// not see it, so the tag would be silently dropped.) One round trip either
// way. The guard keeps an update of an absent component from creating tags.
const upsertTagsSQL = `INSERT INTO tags (name)
	SELECT n FROM unnest(?::text[]) AS n WHERE ?
	ORDER BY n
	ON CONFLICT (name) DO NOTHING;
`

const createComponentSQL = `WITH c AS (
	INSERT INTO components (name, description, service_type_id, team_id, lifecycle, tier,
		repository_url, registry_provider_id, image_repository)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	RETURNING *
), tg AS (
	SELECT id, name FROM tags WHERE name = ANY (?::text[])
), attach AS (
	INSERT INTO component_tags (component_id, tag_id) SELECT c.id, tg.id FROM c CROSS JOIN tg
)
SELECT c.*, ARRAY(SELECT tg.name FROM tg ORDER BY tg.name COLLATE "C") AS tags FROM c`

const updateComponentSQL = `WITH c AS (
	UPDATE components SET name = ?, description = ?, service_type_id = ?, team_id = ?, lifecycle = ?, tier = ?,
		repository_url = ?, registry_provider_id = ?, image_repository = ?, updated_at = now()
	WHERE id = ?
	RETURNING *
), tg AS (
	SELECT id, name FROM tags WHERE name = ANY (?::text[])
), detach AS (
	DELETE FROM component_tags AS ct USING c
	WHERE ct.component_id = c.id AND ct.tag_id <> ALL (ARRAY(SELECT tg.id FROM tg))
), attach AS (
	INSERT INTO component_tags (component_id, tag_id) SELECT c.id, tg.id FROM c CROSS JOIN tg
	ON CONFLICT (component_id, tag_id) DO NOTHING
)
SELECT c.*, ARRAY(SELECT tg.name FROM tg ORDER BY tg.name COLLATE "C") AS tags FROM c`

// lifecycleArg is c's lifecycle, the default when unset.
func lifecycleArg(c domain.Component) string {
	if c.Lifecycle == "" {
		return string(domain.LifecycleExperimental)
	}
	return string(c.Lifecycle)
}

// tagArgs returns c's tags as a text[] argument (never NULL).
func tagArgs(tags []string) *pgdialect.ArrayValue {
	if tags == nil {
		tags = []string{}
	}
	return pgdialect.Array(tags)
}

// Create inserts c, creates the tags it names that do not exist yet, attaches
// them, and returns c as stored — one round trip. A name already used, in any
// case, is a Conflict; an absent service type, team or registry provider is
// Invalid naming the field. c is expected to be validated
// (domain.Component.Validate).
func (r *ComponentRepository) Create(ctx context.Context, c domain.Component) (domain.Component, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Component{}, err
	}
	query, args := createComponentSQL, []any{
		c.Name, c.Description, c.ServiceTypeID, c.TeamID, lifecycleArg(c), c.Tier,
		c.RepositoryURL, c.RegistryProviderID, c.ImageRepository, tagArgs(c.Tags),
	}
	if len(c.Tags) > 0 {
		query = upsertTagsSQL + query
		args = append([]any{tagArgs(c.Tags), true}, args...)
	}
	var row componentRow
	if err := h.NewRaw(query, args...).Scan(ctx, &row); err != nil {
		return domain.Component{}, writeError(err, componentNameTaken(c.Name))
	}
	return row.domain(), nil
}

// Update saves every field of c.ID — its tag set is replaced by c.Tags,
// unknown tags created — stamps updated_at and returns c as stored, in one
// round trip. NotFound when absent; conflicts and absent references as for
// Create.
func (r *ComponentRepository) Update(ctx context.Context, c domain.Component) (domain.Component, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return domain.Component{}, err
	}
	query, args := updateComponentSQL, []any{
		c.Name, c.Description, c.ServiceTypeID, c.TeamID, lifecycleArg(c), c.Tier,
		c.RepositoryURL, c.RegistryProviderID, c.ImageRepository, c.ID, tagArgs(c.Tags),
	}
	if len(c.Tags) > 0 {
		guard := bun.SafeQuery("EXISTS (SELECT 1 FROM components WHERE id = ?)", c.ID)
		query = upsertTagsSQL + query
		args = append([]any{tagArgs(c.Tags), guard}, args...)
	}
	var row componentRow
	if err := h.NewRaw(query, args...).Scan(ctx, &row); err != nil {
		return domain.Component{}, rowError(writeError(err, componentNameTaken(c.Name)), "component")
	}
	return row.domain(), nil
}

// Delete removes component id with its versions, tags and dependencies (both
// ways); NotFound when absent, Conflict while it has deployments.
func (r *ComponentRepository) Delete(ctx context.Context, id int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewDelete().Model((*componentRow)(nil)).Where("c.id = ?", id).Exec(ctx)
	if err != nil {
		return deleteError(err, "component has deployments")
	}
	return requireOneRow(res, "component")
}

// AddDependency records that component id depends on component other. A
// self-loop is Invalid("depends_on"), a duplicate a Conflict, an absent id
// NotFound and an absent other Invalid("depends_on").
func (r *ComponentRepository) AddDependency(ctx context.Context, id, other int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	_, err = h.NewRaw("INSERT INTO component_dependencies (component_id, depends_on_id) VALUES (?, ?)", id, other).Exec(ctx)
	if err != nil {
		return writeError(err, "the dependency already exists")
	}
	return nil
}

// RemoveDependency removes "id depends on other"; NotFound when there is no
// such dependency.
func (r *ComponentRepository) RemoveDependency(ctx context.Context, id, other int64) error {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return err
	}
	res, err := h.NewRaw("DELETE FROM component_dependencies WHERE component_id = ? AND depends_on_id = ?", id, other).Exec(ctx)
	if err != nil {
		return mapError(err)
	}
	return requireOneRow(res, "dependency")
}

// ListDependencies returns one page, in id order, of the components that id
// depends on; NotFound when id is absent.
func (r *ComponentRepository) ListDependencies(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error) {
	return r.listLinked(ctx, id, page, "d.depends_on_id = c.id", "d.component_id = ?")
}

// ListDependents returns one page, in id order, of the components that depend
// on id; NotFound when id is absent.
func (r *ComponentRepository) ListDependents(ctx context.Context, id int64, page domain.Page) ([]domain.Component, error) {
	return r.listLinked(ctx, id, page, "d.component_id = c.id", "d.depends_on_id = ?")
}

// listLinked lists the components joined to id through
// component_dependencies; on and where are constants of the callers.
func (r *ComponentRepository) listLinked(ctx context.Context, id int64, page domain.Page, on, where string) ([]domain.Component, error) {
	h, _, err := TenantHandle(ctx, r.db)
	if err != nil {
		return nil, err
	}
	var rows []componentRow
	q := selectComponents(h, &rows).
		Join("JOIN component_dependencies AS d ON "+on).
		Where(where, id)
	if err := keyset(q, page).Scan(ctx); err != nil {
		return nil, mapError(err)
	}
	if err := listEmpty(ctx, h, len(rows), "components", id, "component"); err != nil {
		return nil, err
	}
	return componentsDomain(rows), nil
}
