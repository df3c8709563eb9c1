package province

import (
	"fmt"
	"math/rand/v2"

	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// The benchmark's province: one province, 14 cities of 7 counties each, 15
// townships per county, and party, government and congress organs at every
// level, each region with its org dept (a party unit directly under the
// region whose name ends in 组织部, as OrgDeptOf expects). Sizes are
// constants so every run of the benchmark measures the same shape.
const (
	cities            = 14
	countiesPerCity   = 7
	townshipsPerCount = 15
	RootCode          = "BP" // the province; its presence marks a database the benchmark loaded
)

// organ is a kind of organ a region has; the first is always the org dept.
type organ struct {
	suffix string // code suffix
	name   string // name after the region's prefix
	branch secondment.Branch
}

var (
	provinceOrgans = []organ{{"ZZB", "省委组织部", secondment.BranchParty}, {"BGT", "省委办公厅", secondment.BranchParty},
		{"ZFB", "省政府办公厅", secondment.BranchGovernment}, {"RD", "省人大常委会办公厅", secondment.BranchCongress},
		{"FGW", "省发展改革委", secondment.BranchGovernment}}
	cityOrgans = []organ{{"ZZB", "市委组织部", secondment.BranchParty}, {"SWB", "市委办公室", secondment.BranchParty},
		{"XCB", "市委宣传部", secondment.BranchParty}, {"ZFB", "市政府办公室", secondment.BranchGovernment},
		{"FGW", "市发展改革委", secondment.BranchGovernment}, {"RD", "市人大常委会办公室", secondment.BranchCongress}}
	countyOrgans = []organ{{"ZZB", "县委组织部", secondment.BranchParty}, {"XWB", "县委办公室", secondment.BranchParty},
		{"ZFB", "县政府办公室", secondment.BranchGovernment}, {"FGJ", "县发展改革局", secondment.BranchGovernment},
		{"RD", "县人大常委会办公室", secondment.BranchCongress}}
)

var (
	syllables = []rune("安宝昌丰和华嘉江金康乐林龙宁平清瑞山顺泰新兴阳永长")
	surnames  = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾")
	given     = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红")
	posts     = []string{"科员", "科员", "科员", "副科长", "科长", "办事员"}
	ranks     = []string{"一级科员", "二级科员", "四级主任科员", "三级主任科员", "一级主任科员"}
)

// shape is the province as planned: the units in import order (parents
// first) and, per unit with staff, how many people it has on record.
type shape struct {
	units  []postgres.UnitImport
	people map[string]int // unit code → headcount
	// borrowers lists, per lending unit code, the organs that may borrow
	// from it: one level above or in the same region.
	borrowers map[string][]string
}

// planShape draws the province. Headcounts are random but fixed by rng.
func planShape(rng *rand.Rand) shape {
	s := shape{people: map[string]int{}, borrowers: map[string][]string{}}
	s.region(RootCode, "北川省", secondment.LevelProvince, "")
	prov := s.organs(RootCode, "北川", secondment.LevelProvince, provinceOrgans, rng, 40, 70)
	for _, o := range prov {
		s.borrowers[o] = without(prov, o)
	}
	for c := 1; c <= cities; c++ {
		cc := fmt.Sprintf("%s-C%02d", RootCode, c)
		cname := placeName(c*7) + "市"
		s.region(cc, cname, secondment.LevelCity, RootCode)
		city := s.organs(cc, cname[:len(cname)-len("市")], secondment.LevelCity, cityOrgans, rng, 25, 40)
		for _, o := range city {
			s.borrowers[o] = append(without(city, o), prov...)
		}
		for k := 1; k <= countiesPerCity; k++ {
			kc := fmt.Sprintf("%s-K%02d", cc, k)
			kname := placeName(c*31+k*5) + "县"
			s.region(kc, kname, secondment.LevelCounty, cc)
			county := s.organs(kc, kname[:len(kname)-len("县")], secondment.LevelCounty, countyOrgans, rng, 10, 20)
			for _, o := range county {
				s.borrowers[o] = append(without(county, o), city...)
			}
			for t := 1; t <= townshipsPerCount; t++ {
				tc := fmt.Sprintf("%s-T%02d", kc, t)
				s.staffed(tc, placeName(c*101+k*13+t)+[]string{"镇", "乡", "街道"}[t%3], secondment.LevelTownship,
					secondment.BranchNone, kc, 14+rng.IntN(13))
				s.borrowers[tc] = county
			}
		}
	}
	return s
}

// region adds a unit that only contains others: no quotas, no staff.
func (s *shape) region(code, name string, level secondment.Level, parent string) {
	s.units = append(s.units, postgres.UnitImport{ParentCode: parent, Unit: secondment.Unit{
		Code: code, Name: name, Level: level, System: secondment.SystemGeneral}})
}

// organs adds a region's organs with lo..hi people each and returns their codes.
func (s *shape) organs(region, prefix string, level secondment.Level, kinds []organ, rng *rand.Rand, lo, hi int) []string {
	var codes []string
	for _, o := range kinds {
		code := region + "-" + o.suffix
		s.staffed(code, prefix+o.name, level, o.branch, region, lo+rng.IntN(hi-lo+1))
		codes = append(codes, code)
	}
	return codes
}

// staffed adds a unit with people: its headcount is the number of people
// planned for it, with a little room in the staffing and post quotas.
func (s *shape) staffed(code, name string, level secondment.Level, branch secondment.Branch, parent string, head int) {
	staffing, posts := head+head/10+1, head/5+1
	s.units = append(s.units, postgres.UnitImport{ParentCode: parent, Unit: secondment.Unit{
		Code: code, Name: name, Level: level, System: secondment.SystemGeneral, Branch: branch,
		StaffingQuota: &staffing, PostQuota: &posts, Headcount: &head}})
	s.people[code] = head
}

// placeName makes a two-character place name from a number.
func placeName(n int) string {
	return string([]rune{syllables[n%len(syllables)], syllables[(n/len(syllables)+n*7)%len(syllables)]})
}

func personName(rng *rand.Rand) string {
	name := []rune{surnames[rng.IntN(len(surnames))], given[rng.IntN(len(given))]}
	if rng.IntN(2) == 0 {
		name = append(name, given[rng.IntN(len(given))])
	}
	return string(name)
}

func without(codes []string, code string) []string {
	out := make([]string, 0, len(codes)-1)
	for _, c := range codes {
		if c != code {
			out = append(out, c)
		}
	}
	return out
}

// policies gives the province and every city one custom policy version with
// every rule off and no letter required: the steps the benchmark takes must
// pass the rules, and the rule engine still runs in full on each of them.
func (s shape) policies() []postgres.PolicyImport {
	p := secondment.Policy{Version: 1, EffectiveFrom: secondment.D(2015, 1, 1), Township: secondment.TownshipAllowed}
	out := []postgres.PolicyImport{{Policy: p, JurisdictionCode: RootCode}}
	for c := 1; c <= cities; c++ {
		out = append(out, postgres.PolicyImport{Policy: p, JurisdictionCode: fmt.Sprintf("%s-C%02d", RootCode, c)})
	}
	return out
}
