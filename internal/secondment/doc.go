// Package secondment holds the domain of secondment (借调) control: units,
// people, and (later) the approval chain and the policy rules R1–R14 of
// shared/DOMAIN.md. It imports neither pgx nor net/http nor templ, so every
// rule can be tested with plain values and a fake clock.
package secondment
