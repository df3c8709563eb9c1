package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// unitTreeSQL lists units depth-first. Siblings sort by level, then code, so
// a city's own organs (its org dept) come before its districts.
const unitTreeSQL = `
WITH RECURSIVE tree AS (
    SELECT u.id, 0 AS depth,
           ARRAY[array_position(ARRAY['province','city','county','township'], u.level) || ':' || u.code] AS path
    FROM unit u WHERE u.parent_id IS NULL
    UNION ALL
    SELECT c.id, t.depth + 1,
           t.path || (array_position(ARRAY['province','city','county','township'], c.level) || ':' || c.code)
    FROM unit c JOIN tree t ON c.parent_id = t.id
)
SELECT u.id, u.code, u.name, u.level, u.system, u.branch, coalesce(u.parent_id, 0),
       u.staffing_quota, u.post_quota, u.headcount, u.note,
       coalesce(p.name, ''), t.depth,
       (SELECT count(*) FROM person pe WHERE pe.home_unit_id = u.id)
FROM tree t
JOIN unit u ON u.id = t.id
LEFT JOIN unit p ON p.id = u.parent_id
ORDER BY t.path`

// UnitTree returns every unit in hierarchy order with its depth.
func (s *Store) UnitTree(ctx context.Context) ([]secondment.UnitNode, error) {
	rows, err := s.Pool.Query(ctx, unitTreeSQL)
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	nodes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.UnitNode, error) {
		var n secondment.UnitNode
		err := r.Scan(&n.ID, &n.Code, &n.Name, &n.Level, &n.System, &n.Branch, &n.ParentID,
			&n.StaffingQuota, &n.PostQuota, &n.Headcount, &n.Note, &n.ParentName, &n.Depth, &n.People)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("list units: %w", err)
	}
	return nodes, nil
}

// UnitGetByCode returns one unit.
func (s *Store) UnitGetByCode(ctx context.Context, code string) (secondment.Unit, error) {
	var u secondment.Unit
	err := s.Pool.QueryRow(ctx, `
		SELECT id, code, name, level, system, branch, coalesce(parent_id, 0),
		       staffing_quota, post_quota, headcount, note
		FROM unit WHERE code = $1`, code).
		Scan(&u.ID, &u.Code, &u.Name, &u.Level, &u.System, &u.Branch, &u.ParentID,
			&u.StaffingQuota, &u.PostQuota, &u.Headcount, &u.Note)
	if err != nil {
		return u, fmt.Errorf("get unit %s: %w", code, mapError(err, "unit"))
	}
	return u, nil
}

