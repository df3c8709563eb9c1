package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"secondment/internal/secondment"
)

// personColumns are what collectPeople scans, of person p and its home
// unit u.
const personColumns = `p.id, p.code, p.name, p.home_unit_id, p.post, p.rank, p.note, p.leader, u.code, u.name, u.level,
       p.gender, p.born, p.political, p.category, p.education`

// PersonPage is one page of people, by code, whose home unit is one of
// Units (nil: any) and whose name or code contains Query. Only the
// conditions set are written into the query.
type PersonPage struct {
	Units     []int64
	Query     string
	AfterCode string // the code of the last person of the page before
	Limit     int
}

// personWhere writes f's conditions; arg adds an argument.
func personWhere(f PersonPage, arg func(any) string) string {
	where := []string{"true"}
	if f.Units != nil {
		where = append(where, "p.home_unit_id = ANY ("+arg(f.Units)+"::bigint[])")
	}
	if q := strings.TrimSpace(f.Query); q != "" {
		x := arg(q)
		where = append(where, "(strpos(p.name, "+x+") > 0 OR strpos(p.code, upper("+x+")) > 0)")
	}
	return strings.Join(where, " AND ")
}

// PersonList returns a page of people with their home units.
func (s *Store) PersonList(ctx context.Context, f PersonPage) ([]secondment.PersonView, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := personWhere(f, arg)
	if f.AfterCode != "" {
		where += " AND p.code > " + arg(f.AfterCode)
	}
	rows, err := s.Pool.Query(ctx, `SELECT `+personColumns+` FROM person p JOIN unit u ON u.id = p.home_unit_id
		WHERE `+where+` ORDER BY p.code LIMIT `+arg(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	return collectPeople(rows)
}

// collectPeople reads the rows of a query selecting personColumns.
func collectPeople(rows pgx.Rows) ([]secondment.PersonView, error) {
	people, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (secondment.PersonView, error) { return scanPerson(r) })
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	return people, nil
}

func scanPerson(r pgx.Row) (secondment.PersonView, error) {
	var p secondment.PersonView
	var born pgtype.Date
	err := r.Scan(&p.ID, &p.Code, &p.Name, &p.HomeUnitID, &p.Post, &p.Rank, &p.Note, &p.Leader,
		&p.HomeUnitCode, &p.HomeUnitName, &p.HomeUnitLevel, &p.Gender, &born, &p.Political, &p.Category, &p.Education)
	p.Born = civil(born)
	return p, err
}

// PersonCount counts the people of f (its page and limit aside) up to
// max: a province has tens of thousands.
func (s *Store) PersonCount(ctx context.Context, f PersonPage, max int) (int, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	where := personWhere(f, arg)
	var n int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM person p WHERE `+where+` LIMIT `+arg(max)+`) c`,
		args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count people: %w", err)
	}
	return n, nil
}

// upsertPerson inserts or updates a person by code, writing nothing when
// the content is unchanged.
func upsertPerson(ctx context.Context, tx pgx.Tx, p secondment.Person) (inserted, changed bool, err error) {
	err = tx.QueryRow(ctx, `
		INSERT INTO person (code, name, home_unit_id, post, rank, note, leader, gender, born, political, category, education)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (code) DO UPDATE SET
			name = EXCLUDED.name, home_unit_id = EXCLUDED.home_unit_id, post = EXCLUDED.post,
			rank = EXCLUDED.rank, note = EXCLUDED.note, leader = EXCLUDED.leader, gender = EXCLUDED.gender,
			born = EXCLUDED.born, political = EXCLUDED.political, category = EXCLUDED.category,
			education = EXCLUDED.education, updated_at = now()
		WHERE (person.name, person.home_unit_id, person.post, person.rank, person.note, person.leader,
		       person.gender, person.born, person.political, person.category, person.education)
		      IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.home_unit_id, EXCLUDED.post, EXCLUDED.rank, EXCLUDED.note, EXCLUDED.leader,
		       EXCLUDED.gender, EXCLUDED.born, EXCLUDED.political, EXCLUDED.category, EXCLUDED.education)
		RETURNING xmax = 0`,
		p.Code, p.Name, p.HomeUnitID, p.Post, p.Rank, p.Note, p.Leader,
		p.Gender, dateArg(p.Born), p.Political, p.Category, p.Education).Scan(&inserted)
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
	return personGet(ctx, s.Pool, id, "")
}

// PersonGet is Store.PersonGet inside a transaction.
func (t *Tx) PersonGet(ctx context.Context, id int64) (secondment.PersonView, error) {
	return personGet(ctx, t.q, id, "")
}

// PersonLock reads person id and locks the row until the transaction
// ends, so that two edits of one person are made one after the other.
func (t *Tx) PersonLock(ctx context.Context, id int64) (secondment.PersonView, error) {
	return personGet(ctx, t.q, id, " FOR UPDATE OF p")
}

func personGet(ctx context.Context, q dbtx, id int64, lock string) (secondment.PersonView, error) {
	p, err := scanPerson(q.QueryRow(ctx, `SELECT `+personColumns+` FROM person p JOIN unit u ON u.id = p.home_unit_id WHERE p.id = $1`+lock, id))
	if err != nil {
		return p, fmt.Errorf("get person %d: %w", id, mapError(err, "person"))
	}
	return p, nil
}

// PersonUpdate writes person p's fields but its code, with its audit
// event.
func (t *Tx) PersonUpdate(ctx context.Context, p secondment.Person, e AuditEvent) error {
	if _, err := t.q.Exec(ctx, `UPDATE person SET name = $2, home_unit_id = $3, post = $4, rank = $5, note = $6, leader = $7,
		updated_at = $8, gender = $9, born = $10, political = $11, category = $12, education = $13 WHERE id = $1`,
		p.ID, p.Name, p.HomeUnitID, p.Post, p.Rank, p.Note, p.Leader, e.At,
		p.Gender, dateArg(p.Born), p.Political, p.Category, p.Education); err != nil {
		return fmt.Errorf("update person %d: %w", p.ID, mapError(err, "person"))
	}
	return auditInsert(ctx, t.q, e)
}
