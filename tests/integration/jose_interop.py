"""Interoperability with a standard JOSE library (Debian's python3-jwcrypto).

1. A JWS made by `dxhub sign` verifies with jwcrypto, with the key taken from the sender's
   certificate, for Ed25519 (EdDSA) and P-256 (ES256).
2. A JWS made by jwcrypto (flattened JSON, protected header alg/kid/x5t#S256) verifies with
   `dxhub verify`, for both algorithms.
Usage: jose_interop.py BUILD_DIR PKI_DIR CONFIG
"""
import base64
import hashlib
import json
import subprocess
import sys
import uuid
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws

build, pki, config = sys.argv[1:4]
failures = 0


def check(what, ok):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    failures += 0 if ok else 1


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def cert(name):
    with open(f"{pki}/{name}.crt", "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def public_jwk(name):
    pem = cert(name).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return jwk.JWK.from_pem(pem)


def private_jwk(name):
    with open(f"{pki}/{name}.key", "rb") as f:
        return jwk.JWK.from_pem(f.read())


def thumbprint(name):
    der = cert(name).public_bytes(serialization.Encoding.DER)
    return b64u(hashlib.sha256(der).digest())


body = "sim/samples/freeze.response.json"
for who, alg in (("cc.samastipur", "EdDSA"), ("bank.hdfc", "ES256")):
    # dxhub sign -> jwcrypto verify
    out = subprocess.run(
        [f"{build}/dxhub", "sign", "--key", f"{pki}/{who}.key", "--cert", f"{pki}/{who}.crt",
         "--type", "freeze.response", "--to", "cc.samastipur", "--ref", str(uuid.uuid4()),
         "--case", "C-1", body], capture_output=True, text=True, check=True).stdout
    token = jws.JWS()
    token.deserialize(out.strip())
    try:
        token.verify(public_jwk(who))
        payload = json.loads(token.payload)
        check(f"dxhub sign ({alg}, {who}) verifies with jwcrypto", payload["from"] == who)
    except Exception as e:  # noqa: BLE001 - report any verification failure
        check(f"dxhub sign ({alg}, {who}) verifies with jwcrypto: {e}", False)

    # jwcrypto sign -> dxhub verify (as a bank's answer, so from = the bank)
    sender = "bank.hdfc" if alg == "ES256" else "bank.sbi"
    envelope = {
        "id": str(uuid.uuid4()), "type": "freeze.response", "from": sender,
        "to": "cc.samastipur", "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "ref": str(uuid.uuid4()), "case": "C-1", "body": json.load(open(body)),
    }
    signed = jws.JWS(json.dumps(envelope).encode())
    signed.add_signature(private_jwk(sender), None,
                         json.dumps({"alg": alg, "kid": sender, "x5t#S256": thumbprint(sender)}))
    flattened = signed.serialize(compact=False)
    result = subprocess.run([f"{build}/dxhub", "verify", "--config", config, "-"],
                            input=flattened, capture_output=True, text=True)
    check(f"jwcrypto {alg} ({sender}) verifies with dxhub verify",
          result.returncode == 0 and json.loads(result.stdout)["from"] == sender)
    if result.returncode != 0:
        print(result.stderr)

    # and a tampered one does not
    tampered = json.loads(flattened)
    tampered["payload"] = b64u(json.dumps({**envelope, "to": "sp.samastipur"}).encode())
    result = subprocess.run([f"{build}/dxhub", "verify", "--config", config, "-"],
                            input=json.dumps(tampered), capture_output=True, text=True)
    check(f"tampered jwcrypto {alg} JWS refused by dxhub verify with one line",
          result.returncode == 1 and "bad_signature" in result.stderr
          and result.stderr.count("\n") == 1)

print(f"{6 - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
