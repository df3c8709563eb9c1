-- A proxy's decision records the user it was taken for, not only the name:
-- whoever filed a request, in person or through a proxy, decides none of
-- its steps, and that needs the ID.
ALTER TABLE decision ADD COLUMN on_behalf_of_user_id bigint REFERENCES app_user (id) ON DELETE RESTRICT;
ALTER TABLE decision ADD CHECK ((on_behalf_of = '') = (on_behalf_of_user_id IS NULL));
