package postgres_test

import (
	"context"
	"testing"
	"time"

	"secondment/internal/auth"
	"secondment/internal/dbtest"
	"secondment/internal/postgres"
)

// The schema's defaults are the policy the code documents.
func TestSecurityDefaults(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	got, err := s.SecuritySettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != auth.DefaultSettings {
		t.Fatalf("schema defaults %+v; auth.DefaultSettings %+v", got, auth.DefaultSettings)
	}
}

// The separation of duties holds in the database too, whatever a caller
// does.
func TestRoleSeparationInSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := dbtest.Store(t)
	if _, err := s.Import(ctx, postgres.Import{Units: sampleUnits()}); err != nil {
		t.Fatal(err)
	}
	u, _ := s.UnitGetByCode(ctx, "C-ZZB")
	hash, _ := auth.Hasher{Params: auth.CheapParams}.Hash("whatever password")
	id, err := s.UserCreate(ctx, postgres.Actor{Name: "test"}, postgres.NewUser{Login: "admin", Name: "管理员", UnitID: u.ID,
		Roles: []auth.Role{auth.RoleSysAdmin}, PasswordHash: hash}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `INSERT INTO user_role (user_id, role) VALUES ($1, 'orgdept')`, id); err == nil {
		t.Fatal("the schema let an administrator take an approval role")
	}
	if _, err := s.Pool.Exec(ctx, `INSERT INTO user_role (user_id, role) VALUES ($1, 'auditor')`, id); err == nil {
		t.Fatal("the schema let one person be system administrator and auditor")
	}
	if _, err := s.Pool.Exec(ctx, `UPDATE app_user SET password_hash = 'plain text' WHERE id = $1`, id); err == nil {
		t.Fatal("the schema stored a password that is not an argon2id hash")
	}
}
