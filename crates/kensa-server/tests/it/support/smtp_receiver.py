"""A real SMTP server for the notification tests (aiosmtpd): STARTTLS
with the given certificate (or none at all with --no-tls), AUTH required
(user kensa, the given password), every message parsed with Python's
`email` package and appended to a JSON-lines file.

usage: smtp_receiver.py RECORD_FILE PASSWORD CERT KEY [--no-tls]
Prints the port it listens on (127.0.0.1), then serves until killed.
"""

import email
import email.policy
import json
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

RECORD, PASSWORD, CERT, KEY = sys.argv[1:5]
NO_TLS = "--no-tls" in sys.argv


class Handler:
    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        parts = [
            {"type": p.get_content_type(), "text": p.get_content()}
            for p in msg.walk()
            if not p.is_multipart()
        ]
        raw_subject = next(
            (line for line in raw.decode("ascii", "replace").splitlines()
             if line.lower().startswith("subject:")),
            "",
        )
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
            "subject": str(msg["Subject"]),
            "raw_subject": raw_subject,
            "message_id": str(msg["Message-ID"]),
            "content_type": msg.get_content_type(),
            "parts": parts,
        }
        with open(RECORD, "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        return "250 OK"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = getattr(auth_data, "login", None) == b"kensa" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
kwargs = {}
if not NO_TLS:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(CERT, KEY)
    kwargs = {"tls_context": ctx, "require_starttls": True}
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=port,
    authenticator=authenticator,
    auth_required=True,
    auth_require_tls=not NO_TLS,
    **kwargs,
)
controller.start()
print(port, flush=True)
while True:
    time.sleep(3600)
