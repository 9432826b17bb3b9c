#!/usr/bin/env python3
"""Verifies a recorded webhook request's signatures with nothing but Python's standard library, so
the product's signing code (src/http/signing.cc) is checked against an independent implementation.

Reads a JSON document on stdin:
  {"headers": {"webhook-id": ..., "webhook-timestamp": ..., "webhook-signature": ...,
               "x-fraiseql-signature-256": ...},   (names lower-cased; absent ones omitted)
   "body_base64": "...", "secret": "whsec_... or any string"}
Prints one line per scheme, "standard: ok|mismatch|absent" and "fraiseql: ok|mismatch|absent",
and exits 0 when every present scheme matches the secret.
"""
import base64
import hashlib
import hmac
import json
import sys


def standard_ok(headers, body, secret):
    value = headers.get("webhook-signature")
    if value is None:
        return None
    if secret.startswith("whsec_"):
        key = base64.b64decode(secret[len("whsec_"):])
    else:
        key = secret.encode()
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    entries = [entry.split(",", 1) for entry in value.split(" ") if "," in entry]
    return any(version == "v1" and hmac.compare_digest(sig, expected) for version, sig in entries)


def fraiseql_ok(headers, body, secret):
    value = headers.get("x-fraiseql-signature-256")
    if value is None:
        return None
    pairs = [part.split("=", 1) for part in value.split(",") if "=" in part]
    timestamps = [v for k, v in pairs if k == "t"]
    if not timestamps:
        return False
    signed = timestamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(k == "v1" and hmac.compare_digest(v, expected) for k, v in pairs)


def main():
    document = json.load(sys.stdin)
    headers = {k.lower(): v for k, v in document["headers"].items()}
    body = base64.b64decode(document["body_base64"])
    secret = document["secret"]
    ok = True
    for name, check in (("standard", standard_ok), ("fraiseql", fraiseql_ok)):
        result = check(headers, body, secret)
        print(f"{name}: {'absent' if result is None else 'ok' if result else 'mismatch'}")
        ok = ok and result is not False
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
