-- SPDX-License-Identifier: MIT — crmpubsub
-- crmpubsub.sql: records every committed change of a CRM interaction, or of
-- its parties, in the outbox table crmpubsub.outbox, and rings a doorbell
-- (NOTIFY crmpubsub) once per writing transaction. crmpubsub-pg(8) turns the
-- outbox into broadcast_to_contacts requests. See docs/postgres.md.
--
--   psql -d crm -f crmpubsub.sql
--   psql -d crm -v interactions=my_interactions -v parties=my_parties \
--        -v subject=owner_uuid -f crmpubsub.sql
--
-- psql variables (defaults in brackets):
--   interactions       [phoenix_kit_crm_interactions]  the interactions table
--   interaction_key    [uuid]               its primary key column
--   subject            [contact_uuid]       its subject contact column
--   parties            [phoenix_kit_crm_interaction_parties]  the parties table
--   party_interaction  [interaction_uuid]   the party's interaction column
--   party_contact      [contact_uuid]       the party's contact column
--
-- Running it again is harmless: it replaces the functions and triggers and
-- keeps the outbox and its rows. uninstall.sql removes everything.
--
-- The outbox, one row per recorded contact (change says why):
--   I  the interaction row was inserted (contact: its subject)
--   U  the interaction row was updated (old and new subject)
--   D  the interaction row was deleted (contact: its subject)
--   P  a party row was inserted, updated or deleted (old and new contact)
--   L  the interaction's contacts that the transaction did not change,
--      looked up once, at its first change of that interaction
-- so that the contacts of one (transaction, interaction) are exactly the
-- union of the contacts involved before and after the transaction.

\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;
\if :{?interactions} \else \set interactions phoenix_kit_crm_interactions \endif
\if :{?interaction_key} \else \set interaction_key uuid \endif
\if :{?subject} \else \set subject contact_uuid \endif
\if :{?parties} \else \set parties phoenix_kit_crm_interaction_parties \endif
\if :{?party_interaction} \else \set party_interaction interaction_uuid \endif
\if :{?party_contact} \else \set party_contact contact_uuid \endif

BEGIN;

CREATE SCHEMA IF NOT EXISTS crmpubsub;
COMMENT ON SCHEMA crmpubsub IS
    'crmpubsub outbox: changes of CRM interactions waiting for crmpubsub-pg';

CREATE TABLE IF NOT EXISTS crmpubsub.outbox (
    id               bigserial PRIMARY KEY,
    txid             xid8 NOT NULL,
    interaction_uuid uuid NOT NULL,
    contact_uuid     uuid,
    change           "char" NOT NULL CHECK (change IN ('I', 'U', 'D', 'P', 'L')),
    created_at       timestamptz NOT NULL DEFAULT now()
);
-- The bridge reads in this order, one (transaction, interaction) after the
-- other; the triggers probe it to look an interaction's contacts up once.
CREATE INDEX IF NOT EXISTS outbox_drain
    ON crmpubsub.outbox (txid, interaction_uuid, id);

-- Which tables carry the triggers (attach() and detach() keep it).
CREATE TABLE IF NOT EXISTS crmpubsub.attachments (
    interactions      regclass PRIMARY KEY,
    parties           regclass NOT NULL UNIQUE,
    interaction_key   name NOT NULL,
    subject           name NOT NULL,
    party_interaction name NOT NULL,
    party_contact     name NOT NULL
);

-- Fails unless tbl has a column col of type uuid.
CREATE OR REPLACE FUNCTION crmpubsub.check_uuid_column(tbl regclass, col name)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    typ regtype;
BEGIN
    SELECT a.atttypid::regtype INTO typ FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attname = col AND NOT a.attisdropped
       AND a.attnum > 0;
    IF typ IS NULL THEN
        RAISE EXCEPTION 'crmpubsub: table % has no column %', tbl, col;
    ELSIF typ <> 'uuid'::regtype THEN
        RAISE EXCEPTION 'crmpubsub: column %.% is of type %, not uuid',
            tbl, col, typ;
    END IF;
END $fn$;

