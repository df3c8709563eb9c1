-- A repeated "set proxy" (a double-clicked form, a retried API call) must
-- not make a second identical arrangement. Identical live duplicates, if
-- any, act exactly as the first one, so the later ones are revoked.
UPDATE proxy p SET revoked_at = p.created_at
WHERE p.revoked_at IS NULL AND EXISTS (
    SELECT 1 FROM proxy q
    WHERE q.revoked_at IS NULL AND q.id < p.id AND q.principal_id = p.principal_id
      AND q.proxy_id = p.proxy_id AND q.starts_on = p.starts_on AND q.ends_on = p.ends_on);

CREATE UNIQUE INDEX proxy_live_once ON proxy (principal_id, proxy_id, starts_on, ends_on)
    WHERE revoked_at IS NULL;
