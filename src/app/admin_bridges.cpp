// The router product's Bridge pages as an API, for any number of bridges: list (settings
// and live status), create, update, enable/disable, delete, and a preview of what a topic
// rule does to a topic (the bridge's own TopicMap). Bridges are `connection` sections of
// the configuration file; options the API does not manage stay as written. Secrets (PSK
// key, password, client key) are write-only.
#include <fmt/format.h>

#include "app/admin_json.h"
#include "app/admin_pem.h"
#include "app/admin_service.h"
#include "app/runtime.h"
#include "bridge/topic_map.h"
#include "config/document.h"

namespace petrel::app {

namespace json = boost::json;
using config::ConfigDocument;
using config::Target;

namespace {

const char* direction_name(config::BridgeDirection d) {
  return d == config::BridgeDirection::kIn ? "in" : d == config::BridgeDirection::kBoth ? "both" : "out";
}

std::string version_name(uint8_t v) { return v == 3 ? "3.1" : v == 5 ? "5.0" : "3.1.1"; }

std::string tls_mode(const config::Bridge& b) {
  if (!b.psk.empty()) return "psk";
  if (!b.cafile.empty() || !b.capath.empty() || b.tls_use_os_certs) return "certificate";
  return "none";
}

json::object address_json(const config::BridgeAddress& a) { return {{"host", a.host}, {"port", a.port}}; }

json::object bridge_json(const config::Bridge& b, const std::vector<bridge::BridgeStatus>& statuses) {
  json::array topics;
  for (const auto& t : b.topics)
    topics.push_back(json::object{{"topic", t.pattern},
                                  {"direction", direction_name(t.direction)},
                                  {"qos", t.qos},
                                  {"local_prefix", t.local_prefix},
                                  {"remote_prefix", t.remote_prefix}});
  json::value ca = nullptr, cert = nullptr;
  if (!b.cafile.empty())
    if (auto info = certificate_file_info(b.cafile); info) {
      json::array a;
      for (const auto& c : *info) a.push_back(cert_json(c));
      ca = a;
    }
  if (!b.certfile.empty())
    if (auto info = certificate_file_info(b.certfile); info) cert = cert_json(info->front());
  json::object o{{"name", b.name},
                 {"enabled", b.enabled},
                 {"primary", b.addresses.empty() ? json::value(nullptr) : json::value(address_json(b.addresses[0]))},
                 {"secondary", b.addresses.size() < 2 ? json::value(nullptr) : json::value(address_json(b.addresses[1]))},
                 {"client_id", b.remote_clientid},
                 {"protocol_version", version_name(b.protocol_version)},
                 {"keepalive", b.keepalive_interval},
                 {"clean_session", b.cleansession},
                 {"try_private", b.try_private},
                 {"tls_mode", tls_mode(b)},
                 {"psk_identity", b.identity},
                 {"psk_key_set", !b.psk.empty()},
                 {"ca_certificate", ca},
                 {"verify_hostname", !b.insecure},
                 {"client_certificate", cert},
                 {"client_key_set", !b.keyfile.empty()},
                 {"username", b.remote_username.value_or("")},
                 {"password_set", b.remote_password.has_value()},
                 {"topics", topics},
                 {"source", b.source}};
  for (const auto& st : statuses)
    if (st.name == b.name) o["status"] = bridge_status_json(st, b.addresses.size() > 1);
  return o;
}

const config::Bridge* find(const config::Config& c, std::string_view name) {
  for (const auto& b : c.bridges)
    if (b.name == name) return &b;
  return nullptr;
}

// ---- the form ---------------------------------------------------------------------------

struct AddressForm {
  std::string host;
  int64_t port = 1883;
};

struct BridgeForm {
  std::string name;
  bool enabled = true;
  AddressForm primary;
  std::optional<AddressForm> secondary;
  std::optional<std::string> client_id;
  std::string protocol_version = "3.1.1";
  int64_t keepalive = 60;
  bool clean_session = false, try_private = true;
  std::string tls_mode = "none";
  std::string psk_identity;
  std::optional<std::string> psk_key, ca_certificate, client_certificate, client_key, password;
  bool verify_hostname = true;
  std::string username;
  std::vector<config::BridgeTopic> topics;
};

std::optional<AddressForm> read_address(const json::object& body, const char* field, bool required,
                                        std::vector<web::FieldError>& errors) {
  auto it = body.find(field);
  if (it == body.end() || it->value().is_null()) {
    if (required) errors.push_back({std::string(field) + ".host", "required"});
    return std::nullopt;
  }
  if (!it->value().is_object()) {
    errors.push_back({field, "expected an object {\"host\": ..., \"port\": ...}"});
    return std::nullopt;
  }
  web::FieldReader r(it->value().as_object());
  AddressForm a;
  auto host = r.string("host", 255);
  a.port = r.integer_or("port", 1, 65535, 1883);
  r.reject_unknown({"host", "port"});
  for (auto e : r.errors()) errors.push_back({std::string(field) + "." + e.field, e.message});
  if (host) {
    a.host = *host;
    if (a.host.empty() || a.host.find_first_of(" \t\"") != std::string::npos)
      errors.push_back({std::string(field) + ".host", "expected a host name or IP address"});
  }
  return a;
}

// The product's prefix rules, explained on the field.
void check_rule(const config::BridgeTopic& t, size_t i, std::vector<web::FieldError>& errors) {
  const std::string f = fmt::format("topics[{}]", i);
  if (!t.pattern.empty()) {
    for (auto [prefix, name] : {std::pair{&t.local_prefix, "local_prefix"}, std::pair{&t.remote_prefix, "remote_prefix"}}) {
      if (!prefix->empty() && prefix->back() != '/')
        errors.push_back({f + "." + name, fmt::format("must end with '/' when a topic is given ('{}' + '{}' would be "
                                                      "'{}{}'; write '{}/')", *prefix, t.pattern, *prefix, t.pattern, *prefix)});
    }
  } else if (t.local_prefix.empty() || t.remote_prefix.empty()) {
    errors.push_back({f + ".topic", "with an empty topic, local_prefix and remote_prefix are whole topic names mapped "
                                    "onto each other: give both (no wildcards, no trailing '/')"});
    return;
  }
  if (std::string e = config::bridge_topic_error(t); !e.empty()) errors.push_back({f, e});
}

std::vector<config::BridgeTopic> read_topics(const json::object& body, std::vector<web::FieldError>& errors,
                                             bool required) {
  std::vector<config::BridgeTopic> out;
  auto it = body.find("topics");
  if (it == body.end() || !it->value().is_array()) {
    if (required || it != body.end()) errors.push_back({"topics", "expected a list of topic rules"});
    return out;
  }
  size_t i = 0;
  for (const auto& v : it->value().as_array()) {
    const std::string f = fmt::format("topics[{}]", i);
    if (!v.is_object()) {
      errors.push_back({f, "expected an object"});
      ++i;
      continue;
    }
    web::FieldReader r(v.as_object());
    config::BridgeTopic t;
    t.pattern = r.string_or("topic", "", 65535);
    const std::string dir = r.string_or("direction", "out", 8);
    t.qos = static_cast<uint8_t>(r.integer_or("qos", 0, 2, 0));
    t.local_prefix = r.string_or("local_prefix", "", 65535);
    t.remote_prefix = r.string_or("remote_prefix", "", 65535);
    r.reject_unknown({"topic", "direction", "qos", "local_prefix", "remote_prefix"});
    for (auto e : r.errors()) errors.push_back({f + "." + e.field, e.message});
    if (dir == "out") t.direction = config::BridgeDirection::kOut;
    else if (dir == "in") t.direction = config::BridgeDirection::kIn;
    else if (dir == "both") t.direction = config::BridgeDirection::kBoth;
    else errors.push_back({f + ".direction", "expected in, out or both"});
    for (const std::string* s : {&t.pattern, &t.local_prefix, &t.remote_prefix})
      if (s->find_first_of(" \t") != std::string::npos) errors.push_back({f, "topics and prefixes cannot contain blanks"});
    if (r.ok()) check_rule(t, i, errors);
    out.push_back(std::move(t));
    ++i;
  }
  if (out.empty() && required) errors.push_back({"topics", "at least one topic rule is needed"});
  return out;
}

BridgeForm read_form(const json::object& body, const config::Bridge* current, std::vector<web::FieldError>& errors) {
  BridgeForm f;
  web::FieldReader r(body);
  auto given = [&](const char* name) { return body.contains(name) && !body.at(name).is_null(); };
  auto opt = [&](const char* name, size_t max) -> std::optional<std::string> {
    return given(name) ? std::optional(r.string_or(name, "", max)) : std::nullopt;
  };
  // PEM fields: GET shows what was parsed (an object or a list), which sent back means
  // "unchanged"; only a string is new PEM text.
  auto pem = [&](const char* name, size_t max) -> std::optional<std::string> {
    return given(name) && body.at(name).is_string() ? std::optional(r.string_or(name, "", max)) : std::nullopt;
  };
  f.name = r.string_or("name", current ? current->name : "", 256);
  f.enabled = r.boolean_or("enabled", current ? current->enabled : true);
  f.client_id = opt("client_id", 65535);
  f.protocol_version = r.string_or("protocol_version", current ? version_name(current->protocol_version) : "3.1.1", 8);
  f.keepalive = r.integer_or("keepalive", 5, 65535, current ? current->keepalive_interval : 60);
  f.clean_session = r.boolean_or("clean_session", current ? current->cleansession : false);
  f.try_private = r.boolean_or("try_private", current ? current->try_private : true);
  f.tls_mode = r.string_or("tls_mode", current ? tls_mode(*current) : "none", 16);
  f.psk_identity = r.string_or("psk_identity", current ? current->identity : "", 128);
  f.psk_key = opt("psk_key", 512);
  f.ca_certificate = pem("ca_certificate", 256 * 1024);
  f.verify_hostname = r.boolean_or("verify_hostname", current ? !current->insecure : true);
  f.client_certificate = pem("client_certificate", 256 * 1024);
  f.client_key = opt("client_key", 64 * 1024);
  f.username = r.string_or("username", current ? current->remote_username.value_or("") : "", 65535);
  f.password = opt("password", 65535);
  // The read-only fields of GET are accepted (and ignored), so a client can send back what
  // it read with its changes.
  r.reject_unknown({"name", "enabled", "primary", "secondary", "client_id", "protocol_version", "keepalive",
                    "clean_session", "try_private", "tls_mode", "psk_identity", "psk_key", "ca_certificate",
                    "verify_hostname", "client_certificate", "client_key", "username", "password", "topics",
                    "psk_key_set", "client_key_set", "password_set", "status", "source"});
  for (auto e : r.errors()) errors.push_back(e);
  if (f.name.empty() || f.name.find_first_of(" \t\"#") != std::string::npos)
    errors.push_back({"name", "required: one word (it names the connection and, by default, the client id)"});
  if (auto p = read_address(body, "primary", !current, errors)) f.primary = *p;
  else if (current && !current->addresses.empty()) f.primary = {current->addresses[0].host, current->addresses[0].port};
  if (body.contains("secondary")) f.secondary = read_address(body, "secondary", false, errors);
  else if (current && current->addresses.size() > 1) f.secondary = AddressForm{current->addresses[1].host, current->addresses[1].port};
  f.topics = body.contains("topics") || !current ? read_topics(body, errors, true) : current->topics;
  if (f.protocol_version != "3.1.1" && f.protocol_version != "5.0" && f.protocol_version != "3.1")
    errors.push_back({"protocol_version", "expected 3.1.1 or 5.0 (or 3.1)"});
  if (f.tls_mode != "none" && f.tls_mode != "psk" && f.tls_mode != "certificate")
    errors.push_back({"tls_mode", "expected none, psk or certificate"});
  if (f.tls_mode == "psk") {
    if (f.psk_identity.empty()) errors.push_back({"psk_identity", "required for TLS mode PSK"});
    const bool have_key = f.psk_key || (current && !current->psk.empty());
    if (!have_key) errors.push_back({"psk_key", "required for TLS mode PSK"});
    if (f.psk_key && (f.psk_key->empty() || f.psk_key->size() % 2 ||
                      f.psk_key->find_first_not_of("0123456789abcdefABCDEF") != std::string::npos))
      errors.push_back({"psk_key", "expected hex digits (an even number), e.g. from openssl rand -hex 32"});
  }
  if (f.tls_mode == "certificate") {
    if (!f.ca_certificate && !(current && !current->cafile.empty()))
      errors.push_back({"ca_certificate", "required for TLS mode certificate (the CA that signed the remote's certificate)"});
    if (f.ca_certificate)
      if (auto c = parse_certificates(*f.ca_certificate); !c) errors.push_back({"ca_certificate", c.error().message});
    if (f.client_certificate.has_value() != f.client_key.has_value() && !(current && !current->certfile.empty()))
      errors.push_back({"client_key", "give the client certificate and its key together"});
    if (f.client_certificate && f.client_key) {
      if (auto c = parse_certificates(*f.client_certificate); !c) errors.push_back({"client_certificate", c.error().message});
      else if (auto k = check_key_pair(*f.client_key, *f.client_certificate); !k) errors.push_back({"client_key", k.error().message});
    }
  }
  if (f.password && !f.password->empty() && f.username.empty())
    errors.push_back({"username", "required with a password"});
  return f;
}

std::string address_text(const AddressForm& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return fmt::format("{}:{}", v6 ? "[" + a.host + "]" : a.host, a.port);
}

std::string topic_line(const config::BridgeTopic& t) {
  auto q = [](const std::string& s) { return s.empty() ? std::string("\"\"") : s; };
  std::string line = fmt::format("{} {} {}", q(t.pattern), direction_name(t.direction), t.qos);
  if (!t.local_prefix.empty() || !t.remote_prefix.empty()) line += fmt::format(" {} {}", q(t.local_prefix), q(t.remote_prefix));
  return line;
}

EditOutcome write_bridge(ConfigDocument& doc, ManagedFiles& files, const config::Config& running, const BridgeForm& f,
                         const config::Bridge* current) {
  EditOutcome out;
  auto err = [&](std::string field, std::string msg) { out.errors.push_back({std::move(field), std::move(msg)}); };
  const std::string old_name = current ? current->name : f.name;
  if (!current) {
    if (find(running, f.name)) return err("name", "a bridge named '" + f.name + "' exists already"), out;
    if (auto r = doc.add_bridge(f.name, "name"); !r) return err("name", r.error().message), out;
    out.what = "bridge '" + f.name + "' (created)";
  } else {
    if (f.name != old_name) {
      if (find(running, f.name)) return err("name", "a bridge named '" + f.name + "' exists already"), out;
      if (auto r = doc.rename_bridge(old_name, f.name, "name"); !r) return err("name", r.error().message), out;
    }
    out.what = "bridge '" + f.name + "'";
  }
  const Target t = Target::bridge(f.name);
  auto set = [&](const char* option, std::vector<std::string> v, const char* field) {
    if (auto r = doc.set(t, option, v, field); !r) err(field, r.error().message);
  };
  auto one = [](std::string v) { return std::vector<std::string>{std::move(v)}; };
  const std::vector<std::string> none;
  std::string addresses = address_text(f.primary);
  if (f.secondary) addresses += " " + address_text(*f.secondary);
  set("address", one(addresses), "primary");
  if (f.client_id) set("remote_clientid", f.client_id->empty() ? none : one(*f.client_id), "client_id");
  else if (!current) set("remote_clientid", one(f.name), "name");
  set("bridge_protocol_version", one(f.protocol_version == "5.0" ? "mqttv50" : f.protocol_version == "3.1" ? "mqttv31" : "mqttv311"),
      "protocol_version");
  set("keepalive_interval", one(std::to_string(f.keepalive)), "keepalive");
  set("cleansession", one(f.clean_session ? "true" : "false"), "clean_session");
  set("try_private", one(f.try_private ? "true" : "false"), "try_private");
  set("bridge_enabled", f.enabled ? none : one("false"), "enabled");
  if (f.tls_mode != "psk") {
    set("bridge_identity", none, "tls_mode");
    set("bridge_psk", none, "tls_mode");
  }
  if (f.tls_mode != "certificate") {
    for (const char* o : {"bridge_cafile", "bridge_capath", "bridge_certfile", "bridge_keyfile", "bridge_insecure"})
      set(o, none, "tls_mode");
  }
  if (f.tls_mode == "psk") {
    set("bridge_identity", one(f.psk_identity), "psk_identity");
    if (f.psk_key) set("bridge_psk", one(*f.psk_key), "psk_key");
  }
  if (f.tls_mode == "certificate") {
    if (f.ca_certificate) {
      if (auto p = files.write("bridge-" + f.name + "-ca", ".pem", *f.ca_certificate); !p) err("ca_certificate", p.error().message);
      else set("bridge_cafile", one(*p), "ca_certificate");
    }
    set("bridge_insecure", f.verify_hostname ? none : one("true"), "verify_hostname");
    if (f.client_certificate && f.client_key) {
      auto c = files.write("bridge-" + f.name + "-cert", ".pem", *f.client_certificate);
      auto k = files.write("bridge-" + f.name + "-key", ".pem", *f.client_key);
      if (!c) err("client_certificate", c.error().message);
      else if (!k) err("client_key", k.error().message);
      else {
        set("bridge_certfile", one(*c), "client_certificate");
        set("bridge_keyfile", one(*k), "client_key");
      }
    } else if (f.client_certificate && f.client_certificate->empty()) {
      set("bridge_certfile", none, "client_certificate");
      set("bridge_keyfile", none, "client_key");
    }
  }
  set("remote_username", f.username.empty() ? none : one(f.username), "username");
  if (f.username.empty()) set("remote_password", none, "password");
  else if (f.password) set("remote_password", f.password->empty() ? none : one(*f.password), "password");
  std::vector<std::string> lines;
  for (const auto& r : f.topics) lines.push_back(topic_line(r));
  set("topic", lines, "topics");
  return out;
}

void save_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply, bool create) {
  auto body = web::parse_json_object(req.body);
  if (!body) return send_error(reply, 400, body.error().message);
  const config::Config running = a.runtime().running();
  const config::Bridge* current = nullptr;
  std::string name(req.param("name"));
  if (!create) {
    current = find(running, name);
    if (!current) return send_error(reply, 404, "no bridge named '" + name + "'");
  }
  std::vector<web::FieldError> errors;
  BridgeForm form = read_form(*body, current, errors);
  if (!errors.empty()) return reply->send(web::field_error_response(400, std::move(errors)));
  std::optional<config::Bridge> cur;
  if (current) cur = *current;
  a.edit_config(req, reply, [form, cur](ConfigDocument& doc, ManagedFiles& files, const config::Config& running) {
    return write_bridge(doc, files, running, form, cur ? &*cur : nullptr);
  });
}

void enable_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply, bool enable) {
  const std::string name(req.param("name"));
  if (!find(a.runtime().running(), name)) return send_error(reply, 404, "no bridge named '" + name + "'");
  a.edit_config(req, reply, [name, enable](ConfigDocument& doc, ManagedFiles&, const config::Config&) {
    EditOutcome out;
    out.what = fmt::format("bridge '{}' ({})", name, enable ? "enabled" : "disabled");
    if (auto r = doc.set(Target::bridge(name), "bridge_enabled", enable ? std::vector<std::string>{} : std::vector<std::string>{"false"},
                         "enabled");
        !r)
      out.errors.push_back({"enabled", r.error().message});
    return out;
  });
}

