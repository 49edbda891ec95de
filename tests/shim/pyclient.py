# SPDX-License-Identifier: MIT
# pyclient.py: psycopg2 (sync and async) and ctypes callers of libpq, for the shim's tests.
#
#   pyclient.py sync DSN SQL     psycopg2.connect, prints the first row joined by '|'
#   pyclient.py async DSN SQL    psycopg2.connect(async_=1), polled to completion
#   pyclient.py ctypes-connectdb CONNINFO SQL   libpq looked up by handle: PQconnectdb
#   pyclient.py ctypes-start CONNINFO SQL       libpq looked up by handle: PQconnectStart + poll
# The ctypes modes load $LIBPQ (default libpq.so.5).
# Exits 1 with "ERROR: <message>" when the connection fails.
import os
import select
import sys


def row(values):
    print("|".join("" if v is None else str(v) for v in values))


def with_psycopg2(mode, dsn, sql):
    import psycopg2
    import psycopg2.extensions as ext

    try:
        if mode == "sync":
            conn = psycopg2.connect(dsn)
        else:
            conn = psycopg2.connect(dsn, async_=1)
            while True:
                state = conn.poll()
                if state == ext.POLL_OK:
                    break
                if state == ext.POLL_READ:
                    select.select([conn.fileno()], [], [], 10)
                elif state == ext.POLL_WRITE:
                    select.select([], [conn.fileno()], [], 10)
    except psycopg2.OperationalError as e:
        print("ERROR:", str(e).strip())
        return 1
    cur = conn.cursor()
    cur.execute(sql)
    if mode == "async":
        while conn.poll() != ext.POLL_OK:
            select.select([conn.fileno()], [], [], 10)
    row(cur.fetchone())
    conn.close()
    return 0


def with_ctypes(mode, conninfo, sql):
    import ctypes

    pq = ctypes.CDLL(os.environ.get("LIBPQ", "libpq.so.5"))
    P = ctypes.c_void_p
    for name, res, args in [
        ("PQconnectdb", P, [ctypes.c_char_p]),
        ("PQconnectStart", P, [ctypes.c_char_p]),
        ("PQconnectPoll", ctypes.c_int, [P]),
        ("PQsocket", ctypes.c_int, [P]),
        ("PQstatus", ctypes.c_int, [P]),
        ("PQerrorMessage", ctypes.c_char_p, [P]),
        ("PQexec", P, [P, ctypes.c_char_p]),
        ("PQgetvalue", ctypes.c_char_p, [P, ctypes.c_int, ctypes.c_int]),
        ("PQfinish", None, [P]),
    ]:
        f = getattr(pq, name)
        f.restype, f.argtypes = res, args
    if mode == "ctypes-connectdb":
        conn = pq.PQconnectdb(conninfo.encode())
    else:
        conn = pq.PQconnectStart(conninfo.encode())
        state = 2  # PGRES_POLLING_WRITING
        while pq.PQstatus(conn) != 1 and state not in (0, 3):  # FAILED, OK
            fd = pq.PQsocket(conn)
            if state == 1:
                select.select([fd], [], [], 10)
            else:
                select.select([], [fd], [], 10)
            state = pq.PQconnectPoll(conn)
    if pq.PQstatus(conn) != 0:
        print("ERROR:", pq.PQerrorMessage(conn).decode().strip())
        pq.PQfinish(conn)
        return 1
    res = pq.PQexec(conn, sql.encode())
    print(pq.PQgetvalue(res, 0, 0).decode())
    pq.PQfinish(conn)
    return 0


def main():
    mode, dsn, sql = sys.argv[1:4]
    if mode.startswith("ctypes"):
        return with_ctypes(mode, dsn, sql)
    return with_psycopg2(mode, dsn, sql)


if __name__ == "__main__":
    sys.exit(main())
