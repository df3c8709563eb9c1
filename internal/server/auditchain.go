package server

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"secondment/internal/approval"
	"secondment/web"
)

// chainRuns is how many verifications the auditor's page and the API list.
const chainRuns = 20

func chainRow(c approval.ChainReport) web.ChainRow {
	row := web.ChainRow{At: c.StartedAt, Origin: c.Origin, Checked: c.Checked, OK: c.OK, BrokenSeq: c.BrokenSeq,
		Problem: c.Problem}
	for _, h := range c.Heads {
		row.Heads = append(row.Heads, fmt.Sprintf("%d:%x", h.Seq, h.Hash))
	}
	return row
}

func (s *Server) auditChainPage(w http.ResponseWriter, r *http.Request, done *approval.ChainReport) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	runs, err := s.app.AuditVerifications(r.Context(), u, chainRuns)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	v := web.AuditChainView{}
	for _, c := range runs {
		v.Runs = append(v.Runs, chainRow(c))
	}
	if done != nil {
		d := chainRow(*done)
		v.Done = &d
	}
	s.render(w, r, web.AuditChainPage(v))
}

func (s *Server) handleAuditChain(w http.ResponseWriter, r *http.Request) {
	s.auditChainPage(w, r, nil)
}

// handleAuditVerify checks the chain now. It walks the whole trail, which
// at a province's size takes seconds; the daily job does the same.
func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	if _, err := readForm(w, r); err != nil {
		s.renderError(w, r, err)
		return
	}
	rep, err := s.app.AuditVerify(r.Context(), u)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.auditChainPage(w, r, &rep)
}

// apiChain is a verification in the API.
type apiChain struct {
	ID         int64     `json:"id"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Origin     string    `json:"origin"`
	Checked    int64     `json:"checked"`
	OK         bool      `json:"ok"`
	BrokenSeq  int64     `json:"broken_seq,omitempty"`
	Problem    string    `json:"problem,omitempty"`
	HeadSeq    int64     `json:"head_seq"`
	HeadHash   string    `json:"head_hash"`
	Heads      []apiHead `json:"heads"` // every lane's newest link: what to note down outside
}

type apiHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func toAPIChain(c approval.ChainReport) apiChain {
	out := apiChain{ID: c.ID, StartedAt: c.StartedAt, FinishedAt: c.FinishedAt, Origin: c.Origin, Checked: c.Checked,
		OK: c.OK, BrokenSeq: c.BrokenSeq, Problem: c.Problem, HeadSeq: c.HeadSeq, HeadHash: c.HeadHex(), Heads: []apiHead{}}
	for _, h := range c.Heads {
		out.Heads = append(out.Heads, apiHead{h.Seq, hex.EncodeToString(h.Hash)})
	}
	return out
}

func (s *Server) handleAPIAuditVerifications(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	runs, err := s.app.AuditVerifications(r.Context(), u, chainRuns)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []apiChain{}
	for _, c := range runs {
		out = append(out, toAPIChain(c))
	}
	writeJSON(w, map[string]any{"verifications": out})
}

func (s *Server) handleAPIAuditVerify(w http.ResponseWriter, r *http.Request) {
	u, err := currentUser(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rep, err := s.app.AuditVerify(r.Context(), u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSONStatus(w, http.StatusCreated, toAPIChain(rep))
}
