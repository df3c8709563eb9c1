package server

import (
	"github.com/go-chi/chi/v5"

	"secondment/internal/auth"
)

// routes is the access policy of the service: every page and API call with
// the rule it needs. Unit scope is checked again inside the handlers for
// every object, where anything outside the user's scope is a 404.
func (s *Server) routes(r chi.Router) {
	units := append(chainRoles, auth.RoleSysAdmin)

	s.handle(r, "GET", "/", signedIn, s.handleHome)
	s.handle(r, "POST", "/lang", public, s.handleLangSet)
	s.handle(r, "GET", "/signin", public, s.handleSignInForm)
	s.handle(r, "POST", "/signin", public, s.handleSignIn)
	s.handle(r, "POST", "/signout", signedIn, s.handleSignOut)

	s.handle(r, "GET", "/account", signedIn, s.handleAccount)
	s.handle(r, "GET", "/account/password", signedIn, s.handlePasswordForm)
	s.handle(r, "POST", "/account/password", signedIn, s.handlePasswordChange)
	s.handle(r, "GET", "/account/tokens", signedIn, s.handleTokenList)
	s.handle(r, "POST", "/account/tokens", signedIn, s.handleTokenCreate)
	s.handle(r, "POST", "/account/tokens/{tokenID}/revoke", signedIn, s.handleTokenRevoke)
	s.handle(r, "GET", "/account/proxy", anyOf(chainRoles...), s.handleProxyList)
	s.handle(r, "POST", "/account/proxy", anyOf(chainRoles...), s.handleProxySet)
	s.handle(r, "POST", "/account/proxy/{proxyID}/revoke", anyOf(chainRoles...), s.handleProxyRevoke)

	chain := chainRoles
	borrower := anyOf(auth.RoleBorrower)
	s.handle(r, "GET", "/secondments", anyOf(chain...), s.handleSecondmentList)
	s.handle(r, "GET", "/secondments/new", borrower, s.handleSecondmentNew)
	s.handle(r, "POST", "/secondments", borrower, s.handleSecondmentCreate)
	s.handle(r, "POST", "/secondments/check", borrower, s.handleSecondmentCheck)
	s.handle(r, "GET", "/secondments/{secondmentID}", anyOf(chain...), s.handleSecondmentShow)
	s.handle(r, "GET", "/secondments/{secondmentID}/edit", borrower, s.handleSecondmentEdit)
	s.handle(r, "GET", "/secondments/{secondmentID}/renew", borrower, s.handleSecondmentRenew)
	s.handle(r, "POST", "/secondments/{secondmentID}", borrower, s.handleSecondmentUpdate)
	s.handle(r, "POST", "/secondments/{secondmentID}/actions/{action}", anyOf(chain...), s.handleSecondmentAct)
	s.handle(r, "GET", "/secondments/{secondmentID}/print", anyOf(chain...), s.handleSecondmentPrint)
	s.handle(r, "POST", "/secondments/{secondmentID}/urge", anyOf(chain...), s.handleSecondmentUrge)
	s.handle(r, "POST", "/secondments/{secondmentID}/cc", anyOf(chain...), s.handleSecondmentCopy)
	s.handle(r, "POST", "/secondments/{secondmentID}/handover", anyOf(chain...), s.handleSecondmentHandOver)
	s.handle(r, "GET", "/secondments/{secondmentID}/attachments/{attachmentID}", anyOf(chain...), s.handleAttachment)
	keepers := anyOf(auth.RoleOrgDept, auth.RoleRegistrar)
	s.handle(r, "GET", "/ledger", anyOf(chain...), s.handleLedger)
	s.handle(r, "GET", "/ledger.csv", anyOf(chain...), s.handleLedgerExport("csv"))
	s.handle(r, "GET", "/ledger.xlsx", anyOf(chain...), s.handleLedgerExport("xlsx"))
	s.handle(r, "GET", "/ledger/register", keepers, s.handleRegisterForm)
	s.handle(r, "POST", "/ledger/register", keepers, s.handleRegister)
	s.handle(r, "GET", "/notifications", anyOf(chain...), s.handleNotificationList)
	s.handle(r, "POST", "/notifications/read", anyOf(chain...), s.handleNotificationsRead)

	s.handle(r, "GET", "/units", anyOf(units...), s.handleUnitList)
	s.handle(r, "GET", "/people", anyOf(units...), s.handlePersonList)

	s.handle(r, "GET", "/admin/users", anyOf(auth.RoleSysAdmin), s.handleUserList)
	s.handle(r, "POST", "/admin/users", anyOf(auth.RoleSysAdmin), s.handleUserCreate)
	s.handle(r, "POST", "/admin/users/{userID}/roles", anyOf(auth.RoleSysAdmin), s.handleUserRoles)
	s.handle(r, "POST", "/admin/users/{userID}/disable", anyOf(auth.RoleSysAdmin), s.handleUserDisable)
	s.handle(r, "POST", "/admin/users/{userID}/enable", anyOf(auth.RoleSysAdmin), s.handleUserEnable)
	s.handle(r, "POST", "/admin/users/{userID}/reset-password", anyOf(auth.RoleSysAdmin), s.handleUserResetPassword)
	s.handle(r, "GET", "/admin/units", anyOf(auth.RoleSysAdmin), s.handleAdminUnitList)
	s.handle(r, "POST", "/admin/units", anyOf(auth.RoleSysAdmin), s.handleAdminUnitCreate)
	s.handle(r, "POST", "/admin/units/{unitID}", anyOf(auth.RoleSysAdmin), s.handleAdminUnitUpdate)
	s.handle(r, "GET", "/admin/security", anyOf(auth.RoleSecAdmin), s.handleSecurityForm)
	s.handle(r, "POST", "/admin/security", anyOf(auth.RoleSecAdmin), s.handleSecuritySave)
	s.handle(r, "GET", "/admin/jobs", anyOf(auth.RoleSysAdmin), s.handleJobs)
	s.handle(r, "GET", "/audit", anyOf(auth.RoleAuditor), s.handleAuditList)

	s.handle(r, "GET", "/api/v1/openapi.json", public, handleOpenAPI)
	s.handle(r, "GET", "/api/v1/units", anyOf(units...), s.handleAPIUnitList)
	s.handle(r, "GET", "/api/v1/people", anyOf(units...), s.handleAPIPersonList)
	s.handle(r, "GET", "/api/v1/me", signedIn, s.handleAPIMe)
	s.handle(r, "GET", "/api/v1/me/proxies", anyOf(chainRoles...), s.handleAPIProxyList)
	s.handle(r, "POST", "/api/v1/me/proxies", anyOf(chainRoles...), s.handleAPIProxySet)
	s.handle(r, "POST", "/api/v1/me/proxies/{proxyID}/revoke", anyOf(chainRoles...), s.handleAPIProxyRevoke)
	s.handle(r, "GET", "/api/v1/notifications", anyOf(chain...), s.handleAPINotificationList)
	s.handle(r, "POST", "/api/v1/notifications/read", anyOf(chain...), s.handleAPINotificationsRead)
	s.handle(r, "GET", "/api/v1/ledger", anyOf(chain...), s.handleAPILedger)
	s.handle(r, "POST", "/api/v1/stock", keepers, s.handleAPIRegister)
	s.handle(r, "GET", "/api/v1/secondments", anyOf(chain...), s.handleAPISecondmentList)
	s.handle(r, "POST", "/api/v1/secondments", borrower, s.handleAPISecondmentCreate)
	s.handle(r, "POST", "/api/v1/secondments/check", borrower, s.handleAPISecondmentCheck)
	s.handle(r, "GET", "/api/v1/secondments/{secondmentID}", anyOf(chain...), s.handleAPISecondmentGet)
	s.handle(r, "PATCH", "/api/v1/secondments/{secondmentID}", borrower, s.handleAPISecondmentUpdate)
	s.handle(r, "POST", "/api/v1/secondments/{secondmentID}/actions/{action}", anyOf(chain...), s.handleAPISecondmentAct)
	s.handle(r, "POST", "/api/v1/secondments/{secondmentID}/urge", anyOf(chain...), s.handleAPISecondmentUrge)
	s.handle(r, "POST", "/api/v1/secondments/{secondmentID}/cc", anyOf(chain...), s.handleAPISecondmentCopy)
	s.handle(r, "POST", "/api/v1/secondments/{secondmentID}/handover", anyOf(chain...), s.handleAPISecondmentHandOver)
}
