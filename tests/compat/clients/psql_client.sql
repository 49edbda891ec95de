-- SPDX-License-Identifier: MIT
-- psql_client.sql: what the compat suite's psql run does (psql -v t=TABLE -f this file): the
-- session's user and schema, a table written and read back, then \conninfo and a bare \c.
select 'user=' || current_user || ' search_path=' || current_setting('search_path');
drop table if exists :t;
create table :t (id int primary key, v text);
insert into :t values (1, 'hello');
select 'table_schema=' || table_schema from information_schema.tables where table_name = :'t';
select 'value=' || v from :t;
drop table :t;
\conninfo
\c
select 'after \c: user=' || current_user || ' search_path=' || current_setting('search_path');
