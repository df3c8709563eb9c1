// Package province generates a synthetic province for benchmarks and scaled
// demos: 2,162 units in 15 jurisdictions, 39,908 people, an account per
// role per unit, and any number of secondments in every state with their
// decisions, written with COPY in one transaction (History adds their audit
// events and notifications). cmd/bench measures against it; `secondment
// seed demo --scale N` loads it beside the demo.
package province
