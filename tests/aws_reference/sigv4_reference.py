#!/usr/bin/env python3
"""Signs the S3 requests given on standard input with botocore (AWS's SDK for Python, pinned
through moto in requirements-dev.txt) and prints their Authorization headers, one per line.

Input: a JSON list of {method, url, headers: {name: value}, body (text), region, access_key,
secret_key, token, time ("YYYYmmddTHHMMSSZ")}. botocore's own S3 signer (S3SigV4Auth) signs,
with its clock fixed to `time`: the reference tests/s3_signing.rs holds the guard's signer to.
"""

import datetime
import json
import sys

import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

for r in json.load(sys.stdin):
    fixed = datetime.datetime.strptime(r["time"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda fixed=fixed: fixed
    request = AWSRequest(method=r["method"], url=r["url"], headers=r["headers"], data=r["body"].encode())
    credentials = Credentials(r["access_key"], r["secret_key"], r["token"])
    S3SigV4Auth(credentials, "s3", r["region"]).add_auth(request)
    print(request.headers["Authorization"])
