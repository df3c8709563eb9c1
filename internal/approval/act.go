package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"secondment/internal/auth"
	"secondment/internal/postgres"
	"secondment/internal/secondment"
)

// File is a scanned letter that comes with a step, already checked by its
// content (the server's upload rules).
type File struct {
	Name, ContentType string
	Data              []byte
}

// ActInput is one step as a page's form or an API call brings it.
type ActInput struct {
	Action    secondment.Action
	IfVersion int // the version the caller read; 0: don't check
	Opinion   string
	// Return: the day the person went back (required) and the handover.
	ReturnedOn, Handover string
	Evaluation           string // record_return: 期满鉴定
	// Transfer-in (R12): method and whether it fills a leadership post;
	// the leadership posts the borrowing unit has filled now, which the
	// schema does not record, for the application and the decision
	// (-1: not a number).
	TransferMethod string
	Leadership     bool
	PostsFilled    int
	Letter         *File
	// Invalid is a problem the caller found decoding the input (a bad
	// If-Match, malformed JSON, a letter that is not one). It is reported
	// after the visibility check, so that a request one may not see is 404
	// whatever one sends.
	Invalid error
}

// maxPostsFilled bounds the leadership posts a unit may say it has filled.
const maxPostsFilled = 1000

// input turns the caller's input into the domain's, checking its own
// fields; the domain judges the rest.
func (in ActInput) input(today secondment.Date) (secondment.Input, error) {
	out := secondment.Input{Action: in.Action, Opinion: strings.TrimSpace(in.Opinion),
		Handover: strings.TrimSpace(in.Handover), Evaluation: strings.TrimSpace(in.Evaluation),
		TransferMethod: secondment.TransferMethod(in.TransferMethod)}
	if in.Action == secondment.ActRecordReturn {
		d, err := secondment.ParseDate(strings.TrimSpace(in.ReturnedOn))
		if err != nil {
			return out, fieldError("date", "error.date")
		}
		out.ReturnedOn = d
	}
	if in.Action == secondment.ActTransfer || in.Action == secondment.ActApprove {
		if in.PostsFilled < 0 || in.PostsFilled > maxPostsFilled {
			return out, fieldError("posts_filled", "term.error.posts_filled")
		}
		out.Transfer = &secondment.TransferFacts{PostsFilled: in.PostsFilled, Leadership: in.Leadership}
	}
	return out, nil
}

// Get is request id as u sees it; a request u may not see is not found.
func (s *Service) Get(ctx context.Context, u auth.User, id int64) (Request, error) {
	l, err := s.store.SecondmentLoad(ctx, id, u.ID)
	if err != nil {
		return Request{}, err
	}
	r, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo)
	if !ok {
		return Request{}, secondment.NotFound("secondment")
	}
	return r, nil
}

// Act takes one step on request id for u, in one transaction: it loads the
// request with what decides who may act (parties, hand-over), gathers what
// the rules weigh from the cached catalog and a few indexed reads, lets the
// domain decide, and writes the step, its decision, audit event and
// notifications in one statement guarded by the version read. It returns
// the request as it is now, from the step's own result.
//
// Errors: the domain's (EInvalid with violations or field errors,
// EForbidden, EConflict for a step the state no longer allows); EStale
// wrapping ErrStale when in.IfVersion is not the stored version (also when
// it changed between the read and the write); EConflict wrapping
// ErrConcurrentUpdate when no version was named and another transaction won.
// On any error nothing is written.
func (s *Service) Act(ctx context.Context, u auth.User, id int64, in ActInput) (Request, error) {
	if !in.Action.Valid() {
		return Request{}, secondment.NotFound("action")
	}
	now := s.clock.Now()
	var out Request
	var withdrawn int // renewals the step withdrew, in its transaction
	err := s.store.InTxLoading(ctx, id, u.ID, func(tx *postgres.Tx, l postgres.Loaded) error {
		cur, ok := s.inContext(u, l.SecondmentRecord, l.Handlers, l.Copied, l.EscalatedTo)
		if !ok {
			return secondment.NotFound("secondment")
		}
		if in.Invalid != nil {
			return in.Invalid
		}
		// A letter belongs to the lending unit's consent or decline; one
		// sent with another step (the decision panel has one file field
		// for all its buttons) is refused, not filed under the wrong step.
		if in.Letter != nil && !secondment.NeedsOf(in.Action, l.Secondment).Letter {
			return fieldError("letter", "transition.error.letter_not_here")
		}
		if in.IfVersion != 0 && in.IfVersion != l.Version {
			return versionError(id, in.IfVersion)
		}
		actor := actorFor(u, cur.Secondment, cur.Parties, in.Action)
		if role, _, ok := cur.Pending(); ok && actor.Role == role && cur.Handler.UserID != 0 && cur.Handler.UserID != actor.UserID {
			return forbidden("handover.error.not_yours", fmt.Errorf("step handed to user %d", cur.Handler.UserID))
		}
		din, err := in.input(secondment.DateOf(now))
		if err != nil {
			return err
		}
		din.Letter = in.Letter != nil
		cat, err := s.catalogIn(ctx, tx, l.CatalogVersion)
		if err != nil {
			return err
		}
		if err := s.gather(ctx, tx, cat, l.SecondmentRecord, &din); err != nil {
			return err
		}
		res, err := secondment.Transition(l.Secondment, actor, din, now)
		if err != nil {
			return err
		}
		step := postgres.Step{From: l.SecondmentRecord, To: res.Secondment, Actor: actor, Action: in.Action,
			Event: res.Event, Notify: res.Notifications, Home: res.NewHomeUnit, Now: now,
			Signoff: in.Action == secondment.ActApprove && l.State == secondment.StateAwaitingSignoff,
			Submit:  in.Action == secondment.ActSubmit, Detail: auditDetail(res)}
		if step.Submit {
			n, err := tx.NextNumber(ctx, res.Secondment.JurisdictionID, res.Secondment.SubmittedOn.Year)
			if err != nil {
				return err
			}
			step.To.Number = postgres.FormatNumber(res.Secondment.SubmittedOn.Year, n)
			step.Detail["number"], step.Detail["policy_version"] = step.To.Number, step.To.PolicyVersion
		}
		if in.Letter != nil {
			step.Files = []*postgres.Attachment{{Name: in.Letter.Name, ContentType: in.Letter.ContentType, Data: in.Letter.Data}}
		}
		if withdrawn, err = s.settleRenewals(ctx, tx, id, in.Action, step.To.State, now); err != nil {
			return err
		}
		version, _, err := tx.SecondmentStep(ctx, step)
		if errors.Is(err, postgres.ErrVersion) {
			return versionError(id, in.IfVersion)
		}
		if err != nil {
			return err
		}
		rec := l.SecondmentRecord
		rec.Secondment, rec.Version, rec.UpdatedAt = step.To, version, now
		out, _ = s.inContext(u, rec, l.Handlers, l.Copied, l.EscalatedTo)
		return nil
	})
	if err != nil {
		return Request{}, fmt.Errorf("%s secondment %d: %w", in.Action, id, err)
	}
	s.committed(in.Action)
	for range withdrawn {
		s.committed(secondment.ActWithdraw)
	}
	return out, nil
}

