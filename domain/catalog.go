package domain

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Team owns components. Name is unique per tenant, case-insensitively.
type Team struct {
	ID          int64
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Lifecycle is a component's stage.
type Lifecycle string

// The lifecycles; Experimental is the default.
const (
	LifecycleExperimental Lifecycle = "experimental"
	LifecycleProduction   Lifecycle = "production"
	LifecycleDeprecated   Lifecycle = "deprecated"
)

// ParseLifecycle validates a lifecycle ("" → experimental).
func ParseLifecycle(s string) (Lifecycle, error) {
	switch l := Lifecycle(s); l {
	case "":
		return LifecycleExperimental, nil
	case LifecycleExperimental, LifecycleProduction, LifecycleDeprecated:
		return l, nil
	}
	return "", Invalid("lifecycle", "lifecycle must be one of experimental, production, deprecated")
}

// Component is a service in the catalog: who owns it (exactly one team), what
// kind it is (a service type), where its code and image live, what it
// depends on.
type Component struct {
	ID                 int64
	Name               string
	Description        string
	ServiceTypeID      int64
	TeamID             int64
	Lifecycle          Lifecycle
	Tier               *int // 1 (most critical) to 4, optional
	RepositoryURL      string
	RegistryProviderID *int64
	ImageRepository    string
	Tags               []string // tag names, sorted
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

var (
	componentNameRE = regexp.MustCompile(`^[a-z0-9]+([-_.][a-z0-9]+)*$`)
	tagNameRE       = regexp.MustCompile(`^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`)
	imageRepoRE     = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$`)
	digestRE        = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	gitSHARE        = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
)

// ValidateComponentName checks a component name: 1–63 characters of [a-z0-9]
// separated by single '-', '_' or '.' (Backstage's entity name rule, lower
// case). Names are compared case-insensitively; they are stored as given.
func ValidateComponentName(s string) (string, error) {
	if len(s) < 1 || len(s) > 63 || !componentNameRE.MatchString(s) {
		return "", Invalid("name", "name must be 1-63 characters of [a-z0-9] separated by '-', '_' or '.'")
	}
	return s, nil
}

// ValidateTagName checks a tag: [a-z0-9:+#] separated by '-', at most 63 characters.
func ValidateTagName(s string) (string, error) {
	if len(s) < 1 || len(s) > 63 || !tagNameRE.MatchString(s) {
		return "", Invalid("tags", "tag %q must be at most 63 characters of [a-z0-9:+#] separated by '-'", s)
	}
	return s, nil
}

// NormalizeTags validates, de-duplicates and sorts tag names.
func NormalizeTags(tags []string) ([]string, error) {
	if len(tags) > 50 {
		return nil, Invalid("tags", "at most 50 tags per component")
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		if _, err := ValidateTagName(t); err != nil {
			return nil, err
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sortStrings(out)
	return out, nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// ValidateTier checks an optional tier (1–4).
func ValidateTier(t *int) error {
	if t != nil && (*t < 1 || *t > 4) {
		return Invalid("tier", "tier must be between 1 and 4")
	}
	return nil
}

// ValidateRepositoryURL checks an optional http(s) URL.
func ValidateRepositoryURL(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s) > 2048 || u.User != nil {
		return "", Invalid("repository_url", "repository_url must be an http or https URL without credentials")
	}
	return s, nil
}

// ValidateImageRepository checks an optional image repository path such as
// "ghcr.io/acme/payments" (no tag or digest).
func ValidateImageRepository(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > 255 || !imageRepoRE.MatchString(s) {
		return "", Invalid("image_repository", "image_repository must be a lower-case image path without tag or digest")
	}
	return s, nil
}

// Validate checks a component's own fields (references are checked by the
// store). It normalises tags.
func (c *Component) Validate() error {
	var err error
	if c.Name, err = ValidateComponentName(c.Name); err != nil {
		return err
	}
	if c.Description, err = ValidateDescription(c.Description); err != nil {
		return err
	}
	if c.ServiceTypeID <= 0 {
		return Invalid("service_type_id", "service_type_id is required")
	}
	if c.TeamID <= 0 {
		return Invalid("team_id", "team_id is required (exactly one owner)")
	}
	if c.Lifecycle, err = ParseLifecycle(string(c.Lifecycle)); err != nil {
		return err
	}
	if err := ValidateTier(c.Tier); err != nil {
		return err
	}
	if c.RepositoryURL, err = ValidateRepositoryURL(c.RepositoryURL); err != nil {
		return err
	}
	if c.ImageRepository, err = ValidateImageRepository(c.ImageRepository); err != nil {
		return err
	}
	if c.RegistryProviderID != nil && *c.RegistryProviderID <= 0 {
		return Invalid("registry_provider_id", "registry_provider_id must be a positive id")
	}
	if c.ImageRepository != "" && c.RegistryProviderID == nil {
		return Invalid("registry_provider_id", "registry_provider_id is required with image_repository")
	}
	if c.Tags, err = NormalizeTags(c.Tags); err != nil {
		return err
	}
	return nil
}

// Tag labels components. Name is unique per tenant.
type Tag struct {
	ID        int64
	Name      string
	CreatedAt time.Time
}

// EnvCategory classifies an environment.
type EnvCategory string

// The environment categories.
const (
	EnvDevelopment EnvCategory = "development"
	EnvTesting     EnvCategory = "testing"
	EnvStaging     EnvCategory = "staging"
	EnvProduction  EnvCategory = "production"
)

// ParseEnvCategory validates a category.
func ParseEnvCategory(s string) (EnvCategory, error) {
	switch c := EnvCategory(s); c {
	case EnvDevelopment, EnvTesting, EnvStaging, EnvProduction:
		return c, nil
	}
	return "", Invalid("category", "category must be one of development, testing, staging, production")
}

// Environment is where components run.
type Environment struct {
	ID              int64
	Name            string
	Category        EnvCategory
	CloudProviderID int64
	Region          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

var regionRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Validate checks an environment's own fields.
func (e *Environment) Validate() error {
	var err error
	if e.Name, err = ValidateName("name", e.Name); err != nil {
		return err
	}
	if e.Category, err = ParseEnvCategory(string(e.Category)); err != nil {
		return err
	}
	if e.CloudProviderID <= 0 {
		return Invalid("cloud_provider_id", "cloud_provider_id is required")
	}
	e.Region = strings.TrimSpace(e.Region)
	if e.Region != "" && (len(e.Region) > 63 || !regionRE.MatchString(e.Region)) {
		return Invalid("region", "region must be lower-case letters, digits and '-' (e.g. eu-west-1)")
	}
	return nil
}

// Version is a released version of a component. Immutable except Notes.
type Version struct {
	ID          int64
	ComponentID int64
	Version     string // as given, canonical SemVer
	SemVer      SemVer
	ImageDigest string // optional "sha256:<64 hex>"
	GitSHA      string // optional 7-64 lower-case hex
	Notes       string
	CreatedAt   time.Time
}

// Validate parses the version string and checks the optional fields.
func (v *Version) Validate() error {
	sv, err := ParseSemVer(v.Version)
	if err != nil {
		return err
	}
	v.SemVer = sv
	if v.ImageDigest != "" && !digestRE.MatchString(v.ImageDigest) {
		return Invalid("image_digest", "image_digest must be sha256: followed by 64 lower-case hex digits")
	}
	if v.GitSHA != "" && !gitSHARE.MatchString(v.GitSHA) {
		return Invalid("git_sha", "git_sha must be 7-64 lower-case hex digits")
	}
	if v.Notes, err = ValidateDescription(v.Notes); err != nil {
		return Invalid("notes", "notes: %s", err.(*Error).Message)
	}
	return nil
}

// DeploymentStatus is the outcome of a deployment event.
type DeploymentStatus string

// The deployment statuses. Only Succeeded moves the current state.
const (
	DeploymentSucceeded  DeploymentStatus = "succeeded"
	DeploymentFailed     DeploymentStatus = "failed"
	DeploymentRolledBack DeploymentStatus = "rolled_back"
	DeploymentInProgress DeploymentStatus = "in_progress"
)

// ParseDeploymentStatus validates a status ("" → succeeded).
func ParseDeploymentStatus(s string) (DeploymentStatus, error) {
	switch st := DeploymentStatus(s); st {
	case "":
		return DeploymentSucceeded, nil
	case DeploymentSucceeded, DeploymentFailed, DeploymentRolledBack, DeploymentInProgress:
		return st, nil
	}
	return "", Invalid("status", "status must be one of succeeded, failed, rolled_back, in_progress")
}

// Deployment is one event of the append-only deployment ledger.
type Deployment struct {
	ID            int64
	ComponentID   int64
	EnvironmentID int64
	VersionID     int64
	Status        DeploymentStatus
	DeployedAt    time.Time
	Actor         string // "user:42"
	CreatedAt     time.Time
}

// CurrentDeployment is a cell of the component × environment matrix: the
// version that runs there now (the latest succeeded deployment by DeployedAt).
type CurrentDeployment struct {
	ComponentID   int64
	EnvironmentID int64
	VersionID     int64
	Version       string
	DeploymentID  int64
	DeployedAt    time.Time
}

// Activity is one write in a tenant: who did what to which entity.
type Activity struct {
	ID         int64
	At         time.Time
	ActorID    int64 // user id; 0 for the platform admin or the system
	Actor      string
	Action     string // "create", "update", "delete", …
	EntityType string // "component", "team", …
	EntityID   int64
	Detail     map[string]string
}

// ComponentFilter narrows a component list.
type ComponentFilter struct {
	TeamID        int64
	ServiceTypeID int64
	Lifecycle     Lifecycle
	Tag           string
	Query         string // name substring, taken literally
}

// DeploymentFilter narrows the deployment history and the current matrix.
type DeploymentFilter struct {
	ComponentID   int64
	EnvironmentID int64
}
