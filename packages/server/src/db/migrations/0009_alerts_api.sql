-- The alerts API (issue #7 §1): what acknowledging, resolving and listing alerts need of the alerts table.

-- The list pages by (created_at, id): a row without a creation time would sort before every other one and
-- could never be reached by a cursor. The seed allowed NULL; no writer leaves it out.
UPDATE alerts SET created_at = COALESCE(acknowledged_at, resolved_at, updated_at) WHERE created_at IS NULL;
ALTER TABLE alerts ALTER COLUMN created_at SET NOT NULL;

-- The original did not validate a manual alert's severity: a row of another word would break every list
-- that holds it. Known words in another case keep their meaning; anything else becomes a warning.
UPDATE alerts SET severity = CASE lower(severity) WHEN 'critical' THEN 'critical' WHEN 'info' THEN 'info' ELSE 'warning' END
    WHERE severity NOT IN ('info', 'warning', 'critical');
ALTER TABLE alerts ADD CONSTRAINT ck_alerts_severity CHECK (severity IN ('info', 'warning', 'critical'));

-- Why a person resolved an alert (acknowledge_note's counterpart); NULL when the engine resolved it.
ALTER TABLE alerts ADD COLUMN resolve_note TEXT;

-- Text search (`?search=`) looks for a substring of the title or the message in any case. ILIKE over both
-- columns costs ~10 µs a row on PGlite (a second for 100,000 alerts); LIKE over one lower-cased copy a
-- twentieth of that. The newline keeps a search from matching across the two.
ALTER TABLE alerts ADD COLUMN search_text TEXT GENERATED ALWAYS AS (lower(title || E'\n' || message)) STORED;

-- Muted alerts are few: the list's `muted=true` and its count read them from this index, not from every row.
CREATE INDEX idx_alerts_muted_created ON alerts (created_at DESC, id DESC) WHERE muted;

-- No other index: EXPLAIN on PGlite with 100,000 alerts (npm run bench:alerts-api -- --explain) reads a page
-- of a common robot, type, rule or severity in list order from 0001/0007's indexes (a backward scan of
-- created_at, filtered), and a rare one from its single-column index and a sort of the few matches.
