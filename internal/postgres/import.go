package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"secondment/internal/secondment"
)

// UnitImport is a unit with its parent named by code.
type UnitImport struct {
	secondment.Unit
	ParentCode string
}

// PersonImport is a person with the home unit named by code.
type PersonImport struct {
	secondment.Person
	HomeUnitCode string
}

// Import is a set of records to save together.
type Import struct {
	Units    []UnitImport
	People   []PersonImport
	Policies []PolicyImport
}

// ImportResult counts what an import changed.
type ImportResult struct {
	UnitsAdded, UnitsUpdated, UnitsUnchanged    int
	PeopleAdded, PeopleUpdated, PeopleUnchanged int
	PoliciesAdded, PoliciesUnchanged            int
}

// Import saves units, people and policy versions keyed by their codes, in
// one transaction: all of it or nothing. Running it again with the same
// input changes no row, so it is idempotent. Units must come parents first.
func (s *Store) Import(ctx context.Context, d Import) (ImportResult, error) {
	var res ImportResult
	units, people := d.Units, d.People
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ids := map[string]int64{}
		levels := map[string]secondment.Unit{}
		for _, u := range units {
			if err := u.Validate(); err != nil {
				return fmt.Errorf("unit %s: %w", u.Code, err)
			}
			var parentID int64
			if u.ParentCode != "" {
				parent, ok := levels[u.ParentCode]
				if !ok {
					p, err := unitByCodeTx(ctx, tx, u.ParentCode)
					if err != nil {
						return fmt.Errorf("unit %s: parent %s: %w", u.Code, u.ParentCode, err)
					}
					parent = p
				}
				if err := u.ValidateParent(parent); err != nil {
					return fmt.Errorf("unit %s under %s: %w", u.Code, u.ParentCode, err)
				}
				parentID = parent.ID
			}
			id, inserted, changed, err := upsertUnit(ctx, tx, u.Unit, parentID)
			if err != nil {
				return err
			}
			count(&res.UnitsAdded, &res.UnitsUpdated, &res.UnitsUnchanged, inserted, changed)
			u.Unit.ID = id
			ids[u.Code] = id
			levels[u.Code] = u.Unit
		}
		for _, p := range people {
			unitID, ok := ids[p.HomeUnitCode]
			if !ok {
				u, err := unitByCodeTx(ctx, tx, p.HomeUnitCode)
				if err != nil {
					return fmt.Errorf("person %s: home unit %s: %w", p.Code, p.HomeUnitCode, err)
				}
				unitID = u.ID
			}
			p.HomeUnitID = unitID
			if err := p.Validate(); err != nil {
				return fmt.Errorf("person %s: %w", p.Code, err)
			}
			inserted, changed, err := upsertPerson(ctx, tx, p.Person)
			if err != nil {
				return err
			}
			count(&res.PeopleAdded, &res.PeopleUpdated, &res.PeopleUnchanged, inserted, changed)
		}
		var err error
		res.PoliciesAdded, res.PoliciesUnchanged, err = importPolicies(ctx, tx, d.Policies)
		return err
	})
	return res, err
}

func unitByCodeTx(ctx context.Context, tx pgx.Tx, code string) (secondment.Unit, error) {
	var u secondment.Unit
	err := tx.QueryRow(ctx, `SELECT id, code, name, level, system, branch FROM unit WHERE code = $1`, code).
		Scan(&u.ID, &u.Code, &u.Name, &u.Level, &u.System, &u.Branch)
	return u, mapError(err, "unit")
}

func count(added, updated, unchanged *int, inserted, changed bool) {
	switch {
	case inserted:
		*added++
	case changed:
		*updated++
	default:
		*unchanged++
	}
}
