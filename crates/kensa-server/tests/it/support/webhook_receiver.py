"""A webhook receiver for the notification tests: checks each delivery's
signature with the verifier docs/notifications.md gives, and appends what
it got to a JSON-lines file. What it answers is read from a file on every
request: ok (200), 500, sleep (answers after 30 s) or redirect (302 to
another host).

usage: webhook_receiver.py SECRET RECORD_FILE MODE_FILE REDIRECT_URL
Prints the port it listens on (127.0.0.1), then serves until killed.
"""

import hashlib
import hmac
import http.server
import json
import sys
import time

SECRET, RECORD, MODE, REDIRECT = sys.argv[1].encode(), sys.argv[2], sys.argv[3], sys.argv[4]


# The verifier of docs/notifications.md, as a receiver would write it.
def verify(secret: bytes, headers, body: bytes, tolerance: int = 300) -> bool:
    timestamp = headers.get("Kensa-Timestamp", "")
    signature = headers.get("Kensa-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False  # missing, or too old: a replay
    expected = "v1=" + hmac.new(
        secret, timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            with open(MODE) as f:
                mode = f.read().strip() or "ok"
        except FileNotFoundError:
            mode = "ok"
        record = {
            "path": self.path,
            "mode": mode,
            "valid": verify(SECRET, self.headers, body),
            "id": self.headers.get("Kensa-Delivery-Id"),
            "idempotency_key": self.headers.get("Idempotency-Key"),
            "body": json.loads(body) if body else None,
        }
        with open(RECORD, "a") as f:
            f.write(json.dumps(record) + "\n")
        if mode == "500":
            self.send_response(500)
        elif mode == "sleep":
            time.sleep(30)
            self.send_response(200)
        elif mode == "redirect":
            self.send_response(302)
            self.send_header("Location", REDIRECT)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