// UnitCount counts units, and of them the townships.
func (s *Store) UnitCount(ctx context.Context) (all, townships int, err error) {
	err = s.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE level = 'township') FROM unit`).
		Scan(&all, &townships)
	if err != nil {
		return 0, 0, fmt.Errorf("count units: %w", err)
	}
	return all, townships, nil
}

// upsertUnit inserts or updates a unit by code. A row whose content is
// unchanged is not written, so re-running an import touches nothing.
func upsertUnit(ctx context.Context, tx pgx.Tx, u secondment.Unit, parentID int64) (id int64, inserted, changed bool, err error) {
	var parent *int64
	if parentID != 0 {
		parent = &parentID
	}
	err = tx.QueryRow(ctx, `
		INSERT INTO unit (code, name, level, system, branch, parent_id, staffing_quota, post_quota, headcount, note)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (code) DO UPDATE SET
			name = EXCLUDED.name, level = EXCLUDED.level, system = EXCLUDED.system,
			branch = EXCLUDED.branch, parent_id = EXCLUDED.parent_id,
			staffing_quota = EXCLUDED.staffing_quota, post_quota = EXCLUDED.post_quota,
			headcount = EXCLUDED.headcount, note = EXCLUDED.note, updated_at = now()
		WHERE (unit.name, unit.level, unit.system, unit.branch, unit.parent_id, unit.staffing_quota,
		       unit.post_quota, unit.headcount, unit.note)
		      IS DISTINCT FROM
		      (EXCLUDED.name, EXCLUDED.level, EXCLUDED.system, EXCLUDED.branch, EXCLUDED.parent_id,
		       EXCLUDED.staffing_quota, EXCLUDED.post_quota, EXCLUDED.headcount, EXCLUDED.note)
		RETURNING id, xmax = 0`,
		u.Code, u.Name, u.Level, u.System, u.Branch, parent, u.StaffingQuota, u.PostQuota, u.Headcount, u.Note).
		Scan(&id, &inserted)
	if errors.Is(err, pgx.ErrNoRows) { // the same as stored: nothing written
		err = tx.QueryRow(ctx, `SELECT id FROM unit WHERE code = $1`, u.Code).Scan(&id)
		return id, false, false, mapError(err, "unit")
	}
	if err != nil {
		return 0, false, false, fmt.Errorf("save unit %s: %w", u.Code, mapError(err, "unit"))
	}
	return id, inserted, !inserted, nil
}

// UnitCreate adds one unit under the parent with parentCode ("" for a
// root), and audits it. An existing code is a field error.
func (s *Store) UnitCreate(ctx context.Context, by Actor, u secondment.Unit, parentCode string, now time.Time) (int64, error) {
	if err := u.Validate(); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var parentID int64
		if parentCode != "" {
			parent, err := unitByCodeTx(ctx, tx, parentCode)
			if err != nil {
				if secondment.ErrorCodeOf(err) == secondment.ENotFound {
					return fieldError("parent", "unit.error.parent_unknown")
				}
				return err
			}
			if err := u.ValidateParent(parent); err != nil {
				return err
			}
			parentID = parent.ID
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM unit WHERE code = $1)`, u.Code).Scan(&exists); err != nil {
			return fmt.Errorf("check unit code: %w", err)
		}
		if exists {
			return fieldError("code", "unit.error.code_taken")
		}
		var err error
		if id, _, _, err = upsertUnit(ctx, tx, u, parentID); err != nil {
			return err
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "unit.create",
			ObjectType: "unit", ObjectID: id, UnitID: id,
			Detail: map[string]any{"code": u.Code, "name": u.Name, "level": u.Level, "parent": parentCode}})
	})
	return id, err
}

// UnitUpdate changes a unit's name and numbers (its place in the tree and
// its kind stay), and audits old and new.
func (s *Store) UnitUpdate(ctx context.Context, by Actor, id int64, name string, staffing, posts, headcount *int, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var before secondment.Unit
		err := tx.QueryRow(ctx, `SELECT id, code, name, level, system, branch, staffing_quota, post_quota, headcount
			FROM unit WHERE id = $1 FOR UPDATE`, id).Scan(&before.ID, &before.Code, &before.Name, &before.Level,
			&before.System, &before.Branch, &before.StaffingQuota, &before.PostQuota, &before.Headcount)
		if err != nil {
			return mapError(err, "unit")
		}
		after := before
		after.Name, after.StaffingQuota, after.PostQuota, after.Headcount = name, staffing, posts, headcount
		if err := after.Validate(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE unit SET name = $2, staffing_quota = $3, post_quota = $4, headcount = $5, updated_at = $6
			WHERE id = $1`, id, name, staffing, posts, headcount, now); err != nil {
			return fmt.Errorf("update unit %s: %w", before.Code, mapError(err, "unit"))
		}
		return auditInsert(ctx, tx, AuditEvent{At: now, ActorID: by.ID, ActorName: by.Name, Action: "unit.update",
			ObjectType: "unit", ObjectID: id, UnitID: id, Detail: map[string]any{
				"code":   before.Code,
				"before": map[string]any{"name": before.Name, "staffing_quota": before.StaffingQuota, "post_quota": before.PostQuota, "headcount": before.Headcount},
				"after":  map[string]any{"name": name, "staffing_quota": staffing, "post_quota": posts, "headcount": headcount}}})
	})
}
