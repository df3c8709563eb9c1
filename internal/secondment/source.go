package secondment

// Source is where a rule a user meets comes from: the document (title,
// issuer, date and article where known) and the words quoted from it.
// Issue #12: every violation names its source, on the page and in the API.
//
// The service holds the documents only as the 2024-07-14 report in
// ../shared/seed quotes them (为基层减负 各地严控从县以下单位借调工作人员):
// the quotes are that report's words, a test checks each is there, and an
// article number is given only where the report gives one (it gives none).
type Source struct {
	Document string // title, or what the report calls it
	Issuer   string
	Date     string // as precise as known: "2024年4月", "2022年底"
	Article  string // "" when not known
	Quote    string
}

// Known reports whether s names anything.
func (s Source) Known() bool { return s.Document != "" }

// The documents the report quotes, by what it says of them.
var (
	docNo1 = Source{Document: "中共中央 国务院关于学习运用“千村示范、万村整治”工程经验有力有效推进乡村全面振兴的意见（2024年中央一号文件）",
		Issuer: "中共中央、国务院", Date: "2024年1月1日"}
	docBaotouMeasures = Source{Document: "规范市直部门单位借调的措施", Issuer: "包头市委组织部", Date: "2023年3月"}
	docBaotouNotice   = Source{Document: "规范借调工作的通知", Issuer: "包头市", Date: "2024年4月"}
	docWeihai         = Source{Document: "规范借调工作的“三个不得”", Issuer: "威海市委组织部", Date: "2024年"}
	docWeihaiCleanup  = Source{Document: "基层干部违规借调专项清理整治", Issuer: "威海市", Date: "2024年"}
	docKashgar        = Source{Document: "借调干部管理办法", Issuer: "喀什市", Date: "2022年底"}
	docKashgarCleanup = Source{Document: "乡镇借调人员清退工作", Issuer: "喀什市委组织部", Date: "2024年"}
	docReport         = Source{Document: "为基层减负 各地严控从县以下单位借调工作人员（报道）", Date: "2024年7月14日"}
)

// quoted is each quote's document: a citation stores its rule and quote
// (policies saved before issue #12 carry no more), and its document
// follows from the words.
var quoted = map[string]Source{
	quoteNo1:   docNo1,
	"坚持非必要不借调": docBaotouMeasures,
	"所有苏木乡镇街道的工作人员一律不得借调":            docBaotouNotice,
	"不得以日常工作为由借用人员":                  docWeihai,
	"只有确因完成重点任务或专项工作等急需补充工作力量的,方可借调": docWeihai,
	"不得跨层级跨系统借用人员":                   docWeihai,
	"不得违反规定从乡镇(街道)借用人员":              docWeihai,
	"借用时间一般不超过3个月":                   docWeihai,
	"期满后确因工作需要继续借用的,要重新办理手续":         docWeihai,
	"累计借用时间原则上不得超过半年":                docWeihai,
	"除正式交流锻炼外":                       docWeihai,
	"建立借调人员“双备案”制度":                  docWeihaiCleanup,
	"要求一般不得超过3个月":                    docKashgar,
	"确因工作需要继续借调的,需重新履行借调手续":          docKashgar,
	"最长连续不得超过6个月":                    docKashgar,
	"先提出拟借调人选,填写审批表,书面征求借出单位意见,并提请市委组织部按程序审批后方可办理借调手续": docKashgar,
	"可以在规定的编制限额和职数内,申请将借调人员按程序调入本单位":                   docKashgarCleanup,
	"符合条件的可通过公开遴选、转任等方式办理调入手续":                         docKashgarCleanup,
	"因重大工程、重点项目等借调的人员,需等借调期满、完成交接工作后再清退":               docKashgarCleanup,
	"针对机关借调干部数量缺乏管控":                                   docKashgar,
	"存在超期借调、任意借调现象":                                    docReport,
	"干部只有23人,此前被借调走4名干部,大家的工作量与负担都增加了不少":               docReport,
}

// ruleSources are the rule catalog's own sources: what a rule rests on
// where the policy in force cites nothing for it (a rule every preset
// keeps, such as R8's order or R10's overdue; a rule an org dept added).
var ruleSources = map[RuleID]string{
	R1:  "不得以日常工作为由借用人员",
	R2:  "不得跨层级跨系统借用人员",
	R3:  "不得跨层级跨系统借用人员",
	R4:  quoteNo1,
	R5:  "要求一般不得超过3个月",
	R6:  "确因工作需要继续借调的,需重新履行借调手续",
	R7:  "最长连续不得超过6个月",
	R8:  "先提出拟借调人选,填写审批表,书面征求借出单位意见,并提请市委组织部按程序审批后方可办理借调手续",
	R9:  "除正式交流锻炼外",
	R10: "存在超期借调、任意借调现象",
	R11: "因重大工程、重点项目等借调的人员,需等借调期满、完成交接工作后再清退",
	R12: "可以在规定的编制限额和职数内,申请将借调人员按程序调入本单位",
	R13: "建立借调人员“双备案”制度",
	R14: "干部只有23人,此前被借调走4名干部,大家的工作量与负担都增加了不少",
	R15: "针对机关借调干部数量缺乏管控",
}

// notInSeed are the catalog's rules the report does not state: options
// real approval forms carry. Their source is the document of the policy
// that switches them on (its basis); the catalog names what they are.
var notInSeed = map[RuleID]Source{
	R16: {Document: "关键岗位、涉密岗位原则上不使用借调人员（各地借调人员审批表所列事项，报道未载；由组织部在本地政策中启用，依据见该版本）"},
}

// sourceOfQuote is quote with its document.
func sourceOfQuote(quote string) Source {
	s := quoted[quote]
	s.Quote = quote
	return s
}

// Source is the citation's words with their document.
func (c Citation) Source() Source { return sourceOfQuote(c.Quote) }

// RuleSource is the catalog's source of rule r.
func RuleSource(r RuleID) Source {
	if s, ok := notInSeed[r]; ok {
		return s
	}
	return sourceOfQuote(ruleSources[r])
}

// SourceOf is what rule r rests on under p: the policy's first citation
// of it; for a policy an org dept wrote, its basis document; else the
// catalog's source. Weihai's R7 is Weihai's 累计…不得超过半年, not
// Kashgar's words.
func (p Policy) SourceOf(r RuleID) Source {
	for _, c := range p.Citations {
		if c.Rule == r {
			return c.Source()
		}
	}
	if p.Preset == "" && p.Basis != "" {
		return Source{Document: p.Basis}
	}
	if r == R7 && p.PersonCapMonths > 0 && p.ChainCapMonths == 0 {
		return sourceOfQuote("累计借用时间原则上不得超过半年") // the sum, not the chain
	}
	return RuleSource(r)
}

// Cite gives each violation without one the source of its rule under p.
func (p Policy) Cite(vs Violations) Violations {
	for i := range vs {
		if !vs[i].Source.Known() {
			vs[i].Source = p.SourceOf(vs[i].Rule)
		}
	}
	return vs
}
