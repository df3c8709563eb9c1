package secondment

import "testing"

func TestJurisdictionResolvesPolicyAndOrgDept(t *testing.T) {
	for _, tc := range []struct {
		borrower, root, orgdept string
	}{
		{"NMG-BT-QS-RD", "NMG-BT", "NMG-BT-QS-ZZB"},  // district organ: city policy, district org dept
		{"NMG-BT-JY-ZZB", "NMG-BT", "NMG-BT-ZZB"},    // an org dept's own borrowing goes one region up
		{"SD-WH-FY", "SD-WH", "SD-WH-ZZB"},           // city organ
		{"SD-WH-HC-XC", "SD-WH", "SD-WH-HC-ZZB"},     // inherited policy
		{"XJ-KS-JW", "XJ-KS", "XJ-KS-ZZB"},           // county-level city
		{"XJ-KS-ZZB", "XJ-KS", "XJ-KS-ZZB"},          // nothing above: it signs off itself
		{"NMG-BT-QS-KXL", "NMG-BT", "NMG-BT-QS-ZZB"}, // a township borrowing
	} {
		j := DemoJurisdiction(tc.borrower)
		if j.Root.Code != tc.root || j.OrgDept.Code != tc.orgdept {
			t.Errorf("%s: root %s, org dept %s; want %s, %s", tc.borrower, j.Root.Code, j.OrgDept.Code, tc.root, tc.orgdept)
		}
	}
}

func TestJurisdictionErrors(t *testing.T) {
	h, err := NewHierarchy(DemoUnits())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Jurisdiction(DemoUnit("SD-WH-FY").ID, map[int64][]Policy{}); ErrorCodeOf(err) != EInvalid {
		t.Errorf("no policy: %v", err)
	}
	if _, err := h.Jurisdiction(9999, DemoPolicies()); ErrorCodeOf(err) != ENotFound {
		t.Errorf("unknown unit: %v", err)
	}
	bad := []Unit{{ID: 1, Code: "A", ParentID: 2}, {ID: 2, Code: "B", ParentID: 1}}
	if _, err := NewHierarchy(bad); err == nil {
		t.Error("cycle accepted")
	}
	if _, err := NewHierarchy([]Unit{{ID: 1, Code: "A", ParentID: 7}}); err == nil {
		t.Error("unknown parent accepted")
	}
}

func TestRoleOnIsRelativeToTheRequest(t *testing.T) {
	h, _ := NewHierarchy(DemoUnits())
	s := Secondment{BorrowerID: DemoUnit("NMG-BT-QS-RD").ID, LenderID: DemoUnit("NMG-BT-QS-KXL").ID}
	for _, tc := range []struct {
		role Role
		unit string
		want bool
	}{
		{RoleBorrower, "NMG-BT-QS-RD", true},
		{RoleBorrower, "NMG-BT-QS-KXL", false},
		{RoleLender, "NMG-BT-QS-KXL", true},
		{RoleLender, "NMG-BT-JY-MC", false},
		{RoleOrgDept, "NMG-BT-QS-ZZB", true},
		{RoleOrgDept, "NMG-BT-JY-ZZB", false}, // another district's
		{RoleOrgDept, "SD-WH-ZZB", false},
		{RoleRegistrar, "NMG-BT-QS-ZZB", true},
		{RoleSystem, "", true},
	} {
		var unit int64
		if tc.unit != "" {
			unit = DemoUnit(tc.unit).ID
		}
		if got := h.RoleOn(Actor{Role: tc.role, UnitID: unit}, s); got != tc.want {
			t.Errorf("%s in %s: %v", tc.role, tc.unit, got)
		}
	}
	if !h.Contains(DemoUnit("NMG-BT").ID, DemoUnit("NMG-BT-JY-MC").ID) || h.Contains(DemoUnit("SD-WH").ID, DemoUnit("NMG-BT-JY-MC").ID) {
		t.Error("Contains")
	}
}

func TestSubtree(t *testing.T) {
	h, err := NewHierarchy(DemoUnits())
	if err != nil {
		t.Fatal(err)
	}
	qs := DemoUnit("NMG-BT-QS")
	got := map[string]bool{}
	for _, id := range h.Subtree(qs.ID) {
		u, _ := h.Unit(id)
		got[u.Code] = true
	}
	for _, want := range []string{"NMG-BT-QS", "NMG-BT-QS-RD", "NMG-BT-QS-ZZB", "NMG-BT-QS-KXL"} {
		if !got[want] {
			t.Errorf("subtree of 青山区 lacks %s", want)
		}
	}
	if got["NMG-BT"] || got["NMG-BT-JY-MC"] || len(got) != 4 {
		t.Errorf("subtree of 青山区 = %v", got)
	}
	if h.Subtree(-1) != nil {
		t.Error("subtree of an unknown unit must be empty")
	}
}
