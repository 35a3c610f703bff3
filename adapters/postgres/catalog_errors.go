package postgres

import (
	"errors"
	"strings"

	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/schemata/schemata/domain"
)

// This file maps the constraint violations of the catalog tables
// (migrations/tenant/0002_catalog.sql names every foreign key and check
// explicitly) to domain errors that name the JSON field a client sent.

// constraintName returns the name of the constraint a PostgreSQL error in
// err's chain reports, "" if none.
func constraintName(err error) string {
	var pgErr pgdriver.Error
	if errors.As(err, &pgErr) {
		return pgErr.Field('n')
	}
	return ""
}

// fieldRef names the request field whose id a foreign key checks, and the
// kind of thing the id refers to.
type fieldRef struct {
	field, thing string
}

// referencedFields are the foreign keys whose id comes from a request body: a
// violation on insert or update means "no such <thing> in this tenant" and is
// Invalid(field).
var referencedFields = map[string]fieldRef{
	"team_members_user_id_fkey":                 {"user_id", "user"},
	"components_service_type_id_fkey":           {"service_type_id", "service type"},
	"components_team_id_fkey":                   {"team_id", "team"},
	"components_registry_provider_id_fkey":      {"registry_provider_id", "registry provider"},
	"component_dependencies_depends_on_id_fkey": {"depends_on", "component"},
	"environments_cloud_provider_id_fkey":       {"cloud_provider_id", "cloud provider"},
	"deployments_component_id_fkey":             {"component_id", "component"},
	"deployments_environment_id_fkey":           {"environment_id", "environment"},
	"deployments_version_id_fkey":               {"version_id", "version"},
}

// parentEntities are the foreign keys whose id names the parent a request is
// addressed to (a path id): a violation means the parent is absent, NotFound.
var parentEntities = map[string]string{
	"team_members_team_id_fkey":                "team",
	"component_dependencies_component_id_fkey": "component",
	"versions_component_id_fkey":               "component",
}

// checkFields maps the catalog's check constraints to the field they check
// and a client-facing message. The application validates first; these are the
// database's last word.
var checkFields = map[string]fieldRef{
	"teams_name_check":                     {"name", "name must be 1-200 characters"},
	"teams_description_check":              {"description", "description is longer than 2000 characters"},
	"components_name_check":                {"name", "name must be 1-63 characters of [a-z0-9] separated by '-', '_' or '.'"},
	"components_description_check":         {"description", "description is longer than 2000 characters"},
	"components_lifecycle_check":           {"lifecycle", "lifecycle must be one of experimental, production, deprecated"},
	"components_tier_check":                {"tier", "tier must be between 1 and 4"},
	"components_repository_url_check":      {"repository_url", "repository_url is too long"},
	"components_image_repository_check":    {"image_repository", "image_repository is too long"},
	"tags_name_check":                      {"tags", "a tag must be at most 63 characters of [a-z0-9:+#] separated by '-'"},
	"component_dependencies_no_self_check": {"depends_on", "a component cannot depend on itself"},
	"environments_name_check":              {"name", "name must be 1-200 characters"},
	"environments_category_check":          {"category", "category must be one of development, testing, staging, production"},
	"environments_region_check":            {"region", "region is too long"},
	"versions_version_check":               {"version", "version must be 1-128 characters"},
	"versions_precedence_check":            {"version", "version has no valid precedence key"},
	"versions_image_digest_check":          {"image_digest", "image_digest must be sha256: followed by 64 lower-case hex digits"},
	"versions_git_sha_check":               {"git_sha", "git_sha must be 7-64 lower-case hex digits"},
	"versions_notes_check":                 {"notes", "notes are longer than 2000 characters"},
	"deployments_status_check":             {"status", "status must be one of succeeded, failed, rolled_back, in_progress"},
	"deployments_actor_check":              {"actor", "actor is too long"},
	"activity_actor_check":                 {"actor", "actor is too long"},
	"activity_action_check":                {"action", "action must be 1-100 characters"},
	"activity_entity_type_check":           {"entity_type", "entity_type must be 1-100 characters"},
}

// writeError maps the error of a catalog INSERT or UPDATE: a unique violation
// is a Conflict with conflictMsg, a foreign-key violation is Invalid naming
// the referencing field (or NotFound for the addressed parent), a check
// violation is Invalid naming the field; anything else goes through mapError.
func writeError(err error, conflictMsg string) error {
	name := constraintName(err)
	switch pgCode(err) {
	case sqlstateUniqueViolation:
		return &domain.Error{Code: domain.CodeConflict, Message: conflictMsg, Err: err}
	case sqlstateForeignKeyViolation:
		if ref, ok := referencedFields[name]; ok {
			return &domain.Error{Code: domain.CodeInvalid, Field: ref.field, Message: ref.thing + " does not exist", Err: err}
		}
		if entity, ok := parentEntities[name]; ok {
			return &domain.Error{Code: domain.CodeNotFound, Message: entity + " not found", Err: err}
		}
		if name == "deployments_version_fkey" || name == "deployment_current_version_fkey" {
			return &domain.Error{Code: domain.CodeInvalid, Field: "version_id", Message: "version does not belong to component", Err: err}
		}
	case sqlstateCheckViolation:
		if ref, ok := checkFields[name]; ok {
			return &domain.Error{Code: domain.CodeInvalid, Field: ref.field, Message: ref.thing, Err: err}
		}
	}
	return mapError(err)
}

// deleteError maps the error of a catalog DELETE: a foreign-key violation
// (the row is still referenced) is a Conflict with conflictMsg; anything else
// goes through mapError.
func deleteError(err error, conflictMsg string) error {
	return conflictOn(err, sqlstateForeignKeyViolation, conflictMsg)
}

// likeContains returns a case-insensitive LIKE pattern that matches s as a
// substring, taken literally: the pattern characters '%' and '_' and the
// escape character '\' (PostgreSQL's default) are escaped.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