// settleRenewals deals with the renewals of term id still in the chain when
// a step ends the term or asks to make it permanent. A return or a recall
// leaves them nothing to continue: they are withdrawn. A term with a
// signed-off renewal is not ended by hand (the sweep hands it over). A transfer-in is
// refused while one is pending: the borrowing unit decides which it wants
// (the transfer may still be rejected, and a withdrawn renewal cannot come
// back). They go before the term's own step, so an approved renewal never
// meets a term that holds the person without end (secondment_one_place).
// It returns how many renewals it withdrew.
func (s *Service) settleRenewals(ctx context.Context, tx *postgres.Tx, id int64, act secondment.Action, to secondment.State, now time.Time) (int, error) {
	switch {
	case to == secondment.StateReturnRecorded || act == secondment.ActRecall:
		return withdrawRenewals(ctx, tx, id, now)
	case act == secondment.ActExpire:
		// A term with a signed-off renewal is handed over to it by the
		// sweep, never ended by hand: the person stays, under the renewal.
		ids, err := tx.PendingRenewals(ctx, id)
		if err != nil {
			return 0, err
		}
		for _, rid := range ids {
			r, err := tx.SecondmentLoad(ctx, rid, 0)
			if err != nil {
				return 0, err
			}
			if r.State == secondment.StateApproved && r.PreviousID == id {
				return 0, &secondment.Error{Code: secondment.EConflict,
					Message: secondment.Msg("transition.error.expire_renewed", "Number", r.Number, "Start", r.Start.String())}
			}
		}
		return 0, nil
	case act == secondment.ActTransfer:
		ids, err := tx.PendingRenewals(ctx, id)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		r, err := tx.SecondmentLoad(ctx, ids[0], 0)
		if err != nil {
			return 0, err
		}
		return 0, &secondment.Error{Code: secondment.EConflict,
			Message: secondment.Msg("transfer.error.renewal_pending", "Number", r.Number)}
	}
	return 0, nil
}

// withdrawRenewals withdraws, as the system, the renewals of term id still
// pending once its return is recorded: there is no term left for them to
// continue (R6), and the lending unit must not be asked to consent to one.
// It runs in the return's transaction, so both stand or neither. It
// returns how many it withdrew.
func withdrawRenewals(ctx context.Context, tx *postgres.Tx, id int64, now time.Time) (int, error) {
	ids, err := tx.PendingRenewals(ctx, id)
	if err != nil {
		return 0, err
	}
	system := secondment.Actor{Role: secondment.RoleSystem, Name: "system"}
	for _, rid := range ids {
		l, err := tx.SecondmentLoad(ctx, rid, 0)
		if err != nil {
			return 0, err
		}
		res, err := secondment.Transition(l.Secondment, system, secondment.Input{Action: secondment.ActWithdraw}, now)
		if err != nil {
			return 0, fmt.Errorf("withdraw renewal %d: %w", rid, err)
		}
		if _, _, err := tx.SecondmentStep(ctx, postgres.Step{From: l.SecondmentRecord, To: res.Secondment, Actor: system,
			Action: secondment.ActWithdraw, Event: res.Event, Notify: res.Notifications, Now: now, Detail: auditDetail(res)}); err != nil {
			return 0, fmt.Errorf("withdraw renewal %d: %w", rid, err)
		}
	}
	return len(ids), nil
}

