package postgres

import (
	"context"
	"fmt"
	"time"
)

// Reads about the server and the service's machinery, for the operators'
// commands: each one cheap query, safe to run against a live service.

// ServerInfo is what the server says of itself.
type ServerInfo struct {
	Version      string    // server_version, e.g. "15.8 (Debian 15.8-0+deb12u1)"
	VersionNum   int       // server_version_num, e.g. 150008
	Now          time.Time // now() on the server
	TimeZone     string    // the session's TimeZone setting
	DatabaseSize int64     // bytes, pg_database_size of the current database
}

// Major is the server's major version.
func (i ServerInfo) Major() int { return i.VersionNum / 10000 }

// ServerInfoRead reads the server's version, clock and time zone.
func (s *Store) ServerInfoRead(ctx context.Context) (ServerInfo, error) {
	var i ServerInfo
	err := s.Pool.QueryRow(ctx, `SELECT current_setting('server_version'), current_setting('server_version_num')::int,
		now(), current_setting('TimeZone'), pg_database_size(current_database())`).
		Scan(&i.Version, &i.VersionNum, &i.Now, &i.TimeZone, &i.DatabaseSize)
	if err != nil {
		return i, fmt.Errorf("read the server's version and clock: %w", err)
	}
	return i, nil
}
