DROP TABLE api_token;
DROP TABLE sessions;
DROP TABLE sign_in_attempt;
DROP TABLE security_setting;
DROP TABLE user_role;
DROP FUNCTION user_role_separation();
DROP TABLE app_user;
