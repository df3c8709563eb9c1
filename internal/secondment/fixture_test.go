package secondment

import "time"

// This file is compiled into the package under test only; its exported
// names serve the external tests (package secondment_test) too.

func ip(n int) *int { return &n }

// DemoUnits mirrors shared/demo/units.csv (IDs in file order) plus a test
// region T whose units are neither townships nor in separate systems, so the
// chain can be walked without any rule firing.
func DemoUnits() []Unit {
	type row struct {
		code, name      string
		level           Level
		system          System
		branch          Branch
		parent          string
		staff, hc, post int
	}
	rows := []row{
		{"NMG-BT", "包头市", LevelCity, SystemGeneral, "", "", -1, -1, -1},
		{"NMG-BT-ZZB", "包头市委组织部", LevelCity, SystemGeneral, BranchParty, "NMG-BT", 40, 38, 8},
		{"NMG-BT-QS", "青山区", LevelCounty, SystemGeneral, "", "NMG-BT", -1, -1, -1},
		{"NMG-BT-QS-ZZB", "青山区委组织部", LevelCounty, SystemGeneral, BranchParty, "NMG-BT-QS", 15, 14, 3},
		{"NMG-BT-QS-RD", "青山区人大常委会机关", LevelCounty, SystemGeneral, BranchCongress, "NMG-BT-QS", 30, 28, 6},
		{"NMG-BT-QS-KXL", "科学路街道办事处", LevelTownship, SystemGeneral, "", "NMG-BT-QS", 25, 23, 5},
		{"NMG-BT-JY", "九原区", LevelCounty, SystemGeneral, "", "NMG-BT", -1, -1, -1},
		{"NMG-BT-JY-ZZB", "九原区委组织部", LevelCounty, SystemGeneral, BranchParty, "NMG-BT-JY", 16, 15, 3},
		{"NMG-BT-JY-MC", "麻池镇", LevelTownship, SystemGeneral, "", "NMG-BT-JY", 45, 41, 7},
		{"SD-WH", "威海市", LevelCity, SystemGeneral, "", "", -1, -1, -1},
		{"SD-WH-ZZB", "威海市委组织部", LevelCity, SystemGeneral, BranchParty, "SD-WH", 45, 43, 9},
		{"SD-WH-FY", "威海市中级人民法院", LevelCity, SystemCourt, "", "SD-WH", 120, 112, 20},
		{"SD-WH-HC", "环翠区", LevelCounty, SystemGeneral, "", "SD-WH", -1, -1, -1},
		{"SD-WH-HC-ZZB", "环翠区委组织部", LevelCounty, SystemGeneral, BranchParty, "SD-WH-HC", 15, 14, 3},
		{"SD-WH-HC-XC", "环翠区乡村振兴工作专班", LevelCounty, SystemGeneral, BranchGovernment, "SD-WH-HC", 10, 4, 2},
		{"SD-WH-HC-YT", "羊亭镇", LevelTownship, SystemGeneral, "", "SD-WH-HC", 82, 72, 10},
		{"XJ-KS", "喀什市", LevelCounty, SystemGeneral, "", "", -1, -1, -1},
		{"XJ-KS-ZZB", "喀什市委组织部", LevelCounty, SystemGeneral, BranchParty, "XJ-KS", 18, 17, 4},
		{"XJ-KS-JW", "喀什市纪委监委", LevelCounty, SystemDiscipline, "", "XJ-KS", 60, 57, 10},
		{"XJ-KS-AKKS", "阿克喀什乡", LevelTownship, SystemGeneral, "", "XJ-KS", 50, 44, 8},
		{"T", "测试县", LevelCounty, SystemGeneral, "", "", -1, -1, -1},
		{"T-ZZB", "测试县委组织部", LevelCounty, SystemGeneral, BranchParty, "T", 10, 9, 2},
		{"T-A", "测试县发改局", LevelCounty, SystemGeneral, BranchGovernment, "T", 30, 20, 5},
		{"T-B", "测试县财政局", LevelCounty, SystemGeneral, BranchGovernment, "T", 30, 25, 5},
	}
	ids := map[string]int64{}
	var out []Unit
	for i, r := range rows {
		ids[r.code] = int64(i + 1)
		u := Unit{ID: int64(i + 1), Code: r.code, Name: r.name, Level: r.level, System: r.system,
			Branch: r.branch, ParentID: ids[r.parent]}
		if r.staff >= 0 {
			u.StaffingQuota, u.Headcount, u.PostQuota = ip(r.staff), ip(r.hc), ip(r.post)
		}
		out = append(out, u)
	}
	return out
}

// DemoUnit returns the demo unit with code.
func DemoUnit(code string) Unit {
	for _, u := range DemoUnits() {
		if u.Code == code {
			return u
		}
	}
	panic("no demo unit " + code)
}

// DemoPolicies assigns the presets as units.csv does, and the national one
// to the test region.
func DemoPolicies() map[int64][]Policy {
	return map[int64][]Policy{
		DemoUnit("NMG-BT").ID: Preset(PresetBaotou),
		DemoUnit("SD-WH").ID:  Preset(PresetWeihai),
		DemoUnit("XJ-KS").ID:  Preset(PresetKashgar),
		DemoUnit("T").ID:      Preset(PresetNational),
	}
}

// DemoJurisdiction resolves the jurisdiction of the demo unit with code.
func DemoJurisdiction(code string) Jurisdiction {
	h, err := NewHierarchy(DemoUnits())
	if err != nil {
		panic(err)
	}
	j, err := h.Jurisdiction(DemoUnit(code).ID, DemoPolicies())
	if err != nil {
		panic(err)
	}
	return j
}

// At is 10:00 in Shanghai on day d, a time inside the office day.
func At(d Date) time.Time { return d.Start().Add(10 * time.Hour) }

// EmittableIDs lists the message IDs the package builds from parts at run
// time; TestCatalog adds the literal IDs it finds in the source.
func EmittableIDs() []string {
	var ids []string
	add := func(ms ...Message) {
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
	}
	for _, s := range AllStates {
		add(s.Message())
	}
	for s := range notify {
		ids = append(ids, "notify."+string(s))
	}
	for _, a := range AllActions {
		add(a.Message())
		ids = append(ids, "event."+string(a))
	}
	for _, r := range AllRoles {
		add(r.Message())
	}
	for _, r := range AllRules {
		add(r.Name())
	}
	for _, s := range AllSeverities {
		add(s.Message())
	}
	for _, m := range AllTownshipModes {
		add(m.Message())
	}
	for _, k := range AllKinds {
		add(k.Message())
	}
	for _, a := range AllAliases {
		add(a.Message())
		if a != AliasNone {
			ids = append(ids, "policy.r9.alias."+string(a))
		}
	}
	for _, p := range AllPurposes {
		add(p.Message())
	}
	for _, m := range AllTransferMethods {
		add(m.Message())
	}
	for _, n := range AllPresets {
		add(n.Message())
		for _, p := range Preset(n) {
			add(p.Message())
		}
	}
	add(Policy{Version: 1}.Message())
	return ids
}
