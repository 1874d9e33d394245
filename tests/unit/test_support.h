#pragma once
// Shared by the unit tests: a development PKI made once by certs/make-dev-pki.sh, a config that
// points at it, and signing helpers.
#include <string>

#include "config.h"
#include "jws.h"
#include "registry.h"

namespace dx::test {

// The dev PKI for tests (build/test-pki), made on first use; safe when test processes run at once.
const std::string& pkiDir();

// The participants of the test configs (JSON array): the default config's offices, with
// cc.samastipur also holding the PKI's revoked, expired and foreign-CA test certificates.
std::string participantsJson(const std::string& pki);

// Writes a config for the test PKI into a fresh temp folder and returns its path. cc.samastipur
// also has the PKI's revoked, expired and foreign-CA test certificates registered, so messages
// signed with them reach the certificate checks.
std::string writeConfig();

// A participant of a config built in a test (the other fields keep their defaults).
ParticipantConfig participantConfig(const std::string& id, const std::string& role,
                                    const std::string& name = {}, const std::string& nameHi = {});

// A registry for the test PKI and config (made once).
const Registry& registry();

// A signer for a participant of the test PKI (or a file stem under it, like "test/revoked").
Signer signer(const std::string& name);

// Signs `payload` as `who` and verifies it (a message as the pipeline hands it on).
VerifiedMessage verified(const std::string& who, const std::string& payload);

// A body from ../shared/examples/<type>.json.
std::string example(const std::string& type);

// The example as a live message carries it: its respond_by (if any) a week (a notice) or an hour
// (a request) from now, so the hub does not escalate it as overdue at once.
std::string liveExample(const std::string& type);

// An envelope around `body` (JSON text) with a fresh id and the current time.
std::string envelope(const std::string& type, const std::string& from, const std::string& to,
                     const std::string& body, const std::string& ref = {},
                     const std::string& caseId = {});

}  // namespace dx::test
