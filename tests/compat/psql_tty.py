#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# psql_tty.py: drives an interactive psql on a pseudo-terminal (psql resets a lost connection
# only when it is interactive) through a session the server closes: a query, WAIT seconds of
# silence, a query that meets the closed connection, then one that must print its result on the
# connection psql's reset made. Prints what the terminal showed; exits 1 if psql stopped
# answering. Usage: psql_tty.py WAIT PSQL-COMMAND...
import os
import pty
import re
import select
import signal
import sys
import time

wait = float(sys.argv[1])
argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

seen = ""
QUERY = "select '%s', current_user, current_setting('search_path');"


def expect(pattern, timeout=20):
    """Reads the terminal until pattern matches what came since the last call."""
    global seen
    start, end = len(seen), time.monotonic() + timeout
    while not re.search(pattern, seen[start:], re.M):
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return False
        try:
            data = os.read(fd, 4096)
        except OSError:  # psql has exited
            return False
        if not data:
            return False
        seen += data.decode(errors="replace").replace("\r", "")
    return True


def send(line):
    os.write(fd, line.encode() + b"\n")


PROMPT = r"[=!][>#] $"  # psql's default prompt, connected or not
ok = expect(PROMPT)
for tag, pause, reply in (("before", wait, r"^before\|"),
                          ("closed", 0, r"Attempting reset: (.*\n)*.*(Succeeded|Failed)\."),
                          ("after", 0, r"^after\||not connected")):
    if not ok:
        break
    send(QUERY % tag)
    ok = expect(reply + r"(.*\n)*.*" + PROMPT)
    time.sleep(pause)
send("\\q")
expect(r"(?!)", timeout=5)  # the rest, until psql has exited
try:
    os.kill(pid, signal.SIGTERM)
except ProcessLookupError:
    pass
os.waitpid(pid, 0)
print(seen)
if not ok:
    print("psql_tty: psql stopped answering")
sys.exit(0 if ok else 1)