-- The name of the trigger function for table tbl: "<schema>.<table>".
CREATE OR REPLACE FUNCTION crmpubsub.trigger_function(tbl regclass)
RETURNS text LANGUAGE sql STABLE AS $fn$
    SELECT format('crmpubsub.%I', n.nspname || '.' || c.relname)
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl
$fn$;

-- Creates the trigger functions for one pair of tables and attaches them as
-- AFTER INSERT OR UPDATE OR DELETE row triggers named crmpubsub_outbox.
-- The functions are generated with the table and column names written in,
-- so every statement in them is planned once per session.
CREATE OR REPLACE FUNCTION crmpubsub.attach(
    interactions regclass,
    parties regclass,
    interaction_key name DEFAULT 'uuid',
    subject name DEFAULT 'contact_uuid',
    party_interaction name DEFAULT 'interaction_uuid',
    party_contact name DEFAULT 'contact_uuid')
RETURNS void LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
    -- Shared by both functions: look the interaction's unchanged contacts
    -- up when this transaction has recorded nothing for it yet, and ring
    -- the doorbell once per transaction. The mark is the transaction-local
    -- setting crmpubsub.doorbell = 'rung', so a rolled-back savepoint undoes
    -- it together with its NOTIFY; any other non-empty value set for the
    -- database or role ('off') keeps the doorbell silent, leaving the
    -- bridge to its polls.
    lookup text := $body$
        IF NOT EXISTS (SELECT 1 FROM crmpubsub.outbox o
                        WHERE o.txid = tx AND o.interaction_uuid = %2$s) THEN
            INSERT INTO crmpubsub.outbox (txid, interaction_uuid, contact_uuid, change)
            SELECT tx, %2$s, i.%4$I, 'L' FROM %1$s i
             WHERE i.%3$I = %2$s AND i.%4$I IS NOT NULL
            UNION ALL
            SELECT tx, %2$s, p.%7$I, 'L' FROM %5$s p
             WHERE p.%6$I = %2$s AND p.%7$I IS NOT NULL;
        END IF;
    $body$;
    doorbell text := $body$
        IF coalesce(current_setting('crmpubsub.doorbell', true), '') = '' THEN
            PERFORM pg_notify('crmpubsub', 'outbox');
            PERFORM set_config('crmpubsub.doorbell', 'rung', true);
        END IF;
        RETURN NULL;
    $body$;
    record text := $body$
        INSERT INTO crmpubsub.outbox (txid, interaction_uuid, contact_uuid, change)
        VALUES (tx, %s, %s, %s);
    $body$;
    head text := $body$
        CREATE OR REPLACE FUNCTION %s() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
        AS $trg$
        DECLARE
            tx xid8 := pg_current_xact_id();
        BEGIN
    $body$;
    i_tbl text;
    p_tbl text;
    l_old text;
    src text;
