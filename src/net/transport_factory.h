#pragma once
// Which transport a listener's connections use, from its configuration.
#include <memory>
#include <string>

#include "common/log.h"
#include "config/config.h"
#include "net/transport.h"

namespace petrel::net {

// nullptr for plain MQTT over TCP. On a configuration problem (unreadable or
// password-protected key, certificate/key mismatch, bad cipher list, ...) returns nullptr
// and sets `error` to a message naming the file and the reason.
std::shared_ptr<TransportFactory> make_transport_factory(const config::Listener& l, Logger& log,
                                                         std::string& error);

}  // namespace petrel::net
