package server

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPI []byte

func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}

// apiUnit is a unit as the JSON API shows it.
type apiUnit struct {
	Code          string `json:"code"`
	Name          string `json:"name"`
	Level         string `json:"level"`
	System        string `json:"system"`
	Branch        string `json:"branch,omitempty"`
	ParentCode    string `json:"parent_code,omitempty"`
	Depth         int    `json:"depth"`
	StaffingQuota *int   `json:"staffing_quota"`
	PostQuota     *int   `json:"post_quota"`
	Headcount     *int   `json:"headcount"`
	People        int    `json:"people"`
}

func (s *Server) handleAPIUnitList(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	units, err := s.visibleUnits(r, u)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	codes := map[int64]string{}
	for _, u := range units {
		codes[u.ID] = u.Code
	}
	out := make([]apiUnit, 0, len(units))
	// A parent outside the user's scope is left out of parent_code.
	for _, u := range units {
		out = append(out, apiUnit{Code: u.Code, Name: u.Name, Level: string(u.Level), System: string(u.System),
			Branch: string(u.Branch), ParentCode: codes[u.ParentID], Depth: u.Depth,
			StaffingQuota: u.StaffingQuota, PostQuota: u.PostQuota, Headcount: u.Headcount, People: u.People})
	}
	writeJSON(w, map[string]any{"units": out})
}

// apiMe is the caller as the API shows them.
type apiMe struct {
	Login    string   `json:"login"`
	Name     string   `json:"name"`
	UnitName string   `json:"unit_name"`
	Roles    []string `json:"roles"`
}

func (s *Server) handleAPIMe(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	me := apiMe{Login: u.Login, Name: u.Name, UnitName: u.UnitName, Roles: []string{}}
	for _, role := range u.Roles {
		me.Roles = append(me.Roles, string(role))
	}
	writeJSON(w, me)
}
