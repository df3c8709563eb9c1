package server

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"secondment/internal/auth"
	"secondment/internal/i18n"
	"secondment/internal/jobs"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
	"secondment/web"
)

func actorOf(u auth.User) postgres.Actor { return postgres.Actor{ID: u.ID, Name: u.Name} }

// userAdminView gathers the users page. notice is shown once above the list
// (a new account's or a reset's one-time password).
func (s *Server) userAdminView(r *http.Request, f web.Form, notice web.Notice) (web.UserAdminView, error) {
	q, after := strings.TrimSpace(r.URL.Query().Get("q")), r.URL.Query().Get("after")
	users, err := s.store.UserList(r.Context(), postgres.UserPage{Query: q, After: after, Limit: userPageSize + 1})
	if err != nil {
		return web.UserAdminView{}, err
	}
	units, err := s.store.UnitTree(r.Context())
	if err != nil {
		return web.UserAdminView{}, err
	}
	v := web.UserAdminView{Users: users, Units: units, Form: f, Notice: notice, Q: q}
	if q == "" && after == "" {
		u, err := currentUser(r)
		if err != nil {
			return web.UserAdminView{}, err
		}
		if v.Clashes, err = s.app.Clashes(r.Context(), u, 100); err != nil {
			return web.UserAdminView{}, err
		}
	}
	if len(users) > userPageSize {
		v.Users = users[:userPageSize]
		v.Next = v.Users[userPageSize-1].Login
	}
	return v, nil
}

// userPageSize is the accounts of a page of the users list.
const userPageSize = 100

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, status int, f web.Form, notice web.Notice) {
	v, err := s.userAdminView(r, f, notice)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderStatus(w, r, status, web.UserAdminPage(v))
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) {
	s.showUsers(w, r, http.StatusOK, web.NewForm(), web.Notice{})
}

// rolesOf reads the checked role boxes of a form.
func rolesOf(r *http.Request) []auth.Role {
	var roles []auth.Role
	for _, v := range r.PostForm["role"] {
		roles = append(roles, auth.Role(v))
	}
	return roles
}

// handleUserCreate makes an account with a one-time password, shown once;
// its owner must replace it at first sign-in. No account ever has a
// default password.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) {
	admin, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, "login", "name", "unit")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	roles := rolesOf(r)
	for _, role := range roles {
		f.Values["role."+string(role)] = "on"
	}
	unit, uerr := s.store.UnitGetByCode(r.Context(), f.Value("unit"))
	if uerr != nil {
		f.Errors["unit"] = secondment.Msg("unit.error.unknown")
	}
	if n := len([]rune(f.Value("name"))); n < 1 || n > 50 {
		f.Errors["name"] = secondment.Msg("error.length", "Min", 1, "Max", 50)
	}
	if err := auth.ValidateRoles(roles); err != nil {
		withErrors(&f, err)
	} else if slices.ContainsFunc(roles, auth.Role.Admin) {
		f.Errors["roles"] = secondment.Msg("admin.error.admin_by_cli")
	}
	if len(f.Errors) > 0 {
		f.Summary = secondment.Msg("error.invalid")
		s.showUsers(w, r, http.StatusUnprocessableEntity, f, web.Notice{})
		return
	}
	password := auth.GeneratePassword()
	var hash string
	if err := s.withHashSlot(r.Context(), func() (err error) { hash, err = s.hasher.Hash(password); return err }); err != nil {
		s.renderError(w, r, err)
		return
	}
	_, err = s.store.UserCreate(r.Context(), actorOf(admin), postgres.NewUser{Login: f.Value("login"), Name: f.Value("name"),
		UnitID: unit.ID, Roles: roles, PasswordHash: hash, MustChangePassword: true}, s.clock.Now())
	if err != nil {
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
		s.showUsers(w, r, http.StatusUnprocessableEntity, f, web.Notice{})
		return
	}
	s.showUsers(w, r, http.StatusOK, web.NewForm(), web.Notice{
		Message: secondment.Msg("admin.user.created", "Login", f.Value("login")), Secret: password})
}

