package web

import (
	"strconv"

	"secondment/internal/secondment"
)

// shanghai is the zone every time is shown in.
var shanghai = secondment.Shanghai

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// SourceMessage cites a rule's source as a message: document, issuer,
// date and article, and the words quoted; a policy's basis alone when that
// is all there is.
func SourceMessage(s secondment.Source) secondment.Message {
	switch {
	case s.Quote == "":
		return secondment.Msg("source.cite_basis", "Document", s.Document)
	case s.Issuer == "":
		return secondment.Msg("source.cite_no_issuer", "Document", s.Document, "Date", s.Date, "Quote", s.Quote)
	}
	return secondment.Msg("source.cite", "Document", s.Document, "Issuer", s.Issuer, "Date", s.Date, "Article", s.Article, "Quote", s.Quote)
}
