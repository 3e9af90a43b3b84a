// $CONTROL/broker/v1 (enable_control_api, Mosquitto 2.1): a client allowed to publish on
// that topic sends {"commands":[{"command":"listListeners","correlationData":"..."}]} and
// every client allowed to read $CONTROL/broker/v1/response gets the answers there, one
// per command, in Mosquitto's shape. The request is consumed, never routed. Off the
// publish hot path: only a PUBLISH on exactly that topic comes here.
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>

#include "broker/worker_core.h"
#include "common/log.h"

namespace petrel::broker {

namespace {

namespace json = boost::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

json::object reply(std::string_view command, const json::string* correlation) {
  json::object o;
  o["command"] = command;
  if (correlation) o["correlationData"] = *correlation;
  return o;
}

json::object failure(std::string_view command, std::string_view error, const json::string* correlation = nullptr) {
  json::object o = reply(command, correlation);
  o["error"] = error;
  return o;
}

json::object listener_entry(const config::Listener& l, const char* protocol) {
  json::object o;
  o["port"] = l.port;
  if (protocol) o["protocol"] = protocol;
  if (!l.bind_address.empty()) o["bind-address"] = l.bind_address;
  o["tls"] = !l.certfile.empty() || !l.psk_hint.empty();
  return o;
}

}  // namespace

void WorkerCore::handle_control(Session* s, std::string_view payload) {
  json::array responses;
  boost::system::error_code ec;
  const json::value doc = json::parse(payload, ec);
  const json::value* commands = nullptr;
  if (ec) {
    responses.push_back(failure("Unknown command", "Payload not valid JSON"));
  } else if (!doc.is_object() || !(commands = doc.as_object().if_contains("commands")) || !commands->is_array()) {
    responses.push_back(failure("Unknown command", "Invalid/missing commands"));
  } else {
    for (const json::value& c : commands->as_array()) {
      if (!c.is_object()) {
        responses.push_back(failure("Unknown command", "Command not an object"));
        continue;
      }
      const json::value* name = c.as_object().if_contains("command");
      if (!name || !name->is_string()) {
        responses.push_back(failure("Unknown command", "Missing command"));
        continue;
      }
      const std::string_view command(name->as_string());
      const json::value* corr = c.as_object().if_contains("correlationData");
      if (corr && !corr->is_string()) {
        responses.push_back(failure(command, "Invalid correlationData data type."));
        continue;
      }
      const json::string* correlation = corr ? &corr->as_string() : nullptr;
      if (iequals(command, "listListeners")) {
        json::array listeners;
        for (const auto& l : cfg_->listeners) {
          listeners.push_back(
              listener_entry(l, l.protocol == config::ListenerProtocol::kWebsockets ? "mqtt+websockets" : "mqtt"));
        }
        // The admin's HTTP listeners (`protocol http_api`) are listeners too; like
        // Mosquitto, no MQTT protocol is named for them.
        for (const auto& l : cfg_->http_listeners) listeners.push_back(listener_entry(l, nullptr));
        json::object r = reply("listListeners", correlation);
        r["data"] = json::object{{"listeners", std::move(listeners)}};
        responses.push_back(std::move(r));
      } else if (iequals(command, "listPlugins")) {
        // Petrel loads no plugins: the Mosquitto plugins it honours (password file, ACL
        // file, persistence) are built in, and it has no plugin of its own to name.
        json::object r = reply("listPlugins", correlation);
        r["data"] = json::object{{"plugins", json::array()}};
        responses.push_back(std::move(r));
      } else {
        responses.push_back(failure(command, "Unknown command", correlation));
        continue;
      }
      PETREL_LOG(broker_.log(), kLogInfo, "Broker: {}/{} | {}", s->client_id, s->username, command);
    }
  }
  const std::string text = json::serialize(json::object{{"responses", std::move(responses)}});
  publish_internal("$CONTROL/broker/v1/response", text, false);
}

}  // namespace petrel::broker