void delete_route(AdminService& a, web::Request& req, std::shared_ptr<web::Reply> reply) {
  const std::string name(req.param("name"));
  if (!find(a.runtime().running(), name)) return send_error(reply, 404, "no bridge named '" + name + "'");
  a.edit_config(req, reply, [name](ConfigDocument& doc, ManagedFiles&, const config::Config&) {
    EditOutcome out;
    out.what = fmt::format("bridge '{}' (deleted)", name);
    if (auto r = doc.remove_bridge(name); !r) out.errors.push_back({"name", r.error().message});
    return out;
  });
}

// What a rule does to a topic: {"topics": [...rules] or "rule": {...}, "topic": T,
// "direction": "out" (local -> remote) | "in" (remote -> local)}.
void preview_route(web::Request& req, std::shared_ptr<web::Reply> reply) {
  auto body = web::parse_json_object(req.body);
  if (!body) return send_error(reply, 400, body.error().message);
  std::vector<web::FieldError> errors;
  json::object rules_body;
  if (auto it = body->find("rule"); it != body->end()) rules_body["topics"] = json::array{it->value()};
  else if (auto it2 = body->find("topics"); it2 != body->end()) rules_body["topics"] = it2->value();
  std::vector<config::BridgeTopic> rules = read_topics(rules_body, errors, true);
  web::FieldReader r(*body);
  const std::string topic = r.string_or("topic", "", 65535);
  const std::string dir = r.string_or("direction", "out", 8);
  r.reject_unknown({"rule", "topics", "topic", "direction"});
  for (auto e : r.errors()) errors.push_back(e);
  if (dir != "out" && dir != "in") errors.push_back({"direction", "expected out (local to remote) or in (remote to local)"});
  if (topic.empty()) errors.push_back({"topic", "required: a topic to map"});
  for (auto& e : errors)
    if (body->contains("rule") && e.field.starts_with("topics[0]")) e.field = "rule" + e.field.substr(9);
  if (!errors.empty()) return reply->send(web::field_error_response(400, std::move(errors)));
  const bridge::TopicMap map(rules);
  auto m = dir == "out" ? map.to_remote(topic, 2) : map.to_local(topic, 2);
  json::object o{{"topic", topic}, {"direction", dir}, {"matches", m.has_value()}};
  if (m) {
    o["mapped"] = m->topic;
    o["qos"] = m->qos;
    o["example"] = dir == "out" ? fmt::format("{} \u2192 {} (on the remote, QoS {})", topic, m->topic, m->qos)
                                : fmt::format("{} \u2192 {} (on this broker, QoS {})", topic, m->topic, m->qos);
  } else {
    o["reason"] = dir == "out" ? "no out/both rule matches this local topic (the local prefix and pattern must match it)"
                               : "no in/both rule matches this remote topic (the remote prefix and pattern must match it)";
  }
  send_json(reply, o);
}

}  // namespace

