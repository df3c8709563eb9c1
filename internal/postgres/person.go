package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// PersonFilter narrows a person list; the zero value lists everyone.
type PersonFilter struct {
	HomeUnitCode string
}

// PersonList returns people with their home units, by unit then name.
func (s *Store) PersonList(ctx context.Context, f PersonFilter) ([]secondment.PersonView, error) {
	rows, err := s.Pool.Query(ctx, `
		SELECT p.id, p.code, p.name, p.home_unit_id, p.post, p.rank, p.note, u.code, u.name, u.level
		FROM person p JOIN unit u ON u.id = p.home_unit_id
		WHERE $1 = '' OR u.code = $1
		ORDER BY u.code, p.code`, f.HomeUnitCode)
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	return collectPeople(rows)
}

// collectPeople reads the rows of a person query joined with the home unit.
func collectPeople(rows pgx.Rows) ([]secondment.PersonView, error) {
	people, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.PersonView, error) {
		var p secondment.PersonView
		err := r.Scan(&p.ID, &p.Code, &p.Name, &p.HomeUnitID, &p.Post, &p.Rank, &p.Note,
			&p.HomeUnitCode, &p.HomeUnitName, &p.HomeUnitLevel)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	return people, nil
}

// PersonCount counts the people on record.
func (s *Store) PersonCount(ctx context.Context) (int, error) {
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM person`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count people: %w", err)
	}
	return n, nil
}

// upsertPerson inserts or updates a person by code, writing nothing when
// the content is unchanged.
func upsertPerson(ctx context.Context, tx pgx.Tx, p secondment.Person) (inserted, changed bool, err error) {
	err = tx.QueryRow(ctx, `
		INSERT INTO person (code, name, home_unit_id, post, rank, note)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (code) DO UPDATE SET
			name = EXCLUDED.name, home_unit_id = EXCLUDED.home_unit_id, post = EXCLUDED.post,
			rank = EXCLUDED.rank, note = EXCLUDED.note, updated_at = now()
		WHERE (person.name, person.home_unit_id, person.post, person.rank, person.note)
		      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.home_unit_id, EXCLUDED.post, EXCLUDED.rank, EXCLUDED.note)
		RETURNING xmax = 0`,
		p.Code, p.Name, p.HomeUnitID, p.Post, p.Rank, p.Note).Scan(&inserted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("save person %s: %w", p.Code, mapError(err, "person"))
	}
	return inserted, !inserted, nil
}

// PersonGet returns one person with the home unit's names.
func (s *Store) PersonGet(ctx context.Context, id int64) (secondment.PersonView, error) {
	return personGet(ctx, s.Pool, id)
}

// PersonGet is Store.PersonGet inside a transaction.
func (t *Tx) PersonGet(ctx context.Context, id int64) (secondment.PersonView, error) {
	return personGet(ctx, t.q, id)
}

func personGet(ctx context.Context, q dbtx, id int64) (secondment.PersonView, error) {
	var p secondment.PersonView
	err := q.QueryRow(ctx, `
		SELECT p.id, p.code, p.name, p.home_unit_id, p.post, p.rank, p.note, u.code, u.name, u.level
		FROM person p JOIN unit u ON u.id = p.home_unit_id WHERE p.id = $1`, id).
		Scan(&p.ID, &p.Code, &p.Name, &p.HomeUnitID, &p.Post, &p.Rank, &p.Note, &p.HomeUnitCode, &p.HomeUnitName, &p.HomeUnitLevel)
	if err != nil {
		return p, fmt.Errorf("get person %d: %w", id, mapError(err, "person"))
	}
	return p, nil
}
