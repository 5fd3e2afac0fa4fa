-- SPDX-License-Identifier: MIT — crmpubsub
-- uninstall.sql: removes what crmpubsub.sql installed — the triggers on
-- every attached table, their functions, and the schema crmpubsub with the
-- outbox. Rows still in the outbox are dropped with it: stop the writers
-- or let crmpubsub-pg drain first (docs/postgres.md). Running it again, or
-- on a database without crmpubsub, does nothing.
--
--   psql -d crm -f uninstall.sql

\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;

BEGIN;

DO $do$
DECLARE
    tbl regclass;
    left_over bigint;
BEGIN
    IF to_regclass('crmpubsub.attachments') IS NULL THEN
        RETURN;
    END IF;
    FOR tbl IN SELECT interactions FROM crmpubsub.attachments LOOP
        PERFORM crmpubsub.detach(tbl);
    END LOOP;
    SELECT count(*) INTO left_over FROM crmpubsub.outbox;
    IF left_over > 0 THEN
        RAISE WARNING 'crmpubsub: % outbox rows were not broadcast yet', left_over;
    END IF;
END $do$;

DROP SCHEMA IF EXISTS crmpubsub CASCADE;

COMMIT;
\echo crmpubsub: uninstalled
