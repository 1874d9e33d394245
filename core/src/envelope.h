#pragma once
// Writing a message's envelope (DESIGN §4) around a body that is already JSON text.
#include <string>

namespace dx {

// {"id":…,"type":…,"from":…,"to":…,"created":…,["ref":…,]["case":…,]"body":…} with a fresh id
// and the system clock's time; `body` is inserted as it is.
std::string newEnvelope(const std::string& type, const std::string& from, const std::string& to,
                        const std::string& body, const std::string& ref = {},
                        const std::string& caseId = {});

}  // namespace dx
