-- SPDX-License-Identifier: MIT — crmpubsub
-- pgbench script (pg_bench.sh): the CRM's edit — every party of one of the
-- preloaded interactions deleted, two new ones inserted, the row updated,
-- in one transaction. Interaction n is md5('i' || n)::uuid.
\set i random(1, 10000)
\set a random(1, 10000)
\set b random(1, 10000)
BEGIN;
DELETE FROM phoenix_kit_crm_interaction_parties
  WHERE interaction_uuid = md5('i' || :i)::uuid;
INSERT INTO phoenix_kit_crm_interaction_parties (interaction_uuid, contact_uuid)
  VALUES (md5('i' || :i)::uuid, md5(:a::text)::uuid),
         (md5('i' || :i)::uuid, md5(:b::text)::uuid);
UPDATE phoenix_kit_crm_interactions SET subject = 'edited'
  WHERE uuid = md5('i' || :i)::uuid;
COMMIT;
