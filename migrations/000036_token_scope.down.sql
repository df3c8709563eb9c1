ALTER TABLE api_token DROP COLUMN scope, DROP COLUMN expires_at;
