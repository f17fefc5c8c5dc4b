#!/usr/bin/env python3
"""SMTP test server for llmwatch's integration tests (started by scripts/services.sh).

One process, two listeners on loopback, both delivering into one Maildir (see
RecordingMailbox for the headers added to every stored message):
  * --port:     plain SMTP that offers STARTTLS; AUTH (PLAIN/LOGIN) accepts any
                credentials, with or without TLS (auth_require_tls=False).
  * --tls-port: implicit TLS (SMTPS) with the same certificate and AUTH.

When both listeners accept connections it prints exactly one line
    LLMWATCH-SMTP-READY starttls=HOST:PORT implicit=HOST:PORT
and then runs until SIGTERM/SIGINT.
"""

import argparse
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult

READY_PREFIX = "LLMWATCH-SMTP-READY"


def accept_any(server, session, envelope, mechanism, auth_data):
    """Authenticator: every user and password is accepted; the login is kept for the headers."""
    login = getattr(auth_data, "login", b"") or b""
    if isinstance(login, bytes):
        login = login.decode("utf-8", "replace")
    return AuthResult(success=True, auth_data=(mechanism, login))


class RecordingMailbox(Mailbox):
    """Maildir delivery that also records how the message arrived, as headers tests can check:
    X-Peer, X-MailFrom, X-RcptTo (the envelope, from aiosmtpd), and
    X-LLMWatch-TLS (TLS version, or "none") and X-LLMWatch-Auth ("MECHANISM login", or "none").
    """

    async def handle_DATA(self, server, session, envelope):
        ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
        session.llmwatch_tls = ssl_object.version() if ssl_object is not None else "none"
        return await super().handle_DATA(server, session, envelope)

    def prepare_message(self, session, envelope):
        message = super().prepare_message(session, envelope)
        message["X-LLMWatch-TLS"] = getattr(session, "llmwatch_tls", "none")
        if session.authenticated and session.auth_data:
            mechanism, login = session.auth_data
            message["X-LLMWatch-Auth"] = f"{mechanism} {login}"
        else:
            message["X-LLMWatch-Auth"] = "none"
        return message


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tls-port", type=int, default=0, help="implicit-TLS port; 0 disables it")
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()

    # mailbox.Maildir creates tmp/new/cur only when the top directory is missing.
    for sub in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(args.maildir, sub), exist_ok=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(args.cert, args.key)

    common = dict(
        authenticator=accept_any,
        auth_require_tls=False,
        require_starttls=False,
        ready_timeout=10.0,
    )
    controllers = []
    starttls = Controller(
        RecordingMailbox(args.maildir), hostname=args.host, port=args.port, tls_context=tls, **common
    )
    starttls.start()
    controllers.append(starttls)
    implicit = ""
    if args.tls_port:
        smtps = Controller(
            RecordingMailbox(args.maildir), hostname=args.host, port=args.tls_port, ssl_context=tls, **common
        )
        smtps.start()
        controllers.append(smtps)
        implicit = f"{args.host}:{args.tls_port}"

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"{READY_PREFIX} starttls={args.host}:{args.port} implicit={implicit}", flush=True)
    done.wait()
    for c in controllers:
        c.stop()
    print("LLMWATCH-SMTP-STOPPED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
