package secondment

import (
	"slices"
	"time"
)

// PresetName names a ready-made policy taken from the seed article.
type PresetName string

const (
	PresetNational PresetName = "national" // 2024 central No.1 document
	PresetBaotou   PresetName = "baotou"
	PresetWeihai   PresetName = "weihai"
	PresetKashgar  PresetName = "kashgar"
)

var AllPresets = []PresetName{PresetNational, PresetBaotou, PresetWeihai, PresetKashgar}

func (n PresetName) Valid() bool      { return slices.Contains(AllPresets, n) }
func (n PresetName) Message() Message { return Msg("preset." + string(n) + ".name") }

// Preset returns the versions of a preset, oldest first, as fresh copies a
// jurisdiction may adopt and tighten. Where the seed is silent a rule is off;
// the few numbers the seed does not give are marked "not in the seed".
func Preset(n PresetName) []Policy {
	vs := presets[n]
	out := make([]Policy, len(vs))
	for i, v := range vs {
		v.Preset = n
		v.Version = i + 1
		v.Purposes = slices.Clone(v.Purposes)
		v.SystemGroups = slices.Clone(v.SystemGroups)
		v.Citations = slices.Clone(v.Citations)
		out[i] = v
	}
	return out
}

// The 2024 central No.1 document was published on 3 February 2024; the seed
// says Kashgar started a new round of clean-up after it.
var no1Date = D(2024, time.February, 3)

const (
	burdenDefaultBP = 1000 // R14 warns at 10% away: not in the seed (科学路街道: 4 of 23 away)
	quoteNo1        = "县以上机关一般不得从乡镇借调工作人员"
	// The seed names its documents by what they did, not by title and
	// number: each preset's basis says what the seed says (issue 12 is
	// to cite titles, issuers and articles where known).
	basisNo1 = "2024年中央一号文件"
)

var keyPurposes = []Purpose{PurposeKeyTask, PurposeSpecialProject, PurposeMajorProject}

var presets = map[PresetName][]Policy{
	PresetNational: {{
		EffectiveFrom: no1Date, Township: TownshipException,
		TransferInQuota: true, BurdenWarnBP: burdenDefaultBP,
		Citations: []Citation{{R4, quoteNo1}}, Basis: basisNo1,
	}},
	// Baotou: city organs "非必要不借调" since March 2023; the No.1 document
	// from February 2024; the April 2024 notice bans townships outright.
	PresetBaotou: {
		{EffectiveFrom: D(2023, time.March, 1), Purposes: keyPurposes, Township: TownshipAllowed,
			TransferInQuota: true, BurdenWarnBP: burdenDefaultBP,
			Citations: []Citation{{R1, "坚持非必要不借调"}}, Basis: "包头市委组织部规范市直部门单位借调的措施（2023年3月）"},
		{EffectiveFrom: no1Date, Purposes: keyPurposes, Township: TownshipException,
			TransferInQuota: true, BurdenWarnBP: burdenDefaultBP,
			Citations: []Citation{{R1, "坚持非必要不借调"}, {R4, quoteNo1}}, Basis: basisNo1},
		{EffectiveFrom: D(2024, time.April, 1), Purposes: keyPurposes, Township: TownshipForbidden,
			TransferInQuota: true, BurdenWarnBP: burdenDefaultBP,
			Citations: []Citation{{R1, "坚持非必要不借调"}, {R4, "所有苏木乡镇街道的工作人员一律不得借调"}},
			Basis:     "包头市规范借调工作的通知（2024年4月）"},
	},
	// Weihai's "three don'ts"; the seed dates them only "今年以来" (2024).
	PresetWeihai: {{
		EffectiveFrom: D(2024, time.January, 1), Purposes: keyPurposes, MaxLevelGap: 1, SameSystem: true,
		// 累计…不得超过半年 is a sum of the days borrowed, gaps or no gaps:
		// the seed names no window, so twelve months (not in the seed).
		Township: TownshipException, TermMonths: 3, PersonCapMonths: 6, PersonWindowMonths: 12, DualFiling: true,
		TransferInQuota: true, BurdenWarnBP: burdenDefaultBP, Basis: "威海市委组织部规范借调工作的“三个不得”（2024年）",
		Citations: []Citation{
			{R1, "不得以日常工作为由借用人员"},
			{R1, "只有确因完成重点任务或专项工作等急需补充工作力量的,方可借调"},
			{R2, "不得跨层级跨系统借用人员"},
			{R3, "不得跨层级跨系统借用人员"},
			{R4, "不得违反规定从乡镇(街道)借用人员"},
			{R5, "借用时间一般不超过3个月"},
			{R6, "期满后确因工作需要继续借用的,要重新办理手续"},
			{R7, "累计借用时间原则上不得超过半年"},
			{R9, "除正式交流锻炼外"},
			{R13, "建立借调人员“双备案”制度"},
		},
	}},
	// Kashgar: the management measures of late 2022, tightened for townships
	// after the No.1 document, with the clean-up's major-project hold.
	PresetKashgar: {
		{EffectiveFrom: D(2022, time.December, 1), Township: TownshipAllowed, TermMonths: 3, ChainCapMonths: 6,
			TransferInQuota: true, BurdenWarnBP: burdenDefaultBP, Citations: kashgarCitations,
			Basis: "喀什市借调干部管理办法（2022年底）"},
		{EffectiveFrom: no1Date, Township: TownshipException, TermMonths: 3, ChainCapMonths: 6,
			CleanupHoldsMajor: true, TransferInQuota: true, BurdenWarnBP: burdenDefaultBP,
			Basis: "喀什市借调干部管理办法（2022年底）；" + basisNo1,
			Citations: append(slices.Clone(kashgarCitations), Citation{R4, quoteNo1},
				Citation{R11, "因重大工程、重点项目等借调的人员,需等借调期满、完成交接工作后再清退"})},
	},
}

var kashgarCitations = []Citation{
	{R5, "要求一般不得超过3个月"},
	{R6, "确因工作需要继续借调的,需重新履行借调手续"},
	{R7, "最长连续不得超过6个月"},
	{R8, "先提出拟借调人选,填写审批表,书面征求借出单位意见,并提请市委组织部按程序审批后方可办理借调手续"},
	{R12, "可以在规定的编制限额和职数内,申请将借调人员按程序调入本单位"},
	{R12, "符合条件的可通过公开遴选、转任等方式办理调入手续"},
}
