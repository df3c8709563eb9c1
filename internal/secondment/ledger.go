package secondment

// LedgerLine is one line of the ledger (台账): a secondment as the
// register lists it, with the rules of its open ledger entries.
type LedgerLine struct {
	ID                                   int64
	Number                               string
	State                                State
	Kind                                 Kind
	Alias                                Alias
	Purpose                              Purpose
	Task                                 string
	PersonName, BorrowerName, LenderName string
	LenderLevel                          Level
	Start, End                           Date
	ReturnedOn                           Date
	Renewal                              bool // continues an earlier term
	RegisteredOn                         Date
	ApprovalRef                          string
	Irregular                            []RuleID      // rules of its open ledger entries
	Category                             StaffCategory // the person's 人员类别 (issue #12)
	SalaryWith                           SalaryWith    // who pays the salary (工资关系)
}
