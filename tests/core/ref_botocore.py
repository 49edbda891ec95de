#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# ref_botocore.py: an independent reference DSQL token, from botocore's own SigV4 query signer.
#
# Reads lines "host<TAB>region<TAB>akid<TAB>secret<TAB>session_token<TAB>expires<TAB>admin<TAB>epoch"
# on stdin and prints one token per line. Uses boto3's generate_db_connect_auth_token when the
# installed botocore has it (>= 1.35.74), else the same presign path it is built on
# (SigV4QueryAuth, service "dsql", GET https://host/?Action=...), which Debian 12's botocore has.
# The signing time is fixed by patching botocore's clock. Never touches the network.
import datetime
import sys
from unittest import mock

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


class FixedDatetime(datetime.datetime):
    fixed = None

    @classmethod
    def utcnow(cls):
        return cls.fixed.replace(tzinfo=None)

    @classmethod
    def now(cls, tz=None):
        return cls.fixed if tz is not None else cls.fixed.replace(tzinfo=None)


def token(host, region, akid, secret, session_token, expires, admin, epoch):
    action = "DbConnectAdmin" if admin else "DbConnect"
    FixedDatetime.fixed = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    patches = [mock.patch.object(botocore.auth.datetime, "datetime", FixedDatetime)]
    if hasattr(botocore.auth, "get_current_datetime"):
        patches.append(mock.patch.object(botocore.auth, "get_current_datetime",
                                         lambda *a, **k: FixedDatetime.fixed.replace(tzinfo=None)))
    for p in patches:
        p.start()
    try:
        session = botocore.session.Session()
        client_has_dsql = "dsql" in session.get_available_services()
        if client_has_dsql:
            session.set_credentials(akid, secret, session_token or None)
            client = session.create_client("dsql", region_name=region)
            fn = (client.generate_db_connect_admin_auth_token if admin
                  else client.generate_db_connect_auth_token)
            return fn(host, region, ExpiresIn=expires)
        creds = Credentials(akid, secret, session_token or None)
        req = AWSRequest(method="GET", url="https://" + host + "/", params={"Action": action})
        botocore.auth.SigV4QueryAuth(creds, "dsql", region, expires=expires).add_auth(req)
        return req.prepare().url[len("https://"):]
    finally:
        for p in patches:
            p.stop()


def main():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        host, region, akid, secret, st, expires, admin, epoch = line.split("\t")
        print(token(host, region, akid, secret, st, int(expires), admin == "1", int(epoch)))


if __name__ == "__main__":
    main()
