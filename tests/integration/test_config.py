"""Writes the default config for a test: the test PKI, a fresh database, no connectors.

Usage: /usr/bin/python3 tests/integration/test_config.py PKI_DIR OUT_DIR  (writes OUT_DIR/dxhub.json)
"""
import json
import sys

pki, out = sys.argv[1:3]
config = json.load(open("config/dxhub.json"))
config["pki"] = {"dir": pki, "ca": pki + "/ca.crt", "crl": pki + "/ca.crl"}
config["store"] = {"url": "sqlite:" + out + "/dxhub.db"}
config["plugins"] = []  # the connectors are not what these tests test
json.dump(config, open(out + "/dxhub.json", "w"))
