#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""botocore_chain.py: what Debian's botocore resolves for the current environment, as one
JSON line: {"method", "access_key"}, {"none": true} or {"error": <exception class>}.

Usage: botocore_chain.py [PROFILE]   (a profile given here is botocore's Session(profile=...))

botocore 1.29 predates AWS_ENDPOINT_URL_<SERVICE> / AWS_ENDPOINT_URL; this script applies them
to the clients the credential providers create (STS, SSO) so both implementations talk to the
same loopback servers.
"""
import json
import os
import sys

import botocore.session

_create_client = botocore.session.Session.create_client


def create_client(self, service_name, *args, **kwargs):
    url = os.environ.get("AWS_ENDPOINT_URL_" + service_name.upper()) or os.environ.get(
        "AWS_ENDPOINT_URL")
    if url and not kwargs.get("endpoint_url"):
        kwargs["endpoint_url"] = url
    return _create_client(self, service_name, *args, **kwargs)


botocore.session.Session.create_client = create_client

profile = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else None
try:
    creds = botocore.session.Session(profile=profile).get_credentials()
    if creds is None:
        print(json.dumps({"none": True}))
    else:
        frozen = creds.get_frozen_credentials()
        print(json.dumps({"method": creds.method, "access_key": frozen.access_key}))
except Exception as e:  # the class is the comparable part; messages differ by design
    print(json.dumps({"error": type(e).__name__, "message": str(e)[:200]}))
