#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# pgcli_client.py: pgcli's own connect and execute path (PGCli.connect as `pgcli -w -h HOST -U
# USER postgres` runs it, over psycopg 3) without its full-screen interface, which has no batch
# mode; writes a table and reads it back. Usage: pgcli_client.py HOST USER
import os
import sys
import tempfile

import psycopg
from pgcli.main import PGCli

host, user = sys.argv[1:3]
t = "compat_pgcli_" + user
# never_passwd_prompt is -w: without it pgcli asks for a password when libpq says it has none.
with tempfile.TemporaryDirectory(prefix="pgcli-") as d:
    rc = os.path.join(d, "config")
    with open(rc, "w") as f:
        f.write("[main]\nhistory_file = /dev/null\nlog_file = /dev/null\nkeyring = False\n")
    cli = PGCli(never_passwd_prompt=True, pgclirc_file=rc, single_connection=True)
try:
    cli.connect(database="postgres", host=host, user=user)
except SystemExit:
    sys.exit(1)  # pgcli has printed why


def rows(sql):
    for _title, cur, _headers, _status, _sql, _success, _special in cli.pgexecute.run(sql):
        if cur is not None:
            return list(cur)
    return None


try:
    print("user=%s search_path=%s" % rows("select current_user, current_setting('search_path')")[0])
    rows("drop table if exists " + t)
    rows("create table %s (id int primary key, v text)" % t)
    rows("insert into %s values (1, 'hello')" % t)
    print("table_schema=%s" % rows("select table_schema from information_schema.tables "
                                   "where table_name = '%s'" % t)[0])
    print("value=%s" % rows("select v from " + t)[0])
    rows("drop table " + t)
except psycopg.Error as e:
    sys.exit("pgcli: %s" % str(e).strip())
