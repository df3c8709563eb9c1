package secondment

import (
	"regexp"
	"slices"
	"unicode/utf8"
)

// Level is an administrative level. The order matters: rule R2 counts the
// steps between the borrowing and the lending unit.
type Level string

const (
	LevelProvince Level = "province" // 省
	LevelCity     Level = "city"     // 市 (地级市)
	LevelCounty   Level = "county"   // 县、区、旗, county-level cities
	LevelTownship Level = "township" // 乡、镇、街道、苏木
)

// Levels lists every level from the top down.
var Levels = []Level{LevelProvince, LevelCity, LevelCounty, LevelTownship}

// Rank is 0 for province and grows downwards.
func (l Level) Rank() int { return slices.Index(Levels, l) }

// Valid reports whether l is one of Levels.
func (l Level) Valid() bool { return l.Rank() >= 0 }

// System is a vertical line of organs (rule R3).
type System string

const (
	SystemGeneral        System = "general"        // party committees, governments, congresses, CPPCC, townships
	SystemDiscipline     System = "discipline"     // 纪委监委
	SystemCourt          System = "court"          // 法院
	SystemProcuratorate  System = "procuratorate"  // 检察院
	SystemPublicSecurity System = "publicsecurity" // 公安
	SystemVertical       System = "vertical"       // vertically managed departments
	SystemMass           System = "mass"           // mass organisations
)

// Systems lists every system.
var Systems = []System{SystemGeneral, SystemDiscipline, SystemCourt, SystemProcuratorate,
	SystemPublicSecurity, SystemVertical, SystemMass}

// Valid reports whether s is one of Systems.
func (s System) Valid() bool { return slices.Contains(Systems, s) }

// Branch is the sub-kind of a unit in the general line; empty for
// comprehensive units (a city, a county, a township) and for other systems.
type Branch string

const (
	BranchNone       Branch = ""
	BranchParty      Branch = "party"      // 党委及其部门
	BranchGovernment Branch = "government" // 政府及其部门
	BranchCongress   Branch = "congress"   // 人大
	BranchCPPCC      Branch = "cppcc"      // 政协
)

// Branches lists every branch, the empty one included.
var Branches = []Branch{BranchNone, BranchParty, BranchGovernment, BranchCongress, BranchCPPCC}

// Valid reports whether b is one of Branches.
func (b Branch) Valid() bool { return slices.Contains(Branches, b) }

// Unit is an organ or institution (单位). Quotas are nil where they do not
// apply, as for a region such as 包头市 that is a container of units.
type Unit struct {
	ID            int64
	Code          string
	Name          string
	Level         Level
	System        System
	Branch        Branch
	ParentID      int64 // 0 for a root
	StaffingQuota *int  // 编制数
	PostQuota     *int  // 职数
	Headcount     *int  // 实有人数
	Note          string
}

// UnitNode is a unit placed in its hierarchy, as lists show it.
type UnitNode struct {
	Unit
	ParentName string
	Depth      int // 0 for a root
	People     int // people on record with this home unit
}

var codePattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,63}$`)

// Validate checks a unit on its own; the parent's level is checked by
// ValidateParent because it needs the parent.
func (u Unit) Validate() error {
	var fe []FieldError
	if !codePattern.MatchString(u.Code) {
		fe = append(fe, FieldError{"code", Msg("unit.error.code")})
	}
	if n := utf8.RuneCountInString(u.Name); n == 0 || n > 100 {
		fe = append(fe, FieldError{"name", Msg("error.length", "Min", 1, "Max", 100)})
	}
	if !u.Level.Valid() {
		fe = append(fe, FieldError{"level", Msg("unit.error.level")})
	}
	if !u.System.Valid() {
		fe = append(fe, FieldError{"system", Msg("unit.error.system")})
	}
	if !u.Branch.Valid() || (u.Branch != BranchNone && u.System != SystemGeneral) {
		fe = append(fe, FieldError{"branch", Msg("unit.error.branch")})
	}
	for _, q := range []struct {
		field string
		v     *int
	}{{"staffing_quota", u.StaffingQuota}, {"post_quota", u.PostQuota}, {"headcount", u.Headcount}} {
		if q.v != nil && (*q.v < 0 || *q.v > 1_000_000) {
			fe = append(fe, FieldError{q.field, Msg("error.range", "Min", 0, "Max", 1_000_000)})
		}
	}
	if len(fe) > 0 {
		return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return nil
}

// ValidateParent checks that a unit sits no higher than its parent: a
// township under a county, a county organ under its county, never upwards.
func (u Unit) ValidateParent(parent Unit) error {
	if u.Level.Rank() < parent.Level.Rank() {
		return &Error{Code: EInvalid, Message: Msg("error.invalid"),
			Fields: []FieldError{{"parent", Msg("unit.error.parent_level")}}}
	}
	return nil
}

// Person is someone on record: a cadre who may be seconded (借调人员) or
// who acts for a unit. HomeUnitID is the unit they belong to.
type Person struct {
	ID         int64
	Code       string // 人员编号, unique
	Name       string
	HomeUnitID int64
	Post       string // 职务
	Rank       string // 职级
	Note       string
	Leader     bool // holds a leadership post (领导职务)

	// The particulars an approval form (借调审批表) carries; zero when
	// not on record.
	Gender    Gender
	Born      Date // 出生年月: the first of the month
	Political Political
	Category  StaffCategory // 人员类别/编制性质
	Education string        // 学历, as written: 大学本科, 研究生
}

// Gender is 性别 as recorded: male, female, or not on record ("").
type Gender string

const (
	GenderMale   Gender = "male"
	GenderFemale Gender = "female"
)

// Valid reports whether g is a gender a person may have on record.
func (g Gender) Valid() bool { return g == "" || g == GenderMale || g == GenderFemale }

// Message names g.
func (g Gender) Message() Message { return Msg("gender." + string(g)) }

// Political is 政治面貌.
type Political string

var AllPolitical = []Political{"cpc", "cpc_probationary", "cyl", "democratic", "masses"}

func (p Political) Valid() bool      { return p == "" || slices.Contains(AllPolitical, p) }
func (p Political) Message() Message { return Msg("political." + string(p)) }

// StaffCategory is 人员类别 (编制性质): a civil servant on an
// administrative establishment, staff of a body managed under the Civil
// Servant Law (参公), staff on an institution's establishment (事业), or
// other.
type StaffCategory string

var AllStaffCategories = []StaffCategory{"civil_servant", "cs_managed", "institution", "other"}

func (c StaffCategory) Valid() bool      { return c == "" || slices.Contains(AllStaffCategories, c) }
func (c StaffCategory) Message() Message { return Msg("category." + string(c)) }

// PersonView is a person with the names a list shows.
type PersonView struct {
	Person
	HomeUnitCode  string
	HomeUnitName  string
	HomeUnitLevel Level
}

// Validate checks a person's own fields.
func (p Person) Validate() error {
	var fe []FieldError
	if !codePattern.MatchString(p.Code) {
		fe = append(fe, FieldError{"code", Msg("person.error.code")})
	}
	if n := utf8.RuneCountInString(p.Name); n == 0 || n > 50 {
		fe = append(fe, FieldError{"name", Msg("error.length", "Min", 1, "Max", 50)})
	}
	if p.HomeUnitID <= 0 {
		fe = append(fe, FieldError{"home_unit", Msg("error.required")})
	}
	for _, f := range []struct{ field, v string }{{"post", p.Post}, {"rank", p.Rank}} {
		if utf8.RuneCountInString(f.v) > 50 {
			fe = append(fe, FieldError{f.field, Msg("error.length", "Min", 0, "Max", 50)})
		}
	}
	if !p.Gender.Valid() {
		fe = append(fe, FieldError{"gender", Msg("person.error.gender")})
	}
	if !p.Born.IsZero() && (p.Born.Day != 1 || p.Born.Year < 1940 || p.Born.Year > 2015) {
		fe = append(fe, FieldError{"born", Msg("person.error.born")})
	}
	if !p.Political.Valid() {
		fe = append(fe, FieldError{"political", Msg("person.error.political")})
	}
	if !p.Category.Valid() {
		fe = append(fe, FieldError{"category", Msg("person.error.category")})
	}
	if utf8.RuneCountInString(p.Education) > 20 {
		fe = append(fe, FieldError{"education", Msg("error.length", "Min", 0, "Max", 20)})
	}
	if len(fe) > 0 {
		return &Error{Code: EInvalid, Message: Msg("error.invalid"), Fields: fe}
	}
	return nil
}
