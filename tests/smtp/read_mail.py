"""Decodes a mail file with Python's email package (an implementation independent of Poco's)
and prints what a mail program would show, as one JSON object:

    {"subject": str, "message_id": str, "from": str, "to": [str], "content_type": str,
     "raw_subject": str, "subject_words_whole": bool,
     "parts": [{"content_type": str, "charset": str|null, "language": str|null,
                "disposition": str|null, "filename": str|null, "text": str|null,
                "base64": str}]}

"subject_words_whole" is false if an RFC 2047 encoded-word of the Subject does not decode to
whole UTF-8 characters on its own (RFC 2047 section 5). Text parts' line breaks are given as
"\\n". Usage: /usr/bin/python3 tests/smtp/read_mail.py FILE.eml
"""
import base64
import email
import email.header
import email.policy
import json
import sys


def words_whole(raw):
    for word in raw.split():
        if not word.startswith("=?"):
            continue
        (piece, charset), = email.header.decode_header(word)
        try:
            piece.decode(charset)
        except UnicodeDecodeError:
            return False
    return True


def main(path):
    with open(path, "rb") as f:
        raw_bytes = f.read()
    compat = email.message_from_bytes(raw_bytes)  # raw headers, undecoded
    msg = email.message_from_bytes(raw_bytes, policy=email.policy.default)
    raw_subject = compat.get("Subject", "")
    parts = []
    for part in msg.iter_parts() if msg.is_multipart() else [msg]:
        payload = part.get_payload(decode=True) or b""
        text = None
        if part.get_content_maintype() == "text":
            text = part.get_content().replace("\r\n", "\n")
        parts.append({
            "content_type": part.get_content_type(),
            "charset": part.get_content_charset(),
            "language": part.get("Content-Language"),
            "disposition": part.get_content_disposition(),
            "filename": part.get_filename(),
            "text": text,
            "base64": base64.b64encode(payload).decode("ascii"),
        })
    out = {
        "subject": str(msg.get("Subject", "")),
        "raw_subject": raw_subject,
        "subject_words_whole": words_whole(raw_subject),
        "message_id": str(msg.get("Message-ID", "")),
        "from": str(msg.get("From", "")),
        "to": [a.addr_spec for a in msg["To"].addresses] if msg.get("To") else [],
        "content_type": msg.get_content_type(),
        "parts": parts,
    }
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
