-- The person an audit entry is about when they neither did it nor are its target: a PIM
-- activation started or ended by the system names the request as its target and the person
-- in its body. Entries written before this migration have none and are found by actor and
-- target only.
ALTER TABLE audit_log ADD COLUMN subject_id TEXT;
CREATE INDEX audit_log_subject ON audit_log (subject_id, seq);
