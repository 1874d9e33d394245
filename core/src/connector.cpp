#include "dx/connector.h"

namespace dx {

Connector::~Connector() = default;
ConnectorContext::~ConnectorContext() = default;

}  // namespace dx