BEGIN
    PERFORM crmpubsub.check_uuid_column(interactions, interaction_key);
    PERFORM crmpubsub.check_uuid_column(interactions, subject);
    PERFORM crmpubsub.check_uuid_column(parties, party_interaction);
    PERFORM crmpubsub.check_uuid_column(parties, party_contact);
    -- regclass::text qualifies a name only when search_path would not find
    -- it; the functions run with an empty search_path, so qualify always.
    SELECT format('%I.%I', n.nspname, c.relname) INTO i_tbl FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = interactions;
    SELECT format('%I.%I', n.nspname, c.relname) INTO p_tbl FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parties;

    -- Interactions: an insert is recorded alone (nothing was involved
    -- before); an update or delete first looks the parties up.
    l_old := format(lookup, i_tbl, format('OLD.%I', interaction_key),
        interaction_key, subject, p_tbl, party_interaction, party_contact);
    src := format(head, crmpubsub.trigger_function(interactions))
        || 'IF TG_OP = ''INSERT'' THEN'
        || format(record, format('NEW.%I', interaction_key),
                  format('NEW.%I', subject), '''I''')
        || 'ELSE' || l_old
        || format(record, format('OLD.%I', interaction_key),
                  format('OLD.%I', subject),
                  'CASE TG_OP WHEN ''DELETE'' THEN ''D''::"char" ELSE ''U'' END')
        || format('IF TG_OP = ''UPDATE'' AND (NEW.%1$I IS DISTINCT FROM OLD.%1$I'
                  ' OR NEW.%2$I <> OLD.%2$I) THEN', subject, interaction_key)
        || format(record, format('NEW.%I', interaction_key),
                  format('NEW.%I', subject), '''U''')
        || 'END IF; END IF;' || doorbell || 'END $trg$';
    EXECUTE src;

    -- Parties: the old row (update, delete) and the new row (insert,
    -- update), each after the lookup for its interaction; @ROW@ stands for
    -- OLD or NEW.
    src := format(lookup, i_tbl, format('@ROW@.%I', party_interaction),
                  interaction_key, subject, p_tbl, party_interaction,
                  party_contact)
        || format(record, format('@ROW@.%I', party_interaction),
                  format('@ROW@.%I', party_contact), '''P''');
    src := format(head, crmpubsub.trigger_function(parties))
        || 'IF TG_OP <> ''INSERT'' THEN' || replace(src, '@ROW@', 'OLD')
        || 'END IF; IF TG_OP <> ''DELETE'' THEN' || replace(src, '@ROW@', 'NEW')
        || 'END IF;' || doorbell || 'END $trg$';
    EXECUTE src;

    EXECUTE format('CREATE OR REPLACE TRIGGER crmpubsub_outbox'
        ' AFTER INSERT OR UPDATE OR DELETE ON %s'
        ' FOR EACH ROW EXECUTE FUNCTION %s()',
        i_tbl, crmpubsub.trigger_function(interactions));
    EXECUTE format('CREATE OR REPLACE TRIGGER crmpubsub_outbox'
        ' AFTER INSERT OR UPDATE OR DELETE ON %s'
        ' FOR EACH ROW EXECUTE FUNCTION %s()',
        p_tbl, crmpubsub.trigger_function(parties));

    INSERT INTO crmpubsub.attachments AS a VALUES (attach.interactions,
        attach.parties, attach.interaction_key, attach.subject,
        attach.party_interaction, attach.party_contact)
    ON CONFLICT (interactions) DO UPDATE SET parties = excluded.parties,
        interaction_key = excluded.interaction_key, subject = excluded.subject,
        party_interaction = excluded.party_interaction,
        party_contact = excluded.party_contact;
END $fn$;

-- Removes the triggers and trigger functions of one attached pair; the
-- outbox keeps the rows already recorded.
CREATE OR REPLACE FUNCTION crmpubsub.detach(tbl regclass)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    a crmpubsub.attachments;
BEGIN
    SELECT * INTO a FROM crmpubsub.attachments
     WHERE interactions = tbl OR parties = tbl;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'crmpubsub: % is not attached', tbl;
    END IF;
    EXECUTE format('DROP TRIGGER IF EXISTS crmpubsub_outbox ON %s', a.interactions);
    EXECUTE format('DROP TRIGGER IF EXISTS crmpubsub_outbox ON %s', a.parties);
    EXECUTE format('DROP FUNCTION IF EXISTS %s()',
        crmpubsub.trigger_function(a.interactions));
    EXECUTE format('DROP FUNCTION IF EXISTS %s()',
        crmpubsub.trigger_function(a.parties));
    DELETE FROM crmpubsub.attachments WHERE interactions = a.interactions;
END $fn$;

-- Only the installer (and the trigger functions, which run as it) may
-- write the outbox; grant the bridge's role access as docs/postgres.md says.
REVOKE ALL ON ALL TABLES IN SCHEMA crmpubsub FROM PUBLIC;
REVOKE ALL ON FUNCTION crmpubsub.attach(regclass, regclass, name, name, name, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION crmpubsub.detach(regclass) FROM PUBLIC;

SELECT crmpubsub.attach(:'interactions', :'parties', :'interaction_key',
    :'subject', :'party_interaction', :'party_contact') AS attached \gset

COMMIT;
\echo crmpubsub: outbox triggers on :interactions and :parties
