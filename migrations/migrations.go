// Package migrations embeds the schema migrations (golang-migrate format:
// NNNNNN_name.up.sql and .down.sql) so that the binary carries its schema.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
