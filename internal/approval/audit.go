package approval

import (
	"context"
	"fmt"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// ChainReport is one verification of the audit chain.
type ChainReport = postgres.ChainReport

// Clash is an account or a live proxy holding roles one person may not
// hold together, listed for the system administrator.
type Clash = postgres.Clash

// readsAudit refuses anyone but the auditor (审计管理员), who alone reads
// the trail and checks it (三权分立).
func readsAudit(u auth.User) error {
	if !u.Has(auth.RoleAuditor) {
		return forbidden("error.forbidden", fmt.Errorf("%s is no auditor", u.Login))
	}
	return nil
}

// AuditVerifications lists the latest verifications of the chain, newest
// first, each with the head it found.
func (s *Service) AuditVerifications(ctx context.Context, u auth.User, limit int) ([]ChainReport, error) {
	if err := readsAudit(u); err != nil {
		return nil, err
	}
	return s.store.AuditVerifications(ctx, limit)
}

// AuditVerify checks the whole chain now, on the auditor's request, and
// records what it found (a broken one then shows at the top of the
// auditor's pages and home).
func (s *Service) AuditVerify(ctx context.Context, u auth.User) (ChainReport, error) {
	if err := readsAudit(u); err != nil {
		return ChainReport{}, err
	}
	r, err := s.store.AuditVerify(ctx, s.clock.Now, u.Name)
	if err != nil {
		return r, err
	}
	return r, s.store.AuditRecordVerification(ctx, &r)
}

// AuditList reads one page of the trail for the auditor, newest first.
func (s *Service) AuditList(ctx context.Context, u auth.User, f postgres.AuditFilter) ([]postgres.AuditEvent, bool, error) {
	if err := readsAudit(u); err != nil {
		return nil, false, err
	}
	return s.store.AuditList(ctx, f)
}

// Clashes lists, for the system administrator, up to limit accounts and
// live proxies holding roles one person may not hold together.
func (s *Service) Clashes(ctx context.Context, u auth.User, limit int) ([]Clash, error) {
	if !u.Has(auth.RoleSysAdmin) {
		return nil, forbidden("error.forbidden", fmt.Errorf("%s is no system administrator", u.Login))
	}
	return s.store.Clashes(ctx, secondment.Today(s.clock), limit)
}
