// Package demo holds the demo data: the units and people of the seed
// article's scenarios S1–S8 (shared/demo/*.csv, copied here so the binary
// carries them). Numbers the seed does not give are marked "invented" in
// each row's source column, which documents the demo and is not loaded:
// the notes clerks read stay empty.
package demo

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

var (
	//go:embed units.csv
	unitsCSV []byte
	//go:embed people.csv
	peopleCSV []byte
)

// Data is the parsed demo data, in import order.
type Data = postgres.Import

// Parse reads the embedded CSV files.
func Parse() (Data, error) {
	units, policies, err := parseUnits(unitsCSV)
	if err != nil {
		return Data{}, fmt.Errorf("demo units.csv: %w", err)
	}
	people, err := parsePeople(peopleCSV)
	if err != nil {
		return Data{}, fmt.Errorf("demo people.csv: %w", err)
	}
	return Data{Units: units, People: people, Policies: policies}, nil
}

// Load saves the demo data; running it again changes nothing. A unit's
// headcount in units.csv is where the demo starts: once the unit exists,
// its headcount is the live figure that transfers-in move (the stories
// complete one), so loading again keeps it.
func Load(ctx context.Context, s *postgres.Store) (postgres.ImportResult, error) {
	d, err := Parse()
	if err != nil {
		return postgres.ImportResult{}, err
	}
	stored, err := s.UnitAll(ctx)
	if err != nil {
		return postgres.ImportResult{}, err
	}
	live := map[string]*int{}
	for _, u := range stored {
		live[u.Code] = u.Headcount
	}
	for i, u := range d.Units {
		if h, ok := live[u.Code]; ok {
			d.Units[i].Headcount = h
		}
	}
	return s.Import(ctx, d)
}

// readCSV returns the rows as maps keyed by the header's column names.
func readCSV(b []byte, want ...string) ([]map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(b))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	for _, w := range want {
		if !slices.Contains(header, w) {
			return nil, fmt.Errorf("header lacks column %q", w)
		}
	}
	var rows []map[string]string
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		row := map[string]string{}
		for i, h := range header {
			row[h] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, row)
	}
}

// systemOf maps the CSV's system column, which names the branch for units
// of the general party-government line (DOMAIN.md: "code it as general with
// sub-kinds party/government/congress").
func systemOf(v string) (secondment.System, secondment.Branch, error) {
	switch b := secondment.Branch(v); b {
	case secondment.BranchParty, secondment.BranchGovernment, secondment.BranchCongress, secondment.BranchCPPCC:
		return secondment.SystemGeneral, b, nil
	}
	if s := secondment.System(v); s.Valid() {
		return s, secondment.BranchNone, nil
	}
	return "", "", fmt.Errorf("unknown system %q", v)
}

func optInt(v string) (*int, error) {
	if v == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil, fmt.Errorf("%q is not a whole number", v)
	}
	return &n, nil
}

// parseUnits reads the units, and the policy preset that a region's row
// names: its jurisdiction adopts every version of that preset.
func parseUnits(b []byte) ([]postgres.UnitImport, []postgres.PolicyImport, error) {
	rows, err := readCSV(b, "code", "name", "level", "system", "parent_code", "staffing_quota", "headcount", "post_quota", "policy_preset", "source")
	if err != nil {
		return nil, nil, err
	}
	var out []postgres.UnitImport
	var policies []postgres.PolicyImport
	for i, r := range rows {
		sys, branch, err := systemOf(r["system"])
		if err != nil {
			return nil, nil, fmt.Errorf("row %d (%s): %w", i+2, r["code"], err)
		}
		if name := secondment.PresetName(r["policy_preset"]); name != "" {
			if !name.Valid() {
				return nil, nil, fmt.Errorf("row %d (%s): unknown policy preset %q", i+2, r["code"], name)
			}
			for _, p := range secondment.Preset(name) {
				policies = append(policies, postgres.PolicyImport{Policy: p, JurisdictionCode: r["code"]})
			}
		}
		u := postgres.UnitImport{ParentCode: r["parent_code"], Unit: secondment.Unit{
			Code: r["code"], Name: r["name"], Level: secondment.Level(r["level"]),
			System: sys, Branch: branch,
		}}
		for _, f := range []struct {
			col string
			dst **int
		}{{"staffing_quota", &u.StaffingQuota}, {"headcount", &u.Headcount}, {"post_quota", &u.PostQuota}} {
			if *f.dst, err = optInt(r[f.col]); err != nil {
				return nil, nil, fmt.Errorf("row %d (%s) %s: %w", i+2, r["code"], f.col, err)
			}
		}
		out = append(out, u)
	}
	return out, policies, nil
}

// parsePeople gives each person a stable personnel number from the home
// unit's code and the person's place among that unit's rows, so a second
// load finds the same records.
func parsePeople(b []byte) ([]postgres.PersonImport, error) {
	rows, err := readCSV(b, "name", "home_unit_code", "post", "rank", "leader", "gender", "born", "political", "category",
		"education", "story", "source")
	if err != nil {
		return nil, err
	}
	seq := map[string]int{}
	var out []postgres.PersonImport
	for _, r := range rows {
		unit := r["home_unit_code"]
		seq[unit]++
		// The CSV's story and source columns say where each row comes from,
		// for whoever maintains the demo; the people's notes, which clerks
		// read in their own language, stay empty.
		p := secondment.Person{Code: fmt.Sprintf("%s-P%02d", unit, seq[unit]), Name: r["name"],
			Post: r["post"], Rank: r["rank"], Leader: r["leader"] == "yes",
			Gender: secondment.Gender(r["gender"]), Political: secondment.Political(r["political"]),
			Category: secondment.StaffCategory(r["category"]), Education: r["education"]}
		if v := r["born"]; v != "" {
			if p.Born, err = secondment.ParseMonth(v); err != nil {
				return nil, fmt.Errorf("people.csv, %s: born %q: %w", r["name"], v, err)
			}
		}
		out = append(out, postgres.PersonImport{HomeUnitCode: unit, Person: p})
	}
	return out, nil
}
