#!/usr/bin/env python3
"""Checks a phoneverify webhook (Standard Webhooks scheme), standard library only.

    ok = verify(secret, headers, body)   # secret: "whsec_..." from `client show`

or from a shell: verify_webhook.py SECRET ID TIMESTAMP SIGNATURE < body.json

`headers` is a dict with lower-case names, `body` the raw bytes as received (do not
re-serialise the JSON: the signature covers the exact bytes). Refuse the request when
verify() returns False; answer 2xx quickly once it is stored (phoneverify retries
anything else, with the same webhook-id: de-duplicate on it).
"""
import base64
import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300  # refuse replays of old requests


def verify(secret: str, headers: dict, body: bytes) -> bool:
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and timestamp.isdigit() and secret.startswith("whsec_")):
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret[len("whsec_"):])
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # The header may carry several space-separated "v1,<sig>" entries (key rotation).
    return any(
        part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
        for part in signatures.split()
    )


def main(argv):
    """verify_webhook.py SECRET WEBHOOK_ID WEBHOOK_TIMESTAMP WEBHOOK_SIGNATURE < BODY

    Exit status 0 when the signature is right, 1 otherwise."""
    import sys
    if len(argv) != 5:
        sys.stderr.write(main.__doc__ + "\n")
        return 2
    secret, msg_id, timestamp, signature = argv[1:]
    headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp,
               "webhook-signature": signature}
    return 0 if verify(secret, headers, sys.stdin.buffer.read()) else 1


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
