// Package migrations embeds Schemata's SQL migrations: Public runs once in the
// public schema; Tenant runs in every tenant schema and is written unqualified
// so that the same SQL serves every schema under a transaction-scoped
// search_path. It is data, outside the hexagon; cmd hands it to the
// postgres adapter.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed public/*.sql
var publicFS embed.FS

//go:embed tenant/*.sql
var tenantFS embed.FS

// Public returns the public-schema migration set.
func Public() fs.FS { return sub(publicFS, "public") }

// Tenant returns the tenant-schema migration set.
func Tenant() fs.FS { return sub(tenantFS, "tenant") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // unreachable: dir is embedded above
	}
	return s
}