// targetUser reads {userID}; the system administrator's scope is every
// account, so only a missing one is a 404.
func (s *Server) targetUser(r *http.Request) (auth.User, error) {
	id, err := pathID(r, "userID")
	if err != nil {
		return auth.User{}, err
	}
	return s.store.UserGet(r.Context(), id)
}

func (s *Server) handleUserRoles(w http.ResponseWriter, r *http.Request) {
	admin, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	target, err := s.targetUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := readForm(w, r); err != nil {
		s.renderError(w, r, err)
		return
	}
	roles := rolesOf(r)
	// An administrator cannot take the system administrator role from
	// themselves: the service would be left with nobody to manage it.
	if target.ID == admin.ID && !slices.Contains(roles, auth.RoleSysAdmin) {
		s.refuseUsers(w, r, "admin.error.self")
		return
	}
	if adminAccount(target) || slices.ContainsFunc(roles, auth.Role.Admin) {
		s.refuseUsers(w, r, "admin.error.admin_by_cli")
		return
	}
	if err := s.store.UserSetRoles(r.Context(), actorOf(admin), target.ID, roles, s.clock.Now()); err != nil {
		f := web.NewForm()
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
		s.showUsers(w, r, http.StatusUnprocessableEntity, f, web.Notice{})
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

// handleUserPerson links an account to the person record of whoever uses
// it (issue #13): nobody then files or decides a request about themselves.
func (s *Server) handleUserPerson(w http.ResponseWriter, r *http.Request) {
	admin, target, ok := s.adminTarget(w, r)
	if !ok {
		return
	}
	f, err := readForm(w, r, "person")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.store.UserSetPerson(r.Context(), actorOf(admin), target.ID, strings.ToUpper(f.Value("person")), s.clock.Now()); err != nil {
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
		s.showUsers(w, r, http.StatusUnprocessableEntity, f, web.Notice{})
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

// adminTarget reads the administrator and the account a /admin/users/{id}
// action is about, refusing an administrator's account (managed from the
// command line only); ok is false once it has answered.
func (s *Server) adminTarget(w http.ResponseWriter, r *http.Request) (admin, target auth.User, ok bool) {
	admin, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return admin, target, false
	}
	if target, err = s.targetUser(r); err != nil {
		s.renderError(w, r, err)
		return admin, target, false
	}
	if adminAccount(target) {
		s.refuseUsers(w, r, "admin.error.admin_by_cli")
		return admin, target, false
	}
	return admin, target, true
}

// adminAccount reports whether u holds an administrator role. The three
// administrators' accounts are managed only from the server's command line
// (secondment user add): the system administrator can neither create,
// reset, disable nor re-role the auditor or the security administrator, so
// the separation of duties holds against them too.
func adminAccount(u auth.User) bool { return slices.ContainsFunc(u.Roles, auth.Role.Admin) }

func (s *Server) refuseUsers(w http.ResponseWriter, r *http.Request, msg string) {
	f := web.NewForm()
	f.Summary = secondment.Msg(msg)
	s.showUsers(w, r, http.StatusUnprocessableEntity, f, web.Notice{})
}

func (s *Server) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	admin, target, ok := s.adminTarget(w, r)
	if !ok {
		return
	}
	if target.ID == admin.ID {
		s.refuseUsers(w, r, "admin.error.self")
		return
	}
	if err := s.store.UserSetDisabled(r.Context(), actorOf(admin), target.ID, disabled, s.clock.Now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

func (s *Server) handleUserDisable(w http.ResponseWriter, r *http.Request) { s.setDisabled(w, r, true) }
func (s *Server) handleUserEnable(w http.ResponseWriter, r *http.Request)  { s.setDisabled(w, r, false) }

// handleUserResetPassword gives the account a new one-time password, shown
// once, and lifts a lockout.
func (s *Server) handleUserResetPassword(w http.ResponseWriter, r *http.Request) {
	admin, target, ok := s.adminTarget(w, r)
	if !ok {
		return
	}
	password := auth.GeneratePassword()
	var hash string
	if err := s.withHashSlot(r.Context(), func() (err error) { hash, err = s.hasher.Hash(password); return err }); err != nil {
		s.renderError(w, r, err)
		return
	}
	if err := s.store.UserSetPassword(r.Context(), actorOf(admin), target.ID, hash, true, s.clock.Now()); err != nil {
		s.renderError(w, r, err)
		return
	}
	s.showUsers(w, r, http.StatusOK, web.NewForm(), web.Notice{
		Message: secondment.Msg("admin.user.reset", "Login", target.Login), Secret: password})
}

func (s *Server) showAdminUnits(w http.ResponseWriter, r *http.Request, status int, f web.Form) {
	units, err := s.store.UnitTree(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.renderStatus(w, r, status, web.UnitAdminPage(web.UnitAdminView{Units: units, Form: f}))
}

func (s *Server) handleAdminUnitList(w http.ResponseWriter, r *http.Request) {
	s.showAdminUnits(w, r, http.StatusOK, web.NewForm())
}

func (s *Server) handleAdminUnitCreate(w http.ResponseWriter, r *http.Request) {
	admin, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, "code", "name", "level", "system", "branch", "parent", "staffing_quota", "post_quota", "headcount")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	u := secondment.Unit{Code: f.Value("code"), Name: f.Value("name"), Level: secondment.Level(f.Value("level")),
		System: secondment.System(f.Value("system")), Branch: secondment.Branch(f.Value("branch"))}
	u.StaffingQuota, u.PostQuota, u.Headcount = quotas(&f)
	if len(f.Errors) == 0 {
		_, err = s.store.UnitCreate(r.Context(), actorOf(admin), u, f.Value("parent"), s.clock.Now())
		if err == nil {
			http.Redirect(w, r, "/admin/units", http.StatusSeeOther)
			return
		}
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
	}
	f.Summary = secondment.Msg("error.invalid")
	s.showAdminUnits(w, r, http.StatusUnprocessableEntity, f)
}

// quotas reads the three optional numbers of a unit form; empty means the
// quota does not apply (a region).
func quotas(f *web.Form) (staffing, posts, headcount *int) {
	read := func(field string) *int {
		v := f.Value(field)
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			f.Errors[field] = secondment.Msg("error.range", "Min", 0, "Max", 1_000_000)
			return nil
		}
		return &n
	}
	return read("staffing_quota"), read("post_quota"), read("headcount")
}

// handleAdminUnitUpdate changes a unit's name and numbers.
func (s *Server) handleAdminUnitUpdate(w http.ResponseWriter, r *http.Request) {
	admin, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	id, err := pathID(r, "unitID")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f, err := readForm(w, r, "name", "staffing_quota", "post_quota", "headcount")
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	staffing, posts, headcount := quotas(&f)
	if len(f.Errors) == 0 {
		err = s.store.UnitUpdate(r.Context(), actorOf(admin), id, f.Value("name"), staffing, posts, headcount, s.clock.Now())
		if err == nil {
			http.Redirect(w, r, "/admin/units", http.StatusSeeOther)
			return
		}
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
	}
	f.Summary = secondment.Msg("error.invalid")
	s.showAdminUnits(w, r, http.StatusUnprocessableEntity, f)
}

// settingsForm shows settings as the form's values.
func settingsForm(set auth.Settings) web.Form {
	f := web.NewForm()
	for k, v := range map[string]int{
		"lockout_threshold": set.LockoutThreshold, "lockout_window_minutes": int(set.LockoutWindow / time.Minute),
		"lockout_minutes": int(set.LockoutDuration / time.Minute), "rate_limit_attempts": set.RateLimitAttempts,
		"rate_limit_minutes": int(set.RateLimitWindow / time.Minute), "idle_timeout_minutes": int(set.IdleTimeout / time.Minute),
		"absolute_timeout_hours": int(set.AbsoluteTimeout / time.Hour), "password_min_length": set.Password.MinLength,
		"password_max_age_days": set.PasswordMaxAgeDays,
	} {
		f.Values[k] = strconv.Itoa(v)
	}
	if set.Password.Composition {
		f.Values["password_composition"] = "on"
	}
	return f
}

func (s *Server) handleSecurityForm(w http.ResponseWriter, r *http.Request) {
	set, err := s.store.SecuritySettings(r.Context())
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, web.SecurityPage(web.SecurityView{Form: settingsForm(set), Saved: r.URL.Query().Get("saved") != ""}))
}

func (s *Server) handleSecuritySave(w http.ResponseWriter, r *http.Request) {
	admin, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	fields := []string{"lockout_threshold", "lockout_window_minutes", "lockout_minutes", "rate_limit_attempts",
		"rate_limit_minutes", "idle_timeout_minutes", "absolute_timeout_hours", "password_min_length", "password_max_age_days",
		"password_composition"}
	f, err := readForm(w, r, fields...)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	n := map[string]int{}
	for _, k := range fields[:9] {
		v, err := strconv.Atoi(f.Value(k))
		if err != nil {
			f.Errors[k] = secondment.Msg("error.integer")
		}
		n[k] = v
	}
	set := auth.Settings{LockoutThreshold: n["lockout_threshold"],
		LockoutWindow:     time.Duration(n["lockout_window_minutes"]) * time.Minute,
		LockoutDuration:   time.Duration(n["lockout_minutes"]) * time.Minute,
		RateLimitAttempts: n["rate_limit_attempts"], RateLimitWindow: time.Duration(n["rate_limit_minutes"]) * time.Minute,
		IdleTimeout:        time.Duration(n["idle_timeout_minutes"]) * time.Minute,
		AbsoluteTimeout:    time.Duration(n["absolute_timeout_hours"]) * time.Hour,
		Password:           auth.PasswordPolicy{MinLength: n["password_min_length"], Composition: f.Value("password_composition") != ""},
		PasswordMaxAgeDays: n["password_max_age_days"]}
	if len(f.Errors) == 0 {
		err = s.store.SecuritySettingsSet(r.Context(), actorOf(admin), set, s.clock.Now())
		if err == nil {
			http.Redirect(w, r, "/admin/security?saved=1", http.StatusSeeOther)
			return
		}
		if !withErrors(&f, err) {
			s.renderError(w, r, err)
			return
		}
	}
	f.Summary = secondment.Msg("error.invalid")
	s.renderStatus(w, r, http.StatusUnprocessableEntity, web.SecurityPage(web.SecurityView{Form: f}))
}

// auditPageSize is how many events the audit page shows at a time.
const auditPageSize = 50

// auditFilter reads the audit trail's filter from the query: an action
// prefix, a date range, the keyset cursor.
func auditFilter(r *http.Request, limit int) postgres.AuditFilter {
	q := r.URL.Query()
	before, _ := strconv.ParseInt(q.Get("before"), 10, 64)
	f := postgres.AuditFilter{Action: q.Get("action"), Limit: limit, Before: max(before, 0)}
	if d, err := secondment.ParseDate(q.Get("from")); err == nil {
		f.From = d.Start()
	}
	if d, err := secondment.ParseDate(q.Get("to")); err == nil {
		f.To = d.AddDays(1).Start()
	}
	return f
}

// auditExportMax bounds one export: a year of a province's trail is
// longer than any auditor reads, and the filter narrows it.
const auditExportMax = 200_000

// handleAuditExport streams the filtered trail as CSV, newest first, page
// by page along the primary key, in the auditor's language.
func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The first page read before the header is sent, so a refusal is a
	// page of its own, not a file cut short.
	f := auditFilter(r, 500)
	events, more, err := s.app.AuditList(r.Context(), u, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := i18n.FromContext(r.Context())
	out, err := startExport(w, "csv", "audit.csv", "", []string{l.T("audit.at"), l.T("audit.actor"), l.T("audit.action"),
		l.T("audit.code"), l.T("audit.object"), l.T("audit.detail"), l.T("audit.request")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := 0
	for first := true; n < auditExportMax; first = false {
		if !first {
			if events, more, err = s.app.AuditList(r.Context(), u, f); err != nil {
				// The header is sent: abort the response, so the download
				// fails visibly instead of ending short and looking whole.
				s.log.Error("audit export", "err", err)
				panic(http.ErrAbortHandler)
			}
		}
		for _, e := range events {
			if err := out.Write([]string{e.At.In(secondment.Shanghai).Format("2006-01-02 15:04:05"), e.ActorName,
				web.AuditActionName(r.Context(), e.Action), e.Action, web.AuditObjectName(r.Context(), e.ObjectType, e.ObjectID),
				web.AuditDetail(e.Detail), e.RequestID}); err != nil {
				return
			}
		}
		n += len(events)
		if !more || len(events) == 0 {
			n = -1 // all of it
			break
		}
		f.Before = events[len(events)-1].ID
	}
	if n >= 0 {
		// Said in the file itself: the export stopped at its bound.
		if err := out.Write([]string{l.T("audit.export_truncated", "Count", auditExportMax)}); err != nil {
			return
		}
	}
	if err := out.Close(); err != nil {
		s.log.Error("audit export", "err", err)
	}
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	f := auditFilter(r, auditPageSize)
	events, more, err := s.app.AuditList(r.Context(), u, f)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	last, err := s.app.AuditVerifications(r.Context(), u, 1)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	rows := make([]web.AuditRow, len(events))
	for i, e := range events {
		rows[i] = web.AuditRow{At: e.At, ActorName: e.ActorName, Action: e.Action, ObjectType: e.ObjectType,
			ObjectID: e.ObjectID, Detail: e.Detail, RequestID: e.RequestID}
	}
	v := web.AuditView{Events: rows, First: f.Before == 0, Action: q.Get("action"), From: q.Get("from"), To: q.Get("to")}
	if len(last) == 1 && !last[0].OK {
		alarm := chainRow(last[0])
		v.Alarm = &alarm
	}
	if more {
		v.Older = events[len(events)-1].ID
	}
	s.render(w, r, web.AuditPage(v))
}

// handleJobs shows the background work: the latest sweeps with what each
// changed, and River's latest jobs (queued, running, failed, retried).
func (s *Server) handleJobs(w http.ResponseWriter, r *http.Request) {
	queued, err := s.store.JobList(r.Context(), 50)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	sweeps, err := s.store.SweepRuns(r.Context(), 20)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := web.JobsView{}
	for _, j := range queued {
		v.Jobs = append(v.Jobs, web.JobRow{ID: j.ID, Kind: j.Kind, State: j.State, Attempt: j.Attempt,
			MaxAttempts: j.MaxAttempts, CreatedAt: j.CreatedAt, LastError: j.LastError})
	}
	for _, x := range sweeps {
		v.Sweeps = append(v.Sweeps, web.SweepRow{Day: x.Day, StartedAt: x.StartedAt, FinishedAt: x.FinishedAt,
			Interrupted: x.FinishedAt == nil && s.clock.Now().Sub(x.StartedAt) > jobs.SweepTimeout,
			Renewed:     x.Renewed, Expired: x.Expired, Overdue: x.Overdue, Reminders: x.Reminders, Escalated: x.Escalated,
			RectEscalated: x.RectEscalated, PolicyFlagged: x.PolicyFlagged, Origin: x.Origin})
	}
	s.render(w, r, web.JobsPage(v))
}
