#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# psycopg2_client.py: psycopg2 (PQconnectdb from its C extension) connects with host, user and
# dbname only, then writes a table and reads it back. Usage: psycopg2_client.py HOST USER
import sys

import psycopg2

host, user = sys.argv[1:3]
t = "compat_psycopg2_" + user
try:
    conn = psycopg2.connect(host=host, user=user, dbname="postgres")
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("select current_user, current_setting('search_path')")
    print("user=%s search_path=%s" % cur.fetchone())
    cur.execute("drop table if exists " + t)
    cur.execute("create table %s (id int primary key, v text)" % t)
    cur.execute("insert into " + t + " values (%s, %s)", (1, "hello"))
    cur.execute("select table_schema from information_schema.tables where table_name = %s", (t,))
    print("table_schema=%s" % cur.fetchone())
    cur.execute("select v from " + t)
    print("value=%s" % cur.fetchone())
    cur.execute("drop table " + t)
    conn.close()
except psycopg2.Error as e:
    sys.exit("psycopg2: %s" % str(e).strip())
