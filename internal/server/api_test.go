package server_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"secondment/internal/i18n"
	"secondment/internal/server"
)

func TestAPIUnitsAndPeople(t *testing.T) {
	t.Parallel()
	s := newSetup(t, true)
	c := s.as(t, "sysadmin")
	res, body := c.get("/api/v1/units")
	var units struct {
		Units []struct {
			Code, Name, Level string
			ParentCode        string `json:"parent_code"`
			Headcount         *int
		}
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &units) != nil || len(units.Units) != 27 {
		t.Fatalf("GET /api/v1/units = %d, %d units", res.StatusCode, len(units.Units))
	}
	res, body = c.get("/api/v1/people?unit=NMG-BT-JY-MC")
	type person struct {
		Name         string
		HomeUnitName string `json:"home_unit_name"`
	}
	var people struct{ People []person }
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &people) != nil || len(people.People) != 2 {
		t.Fatalf("GET /api/v1/people?unit=NMG-BT-JY-MC = %d %s", res.StatusCode, body)
	}
	if !slices.ContainsFunc(people.People, func(p person) bool {
		return p.Name == "武俞吉" && p.HomeUnitName == "麻池镇"
	}) {
		t.Fatalf("武俞吉 of 麻池镇 missing: %s", body)
	}
}

// Every API route is in the OpenAPI document and every documented path is
// routed, so the document cannot fall behind the code.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := newSetup(t, false)
	res, body := s.get(t, "/api/v1/openapi.json", "")
	var spec struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &spec) != nil || !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Fatalf("openapi.json = %d, version %q", res.StatusCode, spec.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range spec.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" /api/v1"+path] = true
		}
	}
	routed := map[string]bool{}
	router := server.New(server.Deps{Catalog: i18n.MustLoad()}).Router()
	param := regexp.MustCompile(`\{(\w+)(:[^}]*)?\}`)
	err := chi.Walk(router, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/v1/") {
			routed[method+" "+param.ReplaceAllString(strings.TrimSuffix(route, "/"), "{$1}")] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for r := range routed {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for d := range documented {
		if !routed[d] {
			t.Errorf("openapi.json documents %s, which is not routed", d)
		}
	}
	if len(routed) == 0 {
		t.Fatal("no API routes found")
	}
}
