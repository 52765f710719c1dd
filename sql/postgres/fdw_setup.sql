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
