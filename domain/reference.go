package domain

import "time"

// RefKind names one of the per-tenant, customisable reference tables.
type RefKind string

// The reference data kinds.
const (
	CloudProviders    RefKind = "cloud_providers"
	RegistryProviders RefKind = "registry_providers"
	ServiceTypes      RefKind = "service_types"
)

// RefKinds lists every reference kind.
var RefKinds = []RefKind{CloudProviders, RegistryProviders, ServiceTypes}

// Valid reports whether k is a known kind.
func (k RefKind) Valid() bool {
	for _, x := range RefKinds {
		if x == k {
			return true
		}
	}
	return false
}

// Singular is a readable name for messages.
func (k RefKind) Singular() string {
	switch k {
	case CloudProviders:
		return "cloud provider"
	case RegistryProviders:
		return "registry provider"
	case ServiceTypes:
		return "service type"
	}
	return string(k)
}

// RefItem is one row of reference data: a cloud provider, a registry provider
// or a service type. Name is unique per tenant, case-insensitively.
type RefItem struct {
	ID          int64
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// DefaultReferenceData is the seed of every new tenant.
var DefaultReferenceData = map[RefKind][]string{
	CloudProviders:    {"AWS", "Azure", "GCP", "On-Premise", "DigitalOcean", "Oracle Cloud"},
	RegistryProviders: {"DockerHub", "AWS ECR", "GCP GCR", "Azure ACR", "GitHub CR", "GitLab CR", "Harbor", "JFrog"},
	ServiceTypes:      {"API", "Worker", "Frontend", "Database", "Cache", "Message Queue", "Microservice"},
}

// Page is a window on a list ordered by ID: After is the last ID already seen
// (0 for the first page), Limit the page size.
type Page struct {
	After int64
	Limit int
}

// Page size bounds.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// Clamp returns p with Limit in [1, MaxPageSize], DefaultPageSize when unset.
func (p Page) Clamp() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultPageSize
	}
	if p.Limit > MaxPageSize {
		p.Limit = MaxPageSize
	}
	if p.After < 0 {
		p.After = 0
	}
	return p
}
