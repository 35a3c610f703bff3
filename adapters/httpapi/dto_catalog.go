package httpapi

import (
	"time"

	"github.com/schemata/schemata/domain"
)

// Response bodies of the catalog. Field names are snake_case; times are
// RFC 3339 in UTC; optional values are null, lists are [] (never null).

type teamJSON struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toTeamJSON(t domain.Team) teamJSON {
	return teamJSON{ID: t.ID, Name: t.Name, Description: t.Description, CreatedAt: utc(t.CreatedAt), UpdatedAt: utc(t.UpdatedAt)}
}

func teamID(t domain.Team) int64 { return t.ID }

// memberJSON is the membership created by POST /teams/{id}/members.
type memberJSON struct {
	TeamID int64 `json:"team_id"`
	UserID int64 `json:"user_id"`
}

type componentJSON struct {
	ID                 int64     `json:"id"`
	Name               string    `json:"name"`
	Description        string    `json:"description"`
	ServiceTypeID      int64     `json:"service_type_id"`
	TeamID             int64     `json:"team_id"`
	Lifecycle          string    `json:"lifecycle"`
	Tier               *int      `json:"tier"`
	RepositoryURL      string    `json:"repository_url"`
	RegistryProviderID *int64    `json:"registry_provider_id"`
	ImageRepository    string    `json:"image_repository"`
	Tags               []string  `json:"tags"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

func toComponentJSON(c domain.Component) componentJSON {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return componentJSON{ID: c.ID, Name: c.Name, Description: c.Description, ServiceTypeID: c.ServiceTypeID,
		TeamID: c.TeamID, Lifecycle: string(c.Lifecycle), Tier: c.Tier, RepositoryURL: c.RepositoryURL,
		RegistryProviderID: c.RegistryProviderID, ImageRepository: c.ImageRepository, Tags: tags,
		CreatedAt: utc(c.CreatedAt), UpdatedAt: utc(c.UpdatedAt)}
}

func componentID(c domain.Component) int64 { return c.ID }

// dependencyJSON is the link created by POST /components/{id}/dependencies/{other_id}.
type dependencyJSON struct {
	ComponentID int64 `json:"component_id"`
	DependsOnID int64 `json:"depends_on_id"`
}

type tagJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func toTagJSON(t domain.Tag) tagJSON {
	return tagJSON{ID: t.ID, Name: t.Name, CreatedAt: utc(t.CreatedAt)}
}

func tagID(t domain.Tag) int64 { return t.ID }

type environmentJSON struct {
	ID              int64     `json:"id"`
	Name            string    `json:"name"`
	Category        string    `json:"category"`
	CloudProviderID int64     `json:"cloud_provider_id"`
	Region          string    `json:"region"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func toEnvironmentJSON(e domain.Environment) environmentJSON {
	return environmentJSON{ID: e.ID, Name: e.Name, Category: string(e.Category), CloudProviderID: e.CloudProviderID,
		Region: e.Region, CreatedAt: utc(e.CreatedAt), UpdatedAt: utc(e.UpdatedAt)}
}

func environmentID(e domain.Environment) int64 { return e.ID }

type versionJSON struct {
	ID          int64     `json:"id"`
	ComponentID int64     `json:"component_id"`
	Version     string    `json:"version"`
	ImageDigest string    `json:"image_digest"`
	GitSHA      string    `json:"git_sha"`
	Notes       string    `json:"notes"`
	CreatedAt   time.Time `json:"created_at"`
}

func toVersionJSON(v domain.Version) versionJSON {
	return versionJSON{ID: v.ID, ComponentID: v.ComponentID, Version: v.Version, ImageDigest: v.ImageDigest,
		GitSHA: v.GitSHA, Notes: v.Notes, CreatedAt: utc(v.CreatedAt)}
}

func versionID(v domain.Version) int64 { return v.ID }

type deploymentJSON struct {
	ID            int64     `json:"id"`
	ComponentID   int64     `json:"component_id"`
	EnvironmentID int64     `json:"environment_id"`
	VersionID     int64     `json:"version_id"`
	Status        string    `json:"status"`
	DeployedAt    time.Time `json:"deployed_at"`
	Actor         string    `json:"actor"`
	CreatedAt     time.Time `json:"created_at"`
}

func toDeploymentJSON(d domain.Deployment) deploymentJSON {
	return deploymentJSON{ID: d.ID, ComponentID: d.ComponentID, EnvironmentID: d.EnvironmentID, VersionID: d.VersionID,
		Status: string(d.Status), DeployedAt: utc(d.DeployedAt), Actor: d.Actor, CreatedAt: utc(d.CreatedAt)}
}

func deploymentID(d domain.Deployment) int64 { return d.ID }

// currentJSON is one cell of the component × environment matrix.
type currentJSON struct {
	ComponentID   int64     `json:"component_id"`
	EnvironmentID int64     `json:"environment_id"`
	VersionID     int64     `json:"version_id"`
	Version       string    `json:"version"`
	DeploymentID  int64     `json:"deployment_id"`
	DeployedAt    time.Time `json:"deployed_at"`
}

func toCurrentJSON(c domain.CurrentDeployment) currentJSON {
	return currentJSON{ComponentID: c.ComponentID, EnvironmentID: c.EnvironmentID, VersionID: c.VersionID,
		Version: c.Version, DeploymentID: c.DeploymentID, DeployedAt: utc(c.DeployedAt)}
}

// currentKeys is the keyset position of a matrix cell.
func currentKeys(c domain.CurrentDeployment) []int64 { return []int64{c.ComponentID, c.EnvironmentID} }

type activityJSON struct {
	ID         int64             `json:"id"`
	At         time.Time         `json:"at"`
	Actor      string            `json:"actor"`
	ActorID    int64             `json:"actor_id"`
	Action     string            `json:"action"`
	EntityType string            `json:"entity_type"`
	EntityID   int64             `json:"entity_id"`
	Detail     map[string]string `json:"detail"`
}

func toActivityJSON(a domain.Activity) activityJSON {
	detail := a.Detail
	if detail == nil {
		detail = map[string]string{}
	}
	return activityJSON{ID: a.ID, At: utc(a.At), Actor: a.Actor, ActorID: a.ActorID, Action: a.Action,
		EntityType: a.EntityType, EntityID: a.EntityID, Detail: detail}
}

func activityID(a domain.Activity) int64 { return a.ID }

func userID(u domain.User) int64 { return u.ID }

// Request bodies of the catalog. Unknown fields are rejected. In a PATCH an
// absent field is left unchanged; null clears a nullable field (tier,
// registry_provider_id), empties a text or the tag list, and is refused for a
// required field.

type userPatchRequest struct {
	Name optional[string] `json:"name"`
	Role optional[string] `json:"role"`
}

type passwordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

type teamRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type teamPatchRequest struct {
	Name        optional[string] `json:"name"`
	Description optional[string] `json:"description"`
}

type memberRequest struct {
	UserID *int64 `json:"user_id"`
}

type componentRequest struct {
	Name               string   `json:"name"`
	Description        string   `json:"description"`
	ServiceTypeID      int64    `json:"service_type_id"`
	TeamID             int64    `json:"team_id"`
	Lifecycle          string   `json:"lifecycle"`
	Tier               *int     `json:"tier"`
	RepositoryURL      string   `json:"repository_url"`
	RegistryProviderID *int64   `json:"registry_provider_id"`
	ImageRepository    string   `json:"image_repository"`
	Tags               []string `json:"tags"`
}

type componentPatchRequest struct {
	Name               optional[string]   `json:"name"`
	Description        optional[string]   `json:"description"`
	ServiceTypeID      optional[int64]    `json:"service_type_id"`
	TeamID             optional[int64]    `json:"team_id"`
	Lifecycle          optional[string]   `json:"lifecycle"`
	Tier               optional[int]      `json:"tier"`
	RepositoryURL      optional[string]   `json:"repository_url"`
	RegistryProviderID optional[int64]    `json:"registry_provider_id"`
	ImageRepository    optional[string]   `json:"image_repository"`
	Tags               optional[[]string] `json:"tags"`
}

type versionRequest struct {
	Version     string `json:"version"`
	ImageDigest string `json:"image_digest"`
	GitSHA      string `json:"git_sha"`
	Notes       string `json:"notes"`
}

type versionPatchRequest struct {
	Notes optional[string] `json:"notes"`
}

type tagRequest struct {
	Name string `json:"name"`
}

type tagPatchRequest struct {
	Name optional[string] `json:"name"`
}

type environmentRequest struct {
	Name            string `json:"name"`
	Category        string `json:"category"`
	CloudProviderID int64  `json:"cloud_provider_id"`
	Region          string `json:"region"`
}

type environmentPatchRequest struct {
	Name            optional[string] `json:"name"`
	Category        optional[string] `json:"category"`
	CloudProviderID optional[int64]  `json:"cloud_provider_id"`
	Region          optional[string] `json:"region"`
}

type deploymentRequest struct {
	ComponentID   int64   `json:"component_id"`
	EnvironmentID int64   `json:"environment_id"`
	VersionID     int64   `json:"version_id"`
	Status        string  `json:"status"`
	DeployedAt    *string `json:"deployed_at"`
}