// auditDetail is what the audit trail records of a step besides its
// version and decision (the store adds those).
func auditDetail(res secondment.Result) map[string]any {
	d := map[string]any{"from": res.Event.From, "to": res.Event.To, "rules": ruleStrings(res.Event.Rules),
		"event": map[string]any{"id": res.Event.Message.ID, "data": res.Event.Message.Data}}
	if len(res.Violations) > 0 {
		var vs []map[string]string
		for _, v := range res.Violations {
			vs = append(vs, map[string]string{"rule": string(v.Rule), "severity": string(v.Severity)})
		}
		d["violations"] = vs
	}
	if res.NewHomeUnit != 0 {
		d["new_home_unit"] = res.NewHomeUnit
	}
	return d
}

func ruleStrings(rules []secondment.RuleID) []string {
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = string(r)
	}
	return out
}

// gather completes the domain's input with what the rules weigh: the
// jurisdiction (resolved at submission, recorded afterwards), the facts of
// the rules for a submission or a sign-off, and the quota facts of a
// transfer-in, read with the units locked.
func (s *Service) gather(ctx context.Context, tx *postgres.Tx, cat *snapshot, cur postgres.SecondmentRecord, in *secondment.Input) error {
	caller := in.Transfer
	in.Jurisdiction, in.Facts, in.Transfer = nil, nil, nil
	in.Changed = cur.ChangedSinceSentBack
	switch {
	case cur.State == secondment.StateDraft && in.Action == secondment.ActSubmit:
		j, err := cat.h.Jurisdiction(cur.BorrowerID, cat.policies)
		if err != nil {
			return err
		}
		in.Jurisdiction = &j
	default:
		in.Jurisdiction = cat.recorded(cur.Secondment)
	}
	judge := in.Action == secondment.ActSubmit || in.Action == secondment.ActResubmit || in.Action == secondment.ActApprove
	if in.Action == secondment.ActConsent && cur.State == secondment.StateAwaitingConsent && in.Jurisdiction != nil {
		// The consent judges again only under a version newer than the
		// submission's: in the common case it reads nothing more.
		p, err := in.Jurisdiction.PolicyOn(secondment.Today(s.clock))
		judge = err == nil && p.Version != cur.PolicyVersion
	}
	if judge && cur.State != secondment.StateTransferPending && in.Jurisdiction != nil {
		history, away, err := tx.Facts(ctx, cur.PersonID, cur.ID, cur.LenderID)
		if err != nil {
			return err
		}
		held := 0
		if in.Jurisdiction.CapsBorrowers() {
			// The sign-off takes a place: it locks the unit so that two
			// sign-offs cannot both take its last one.
			terms, err := tx.HeldTerms(ctx, cur.BorrowerID, in.Action == secondment.ActApprove)
			if err != nil {
				return err
			}
			held = secondment.HeldDuring(terms, cur.Secondment)
		}
		f := factsOf(cat, cur.Secondment, in.Jurisdiction.Root.Name, history, away, held)
		in.Facts = &f
	}
	apply := in.Action == secondment.ActTransfer && cur.State == secondment.StateActive
	decide := in.Action == secondment.ActApprove && cur.State == secondment.StateTransferPending
	if apply || decide {
		t := secondment.TransferFacts{Leadership: cur.TransferLeadership}
		if caller != nil {
			t.PostsFilled = caller.PostsFilled
			if apply {
				t.Leadership = caller.Leadership
			}
		}
		var err error
		t.Borrower, t.Pending, t.PendingLeadership, err = tx.TransferCounts(ctx, cur.ID, cur.BorrowerID, cur.LenderID, decide)
		if err != nil {
			return err
		}
		in.Transfer = &t
	}
	return nil
}

// factsOf assembles the rules' facts from the catalog and the person's
// other requests.
func factsOf(cat *snapshot, s secondment.Secondment, jurisdiction string, history []postgres.SecondmentRecord, away, held int) secondment.Facts {
	f := secondment.Facts{Jurisdiction: jurisdiction, Borrower: cat.unit(s.BorrowerID), Lender: cat.unit(s.LenderID),
		LenderAway: away, BorrowerHeld: held, History: make([]secondment.Secondment, 0, len(history)), Calendar: cat.cal}
	for _, h := range history {
		f.History = append(f.History, named(cat, h.Secondment, s.PersonName))
	}
	return f
}

// named fills in a history row's names: the person's, and its units' from
// the catalog.
func named(cat *snapshot, h secondment.Secondment, person string) secondment.Secondment {
	h.PersonName, h.BorrowerName, h.LenderName = person, cat.unit(h.BorrowerID).Name, cat.unit(h.LenderID).Name
	return h
}
