package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/driver/pgdriver"
)

// NoTenantSearchPath is the search_path every connection starts with. It holds
// no tenant tables and not public, so an unqualified tenant query that somehow
// runs without a tenant scope fails ("relation does not exist") instead of
// reading public or another tenant. Public tables are always schema-qualified.
// pg_temp is named last so that a temporary table can never shadow anything.
const NoTenantSearchPath = "pg_catalog, pg_temp"

// Options tune the connection pool.
type Options struct {
	MaxOpenConns    int           // default 16
	MaxIdleConns    int           // default MaxOpenConns
	ConnMaxLifetime time.Duration // default 30m: bounds per-backend catalog caches (DESIGN §2.6)
	ConnMaxIdleTime time.Duration // default 5m
	ApplicationName string        // default "schemata"
}

// Open connects to the database named by dsn (postgres://user:pass@host:port/db?sslmode=…)
// and returns a bun.DB over pgdriver. TLS is configured here explicitly and
// always verifies the server certificate and host name: sslmode=disable turns
// TLS off; a missing sslmode means no TLS on a loopback host and verify-full
// elsewhere; require, verify-ca and verify-full all mean verify-full (an
// sslrootcert=FILE parameter adds a CA). The connection does not check that the
// database answers; call Ping for that.
func Open(dsn string, opt Options) (*bun.DB, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("postgres: DATABASE_URL must be a postgres:// URL")
	}
	q := u.Query()
	sslmode, rootCert := q.Get("sslmode"), q.Get("sslrootcert")
	q.Del("sslmode")
	q.Del("sslrootcert")
	for k := range q {
		switch k {
		case "application_name", "dial_timeout", "read_timeout", "write_timeout", "connect_timeout":
		default:
			return nil, fmt.Errorf("postgres: unsupported DATABASE_URL parameter %q", k)
		}
	}
	connectTimeout := q.Get("connect_timeout")
	q.Del("connect_timeout")
	u.RawQuery = q.Encode()

	host := u.Hostname()
	if host == "" {
		host = "localhost"
	}
	var tlsConf *tls.Config
	switch sslmode {
	case "disable":
	case "":
		if !isLoopback(host) {
			tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
	case "require", "verify-ca", "verify-full":
		tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	default:
		return nil, fmt.Errorf("postgres: unsupported sslmode %q (use disable, require, verify-ca or verify-full)", sslmode)
	}
	if tlsConf != nil && rootCert != "" {
		pem, err := os.ReadFile(rootCert)
		if err != nil {
			return nil, fmt.Errorf("postgres: read sslrootcert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("postgres: sslrootcert %q holds no certificate", rootCert)
		}
		tlsConf.RootCAs = pool
	}

	appName := opt.ApplicationName
	if appName == "" {
		appName = "schemata"
	}
	dial := 5 * time.Second
	if connectTimeout != "" {
		d, err := time.ParseDuration(connectTimeout + "s")
		if err != nil {
			return nil, fmt.Errorf("postgres: bad connect_timeout %q", connectTimeout)
		}
		dial = d
	}
	var buildErr error
	connector := func() (c *pgdriver.Connector) {
		defer func() {
			if r := recover(); r != nil { // pgdriver.WithDSN panics on a bad DSN
				buildErr = fmt.Errorf("postgres: bad DATABASE_URL: %v", r)
			}
		}()
		return pgdriver.NewConnector(
			pgdriver.WithDSN(u.String()),
			pgdriver.WithTLSConfig(tlsConf), // after WithDSN: ours wins
			pgdriver.WithApplicationName(appName),
			pgdriver.WithDialTimeout(dial),
			pgdriver.WithReadTimeout(0), // deadlines come from the context
			pgdriver.WithWriteTimeout(30*time.Second),
		)
	}()
	if buildErr != nil {
		return nil, buildErr
	}
	sqldb := sql.OpenDB(noTenantConnector{connector})
	maxOpen := opt.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 16
	}
	maxIdle := opt.MaxIdleConns
	if maxIdle <= 0 {
		maxIdle = maxOpen
	}
	life := opt.ConnMaxLifetime
	if life <= 0 {
		life = 30 * time.Minute
	}
	idle := opt.ConnMaxIdleTime
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	sqldb.SetMaxOpenConns(maxOpen)
	sqldb.SetMaxIdleConns(maxIdle)
	sqldb.SetConnMaxLifetime(life)
	sqldb.SetConnMaxIdleTime(idle)
	return bun.NewDB(sqldb, pgdialect.New()), nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Pinger answers readiness probes.
type Pinger struct{ DB *bun.DB }

// Ping runs one trivial query.
func (p Pinger) Ping(ctx context.Context) error {
	return p.DB.PingContext(ctx)
}

// noTenantConnector sets NoTenantSearchPath on every new connection.
// (pgdriver's connection parameters are sent as a single quoted value, which
// cannot express a list of schemas.)
type noTenantConnector struct{ *pgdriver.Connector }

func (c noTenantConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	ex, ok := cn.(driver.ExecerContext)
	if !ok {
		_ = cn.Close()
		return nil, fmt.Errorf("postgres: driver connection cannot execute statements")
	}
	if _, err := ex.ExecContext(ctx, "SET search_path TO "+NoTenantSearchPath, nil); err != nil {
		_ = cn.Close()
		return nil, fmt.Errorf("postgres: set search_path: %w", err)
	}
	return cn, nil
}
