-- The audit chain is keyed from `keyed_from` on: each later entry's hash is an HMAC-SHA256
-- under a key derived from the master key, which the database does not hold. `keyed_mac`
-- seals that position together with the hash of the entry before it, so neither the marker
-- nor the unkeyed entries before it can be changed without the key.
ALTER TABLE audit_head ADD COLUMN keyed_from BIGINT;
ALTER TABLE audit_head ADD COLUMN keyed_mac TEXT;
