#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""botocore_sign.py: the Authorization header Debian's botocore computes for an STS query-API
POST, as the reference for dsqlauth's SigV4 header signing.

Usage: botocore_sign.py URL BODY REGION AMZDATE ACCESS_KEY SECRET [SESSION_TOKEN]
"""
import sys

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

url, body, region, amzdate, akid, secret = sys.argv[1:7]
token = sys.argv[7] if len(sys.argv) > 7 and sys.argv[7] else None
req = AWSRequest(method="POST", url=url, data=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
auth = SigV4Auth(Credentials(akid, secret, token), "sts", region)
req.context["timestamp"] = amzdate
auth._modify_request_before_signing(req)
canonical = auth.canonical_request(req)
signature = auth.signature(auth.string_to_sign(req, canonical), req)
auth._inject_signature_to_request(req, signature)
print(req.headers["Authorization"])
