#pragma once
// Shared by the unit tests: a development PKI made once by certs/make-dev-pki.sh, a config that
// points at it, and signing helpers.
#include <string>

#include "config.h"

namespace dx::test {

// The dev PKI for tests (build/test-pki), made on first use; safe when test processes run at once.
const std::string& pkiDir();

// Writes a config for the test PKI into a fresh temp folder and returns its path. cc.samastipur
// also has the PKI's revoked, expired and foreign-CA test certificates registered, so messages
// signed with them reach the certificate checks.
std::string writeConfig();

// A body from ../shared/examples/<type>.json.
std::string example(const std::string& type);

// An envelope around `body` (JSON text) with a fresh id and the current time.
std::string envelope(const std::string& type, const std::string& from, const std::string& to,
                     const std::string& body, const std::string& ref = {},
                     const std::string& caseId = {});

}  // namespace dx::test
