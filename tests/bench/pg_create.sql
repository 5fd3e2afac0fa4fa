-- SPDX-License-Identifier: MIT — crmpubsub
-- pgbench script (pg_bench.sh): the CRM's create — an interaction and its
-- two parties in one transaction. Contact n is md5(n)::uuid.
\set s random(1, 10000)
\set a random(1, 10000)
\set b random(1, 10000)
BEGIN;
INSERT INTO phoenix_kit_crm_interactions (uuid, contact_uuid, subject)
  VALUES (gen_random_uuid(), md5(:s::text)::uuid, 'call') RETURNING uuid AS iu \gset
INSERT INTO phoenix_kit_crm_interaction_parties (interaction_uuid, contact_uuid)
  VALUES (':iu', md5(:a::text)::uuid), (':iu', md5(:b::text)::uuid);
COMMIT;
