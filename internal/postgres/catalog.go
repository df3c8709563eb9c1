package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// Catalog is every unit and every policy version, as of Version: what the
// rules read on every step and change rarely, so each process caches it and
// reloads it when catalog_version moves on (migration 000013).
type Catalog struct {
	Version  int64
	Units    []secondment.Unit
	Policies map[int64][]secondment.Policy // by jurisdiction unit ID, oldest version first
	Calendar secondment.Calendar
}

// CatalogLoad reads the catalog from one snapshot.
func (s *Store) CatalogLoad(ctx context.Context) (Catalog, error) {
	var c Catalog
	err := s.ReadTx(ctx, func(t *Tx) (err error) {
		c, err = t.CatalogLoad(ctx)
		return err
	})
	return c, err
}

// CatalogLoad reads the catalog in the use case's transaction: a use case
// that finds its cached copy stale reloads it on the connection it holds,
// never waiting for a second one.
func (t *Tx) CatalogLoad(ctx context.Context) (Catalog, error) {
	var c Catalog
	if err := t.q.QueryRow(ctx, `SELECT version FROM catalog_version WHERE id = 1`).Scan(&c.Version); err != nil {
		return c, fmt.Errorf("catalog version: %w", err)
	}
	var err error
	if c.Units, err = unitsTx(ctx, t.q); err != nil {
		return c, err
	}
	if c.Policies, err = policiesTx(ctx, t.q); err != nil {
		return c, err
	}
	c.Calendar, err = calendarTx(ctx, t.q)
	return c, err
}

// CatalogVersion is the catalog's current version.
func (s *Store) CatalogVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.Pool.QueryRow(ctx, `SELECT version FROM catalog_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("catalog version: %w", err)
	}
	return v, nil
}

const unitColumns = `id, code, name, level, system, branch, coalesce(parent_id, 0) AS parent_id,
       staffing_quota, post_quota, headcount, note`

type unitRow struct {
	ID            int64  `db:"id"`
	Code          string `db:"code"`
	Name          string `db:"name"`
	Level         string `db:"level"`
	System        string `db:"system"`
	Branch        string `db:"branch"`
	ParentID      int64  `db:"parent_id"`
	StaffingQuota *int   `db:"staffing_quota"`
	PostQuota     *int   `db:"post_quota"`
	Headcount     *int   `db:"headcount"`
	Note          string `db:"note"`
}

func (r unitRow) unit() secondment.Unit {
	return secondment.Unit{ID: r.ID, Code: r.Code, Name: r.Name, Level: secondment.Level(r.Level),
		System: secondment.System(r.System), Branch: secondment.Branch(r.Branch), ParentID: r.ParentID,
		StaffingQuota: r.StaffingQuota, PostQuota: r.PostQuota, Headcount: r.Headcount, Note: r.Note}
}

// scanOneUnit reads the one row of a unitColumns query.
func scanOneUnit(rows pgx.Rows, err error) (secondment.Unit, error) {
	if err != nil {
		return secondment.Unit{}, err
	}
	r, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByName[unitRow])
	return r.unit(), err
}

// unitsTx lists every unit.
func unitsTx(ctx context.Context, q dbtx) ([]secondment.Unit, error) {
	rows, err := q.Query(ctx, `SELECT `+unitColumns+` FROM unit ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	raw, err := pgx.CollectRows(rows, pgx.RowToStructByName[unitRow])
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	out := make([]secondment.Unit, len(raw))
	for i, r := range raw {
		out[i] = r.unit()
	}
	return out, nil
}

type policyRow struct {
	JurisdictionID int64       `db:"jurisdiction_id"`
	Version        int         `db:"version"`
	Preset         string      `db:"preset"`
	EffectiveFrom  time.Time   `db:"effective_from"`
	Rules          policyRules `db:"rules"`
}

// policiesTx lists the policy versions of every jurisdiction: a few per
// jurisdiction, read whole into the catalog.
func policiesTx(ctx context.Context, q dbtx) (map[int64][]secondment.Policy, error) {
	rows, err := q.Query(ctx, `
		SELECT jurisdiction_id, version, preset, effective_from, rules
		FROM policy ORDER BY jurisdiction_id, version`)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	raw, err := pgx.CollectRows(rows, pgx.RowToStructByName[policyRow])
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	out := map[int64][]secondment.Policy{}
	for _, r := range raw {
		out[r.JurisdictionID] = append(out[r.JurisdictionID], r.Rules.policy(r.Preset, r.Version, r.EffectiveFrom))
	}
	return out, nil
}
