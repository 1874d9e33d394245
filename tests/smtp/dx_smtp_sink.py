"""An aiosmtpd handler for dxhub's tests: a real SMTP server that keeps what it receives.

Run with Debian's interpreter (other pythons on PATH do not see Debian's aiosmtpd):

    PYTHONPATH=tests/smtp DX_SMTP_MAILDIR=DIR \
        /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c dx_smtp_sink.Sink

Environment:
  DX_SMTP_MAILDIR   folder the messages go to (required). Each accepted message becomes
                    NNNN.json (envelope: mail_from, rcpt_tos, auth, tls) and then NNNN.eml (the
                    bytes as received); the .eml appears last and whole (written, then renamed).
  DX_SMTP_REFUSE    an SMTP reply, e.g. "550 5.7.1 Refused by policy", given instead of
                    accepting at the end of DATA (nothing is stored).
  DX_SMTP_USER, DX_SMTP_PASSWORD
                    credentials AUTH LOGIN accepts; without them every AUTH fails.

With --tlscert/--tlskey aiosmtpd offers STARTTLS (and requires it before MAIL and AUTH).
"""
import base64
import itertools
import json
import os

from aiosmtpd.smtp import MISSING, AuthResult


class Sink:
    def __init__(self):
        self.folder = os.environ["DX_SMTP_MAILDIR"]
        os.makedirs(self.folder, exist_ok=True)
        self.refuse = os.environ.get("DX_SMTP_REFUSE", "")
        self.user = os.environ.get("DX_SMTP_USER", "").encode()
        self.password = os.environ.get("DX_SMTP_PASSWORD", "").encode()
        self.counter = itertools.count(1)

    async def auth_LOGIN(self, server, args):
        # LOGIN: user name and password, each base64 on its own line (the user name may come
        # with the command). handled=False lets aiosmtpd answer 235 or 535.
        if len(args) == 2:
            try:
                login = base64.b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False)
        else:
            login = await server.challenge_auth("Username:")
            if login is MISSING:
                return AuthResult(success=False, handled=False)
        password = await server.challenge_auth("Password:")
        if password is MISSING:
            return AuthResult(success=False, handled=False)
        ok = bool(self.user) and login == self.user and password == self.password
        return AuthResult(success=ok, handled=False,
                          auth_data=login.decode(errors="replace") if ok else None)

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        stem = os.path.join(self.folder, "%04d" % next(self.counter))
        facts = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": session.auth_data if session.authenticated else None,
            "tls": session.ssl is not None,
        }
        with open(stem + ".json", "w", encoding="utf-8") as out:
            json.dump(facts, out)
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", errors="surrogateescape")
        with open(stem + ".tmp", "wb") as out:
            out.write(content)
        os.rename(stem + ".tmp", stem + ".eml")
        return "250 Message accepted for delivery"