void add_bridge_routes(web::Router& r, AdminService& a) {
  r.add("GET", "/api/petrel/v1/bridges", [&a](web::Request&, std::shared_ptr<web::Reply> reply) {
    const config::Config cfg = a.runtime().running();
    const auto statuses = a.runtime().bridges().status();
    json::array out;
    for (const auto& b : cfg.bridges) out.push_back(bridge_json(b, statuses));
    send_json(reply, json::object{{"bridges", out}});
  });
  r.add("GET", "/api/petrel/v1/bridges/{name}", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    const config::Config cfg = a.runtime().running();
    const config::Bridge* b = find(cfg, req.param("name"));
    if (!b) return send_error(reply, 404, "no bridge named '" + std::string(req.param("name")) + "'");
    send_json(reply, bridge_json(*b, a.runtime().bridges().status()));
  });
  r.add("POST", "/api/petrel/v1/bridges", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    save_route(a, req, std::move(reply), true);
  });
  r.add("PUT", "/api/petrel/v1/bridges/{name}", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    save_route(a, req, std::move(reply), false);
  });
  r.add("DELETE", "/api/petrel/v1/bridges/{name}", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    delete_route(a, req, std::move(reply));
  });
  r.add("POST", "/api/petrel/v1/bridges/{name}/enable", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    enable_route(a, req, std::move(reply), true);
  });
  r.add("POST", "/api/petrel/v1/bridges/{name}/disable", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    enable_route(a, req, std::move(reply), false);
  });
  r.add("POST", "/api/petrel/v1/bridge-preview", [](web::Request& req, std::shared_ptr<web::Reply> reply) {
    preview_route(req, std::move(reply));
  }, web::RouteOptions{.public_route = false, .state_changing = false});
}

}  // namespace petrel::app
