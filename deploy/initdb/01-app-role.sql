-- The service's restricted login (docs/security.md, "Two database logins").
-- The image's POSTGRES_USER owns the schema and runs the migrations; the
-- service serves as secondment_app, which the migrations grant what it
-- needs and nothing over the audit trail. Runs once, on an empty volume.
CREATE ROLE secondment_app LOGIN PASSWORD 'secondment-app' NOSUPERUSER NOCREATEDB NOCREATEROLE;
