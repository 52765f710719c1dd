-- Reach a synthtab_db wire proxy (`synthtab-db serve DATABASE`) from PostgreSQL with postgres_fdw,
-- so PostgreSQL queries synthetic tables as foreign tables (WHERE, ORDER BY, LIMIT and, once the
-- foreign tables are ANALYZEd, aggregates are pushed down to the proxy).
--
--   psql -d mydb -v port=5433 -v password=SECRET -f sql/postgres/fdw_setup.sql
--
-- Variables (all optional except password): host (127.0.0.1), port (5433), user (synth),
-- password, server (synthtab), remote (the DuckDB schema to import: main), schema (the local
-- schema that receives the foreign tables: synthtab_remote).
-- Undo: DROP SCHEMA <schema> CASCADE; DROP SERVER <server> CASCADE;
\set ON_ERROR_STOP on
\if :{?host} \else \set host 127.0.0.1 \endif
\if :{?port} \else \set port 5433 \endif
\if :{?user} \else \set user synth \endif
\if :{?server} \else \set server synthtab \endif
\if :{?remote} \else \set remote main \endif
\if :{?schema} \else \set schema synthtab_remote \endif

CREATE EXTENSION IF NOT EXISTS postgres_fdw;

-- dbname is not checked: every database name reaches the served DuckDB file.
CREATE SERVER :"server" FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host :'host', port :'port', dbname 'synthtab', fetch_size '1000');

CREATE USER MAPPING FOR CURRENT_USER SERVER :"server"
    OPTIONS (user :'user', password :'password');

CREATE SCHEMA :"schema";
IMPORT FOREIGN SCHEMA :"remote" FROM SERVER :"server" INTO :"schema";

-- synthtab.generate(statement): run a GENERATE through the proxy from PostgreSQL and get its
-- result set typed, then (re)import the foreign tables it wrote into the local schema:
--   SELECT "table", rows, model FROM synthtab.generate('GENERATE SYNTHETIC FROM main.track ROWS 500 INTO synth.t2');
--   SELECT count(*) FROM synthtab_remote.t2;
-- It runs over dblink with this server's options and user mapping (the proxy's roles apply).
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE SCHEMA IF NOT EXISTS synthtab;
DO $$ BEGIN
    CREATE TYPE synthtab.generate_result AS (
        "table" text, source text, rows bigint, model text, seconds double precision, rounds bigint,
        rejected_rows bigint, rejected json, children_ks json, note text, epsilon double precision,
        delta double precision, noise_multiplier double precision, max_grad_norm double precision);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION synthtab.refresh_foreign_table(server text, local_schema text, remote_table text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    remote_schema text := split_part(remote_table, '.', 1);
    name text := split_part(remote_table, '.', 2);
BEGIN
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', local_schema);
    EXECUTE format('DROP FOREIGN TABLE IF EXISTS %I.%I', local_schema, name);
    EXECUTE format('IMPORT FOREIGN SCHEMA %I LIMIT TO (%I) FROM SERVER %I INTO %I',
                   remote_schema, name, server, local_schema);
END $$;

CREATE OR REPLACE FUNCTION synthtab.generate(statement text, server text DEFAULT :'server',
                                             local_schema text DEFAULT :'schema')
RETURNS SETOF synthtab.generate_result LANGUAGE plpgsql AS $$
DECLARE
    results synthtab.generate_result[];
    written text;
BEGIN
    SELECT coalesce(array_agg(d::synthtab.generate_result), '{}') INTO results
    FROM dblink(server, statement) AS d(
        "table" text, source text, rows bigint, model text, seconds double precision, rounds bigint,
        rejected_rows bigint, rejected json, children_ks json, note text, epsilon double precision,
        delta double precision, noise_multiplier double precision, max_grad_norm double precision);
    FOR written IN SELECT DISTINCT r."table" FROM unnest(results) AS r LOOP
        PERFORM synthtab.refresh_foreign_table(server, local_schema, written);
    END LOOP;
    RETURN QUERY SELECT * FROM unnest(results);
END $$;
