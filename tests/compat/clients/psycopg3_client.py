#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# psycopg3_client.py: psycopg 3 in its pure-Python form (ctypes, which finds PQconnectStart by
# handle) connects with host, user and dbname only, then writes a table and reads it back.
# Usage: psycopg3_client.py HOST USER
import sys

import psycopg

host, user = sys.argv[1:3]
t = "compat_psycopg3_" + user
print("impl=%s" % psycopg.pq.__impl__)
try:
    with psycopg.connect(host=host, user=user, dbname="postgres", autocommit=True) as conn:
        row = conn.execute("select current_user, current_setting('search_path')").fetchone()
        print("user=%s search_path=%s" % row)
        conn.execute("drop table if exists " + t)
        conn.execute("create table %s (id int primary key, v text)" % t)
        conn.execute("insert into " + t + " values (%s, %s)", (1, "hello"))
        print("table_schema=%s" % conn.execute(
            "select table_schema from information_schema.tables where table_name = %s",
            (t,)).fetchone())
        print("value=%s" % conn.execute("select v from " + t).fetchone())
        conn.execute("drop table " + t)
except psycopg.Error as e:
    sys.exit("psycopg: %s" % str(e).strip())
