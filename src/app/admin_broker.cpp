// The router product's Broker page as an API: enable, port, log level, TLS (none / PSK /
// certificate with an optional client CA), and who may connect (anonymous / one username
// and password / certificate CN). Read from the running configuration; changed by editing
// the configuration files (the broker's main listener: the first MQTT listener, or
// Mosquitto's default listener) and applying them (AdminService::edit_config). Secrets
// (password, PSK key, private key) are write-only: the API says whether one is set.
#include <fmt/format.h>
#include <openssl/rand.h>

#include <fstream>
#include <sstream>

#include "app/admin_json.h"
#include "app/admin_pem.h"
#include "app/admin_service.h"
#include "app/runtime.h"
#include "auth/passwd_edit.h"
#include "auth/password_hash.h"
#include "config/document.h"
#include "config/product_log_level.h"

namespace petrel::app {

namespace json = boost::json;
using config::ConfigDocument;
using config::Target;

namespace {

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The names before ':' of a password or PSK file's lines (comments and blanks skipped).
std::vector<std::string> names_in(const std::string& path) {
  std::vector<std::string> out;
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line)) {
    const size_t a = line.find_first_not_of(" \t");
    if (a == std::string::npos || line[a] == '#') continue;
    const size_t colon = line.find(':', a);
    if (colon == std::string::npos) continue;
    std::string name = line.substr(a, colon - a);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    out.push_back(name);
  }
  return out;
}

// The configuration whose broker settings the page shows: the running one, or, while the
// broker is switched off (bridges_only), the file's with the switch turned on in memory so
// the kept listener settings can be read.
config::Config settings_config(Runtime& rt) {
  config::Config running = rt.running();
  if (!running.bridges_only || rt.config_path().empty()) return running;
  auto doc = ConfigDocument::load(rt.config_path());
  if (!doc || !doc->set(Target::global(), "bridges_only", {}, "")) return running;
  auto parsed = doc->parse();
  return parsed.ok() ? parsed.config : running;
}

const config::Listener* main_listener(const config::Config& c) {
  for (const auto& l : c.listeners)
    if (l.protocol == config::ListenerProtocol::kMqtt) return &l;
  return c.listeners.empty() ? nullptr : &c.listeners.front();
}

std::string log_level_of(const config::Config& c) {
  using config::ProductLogLevel;
  for (auto lvl : {ProductLogLevel::kNone, ProductLogLevel::kError, ProductLogLevel::kWarning,
                   ProductLogLevel::kInformation, ProductLogLevel::kDebug}) {
    if (config::log_types_for(lvl) == c.log.levels) return std::string(config::product_log_level_name(lvl));
  }
  return c.log.dests == kDestNone ? "none" : "custom";
}

bool managed(const std::string& path, const std::string& state_dir) {
  return !path.empty() && path.starts_with(state_dir + "/");
}

json::object broker_json(Runtime& rt, const std::string& state_dir) {
  const config::Config cfg = settings_config(rt);
  const config::Config running = rt.running();
  json::object o;
  o["enabled"] = !running.bridges_only;
  const config::Listener* l = main_listener(cfg);
  o["local_only"] = cfg.local_only;
  o["port"] = l ? json::value(l->port) : json::value(nullptr);
  o["address"] = cfg.local_only ? std::string("local") : l ? l->bind_address : std::string();
  o["log_level"] = log_level_of(running);
  const std::string mode = l ? tls_mode_of(*l) : "none";
  o["tls_mode"] = mode;
  const config::SecuritySettings& sec = l ? config::effective_security(cfg, *l) : cfg.security;
  // PSK
  const auto identities = sec.psk_file.empty() ? std::vector<std::string>{} : names_in(sec.psk_file);
  o["psk_identity"] = identities.empty() ? std::string() : identities.front();
  o["psk_key_set"] = !identities.empty();
  // Certificate, key, client CA
  json::value cert = nullptr, ca = nullptr;
  std::string cert_error;
  if (l && !l->certfile.empty()) {
    if (auto info = certificate_file_info(l->certfile); info) cert = cert_json(info->front());
    else cert_error = info.error().message;
  }
  if (l && !l->cafile.empty()) {
    if (auto info = certificate_file_info(l->cafile); info) {
      json::array a;
      for (const auto& c : *info) a.push_back(cert_json(c));
      ca = a;
    }
  }
  o["certificate"] = cert;
  if (!cert_error.empty()) o["certificate_error"] = cert_error;
  o["private_key_set"] = l && !l->keyfile.empty();
  o["client_ca"] = ca;
  o["require_certificate"] = l && l->require_certificate;
  // Who may connect
  std::string restrict = "anonymous";
  if (l && (l->use_identity_as_username || l->use_subject_as_username)) restrict = "certificate_cn";
  else if (!(l ? config::anonymous_allowed(cfg, *l) : sec.allow_anonymous)) restrict = "password";
  o["restrict"] = restrict;
  const auto users = sec.password_file.empty() ? std::vector<std::string>{} : names_in(sec.password_file);
  o["username"] = users.size() == 1 ? json::value(users.front()) : json::value(nullptr);
  o["password_set"] = restrict == "password" && users.size() == 1;
  o["password_file"] = sec.password_file;
  o["password_file_managed"] = managed(sec.password_file, state_dir);
  o["users"] = users.size();
  o["acl_file"] = sec.acl_file;
  return o;
}

// What a PUT asks, with what is not given taken from the current settings.
struct BrokerForm {
  std::optional<bool> enabled;
  std::optional<int64_t> port;
  std::optional<std::string> address, log_level, tls_mode, psk_identity, psk_key, certificate, private_key,
      client_ca, restrict, username, password;
};

// Fields not in the body keep their current value; a field given as null counts as absent.
BrokerForm read_form(const json::object& o, web::FieldReader& r) {
  BrokerForm f;
  auto given = [&](const char* name) { return o.contains(name) && !o.at(name).is_null(); };
  auto str = [&](const char* name, size_t max) -> std::optional<std::string> {
    if (!given(name)) return std::nullopt;
    return r.string_or(name, "", max);
  };
  if (given("enabled")) f.enabled = r.boolean_or("enabled", true);
  if (given("port")) f.port = r.integer_or("port", 1, 65535, 1883);
  f.address = str("address", 255);
  f.log_level = str("log_level", 32);
  f.tls_mode = str("tls_mode", 32);
  f.psk_identity = str("psk_identity", 128);
  f.psk_key = str("psk_key", 512);
  f.certificate = str("certificate", 256 * 1024);
  f.private_key = str("private_key", 64 * 1024);
  f.client_ca = str("client_ca", 256 * 1024);
  f.restrict = str("restrict", 32);
  f.username = str("username", 1024);
  f.password = str("password", 1024);
  r.reject_unknown({"enabled", "port", "address", "log_level", "tls_mode", "psk_identity", "psk_key", "certificate",
                    "private_key", "client_ca", "restrict", "username", "password"});
  return f;
}

bool is_hex(std::string_view s) {
  return !s.empty() && s.size() % 2 == 0 &&
         s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

// The document's reference to the broker's main listener: the first `listener` line that
// is MQTT (not websockets, not http_api), else the default listener.
config::ListenerRef main_ref(const ConfigDocument& doc) {
  for (const auto& li : doc.listeners()) {
    if (li.index < 0) continue;
    std::string protocol = "mqtt";
    for (const auto& o : li.options)
      if (o.option == "protocol") protocol = o.value;
    if (protocol == "mqtt") return {li.index};
  }
  return {-1};
}

EditOutcome edit_broker(ConfigDocument& doc, ManagedFiles& files, const config::Config& running,
                        const BrokerForm& f, Runtime& rt) {
  EditOutcome out;
  out.what = "broker settings";
  auto err = [&](std::string field, std::string msg) { out.errors.push_back({std::move(field), std::move(msg)}); };
  const std::string state_dir = files.dir();
  const json::object cur = broker_json(rt, state_dir);
  auto cur_s = [&](const char* k) { return cur.at(k).is_string() ? std::string(cur.at(k).as_string()) : std::string(); };

  const std::string tls_mode = f.tls_mode.value_or(cur_s("tls_mode"));
  const std::string restrict = f.restrict.value_or(cur_s("restrict"));
  if (tls_mode != "none" && tls_mode != "psk" && tls_mode != "certificate") err("tls_mode", "expected none, psk or certificate");
  if (restrict != "anonymous" && restrict != "password" && restrict != "certificate_cn")
    err("restrict", "expected anonymous, password or certificate_cn");
  if (f.log_level && !config::parse_product_log_level(*f.log_level))
    err("log_level", "expected none, error, warning, information or debug");
  if (f.port && (*f.port < 1 || *f.port > 65535)) err("port", "expected a port 1..65535");
  if (!out.errors.empty()) return out;

  // Material: what is pasted now, else what the running configuration has.
  const config::Config sc = settings_config(rt);
  const config::Listener* ml = main_listener(sc);
  const bool has_cert = ml && !ml->certfile.empty();
  const bool has_ca = ml && !ml->cafile.empty();
  const bool ca_wanted = f.client_ca ? !f.client_ca->empty() : has_ca;
  if (tls_mode == "certificate") {
    if (!f.certificate && !has_cert) err("certificate", "required for TLS mode certificate");
    if (!f.private_key && !(ml && !ml->keyfile.empty())) err("private_key", "required for TLS mode certificate");
    std::string cert_pem = f.certificate ? *f.certificate : (has_cert ? read_text(ml->certfile) : "");
    if (f.certificate) {
      if (auto c = parse_certificates(*f.certificate); !c) err("certificate", c.error().message);
    }
    if (f.private_key || f.certificate) {
      std::string key_pem = f.private_key ? *f.private_key : (ml ? read_text(ml->keyfile) : "");
      if (out.errors.empty()) {
        if (auto k = check_key_pair(key_pem, cert_pem); !k) err("private_key", k.error().message);
      }
    }
    if (f.client_ca && !f.client_ca->empty()) {
      if (auto c = parse_certificates(*f.client_ca); !c) err("client_ca", c.error().message);
    }
  }
  std::string psk_identity = f.psk_identity.value_or(cur_s("psk_identity"));
  if (tls_mode == "psk") {
    if (psk_identity.empty()) err("psk_identity", "required for TLS mode PSK");
    else if (psk_identity.find_first_of(": \t") != std::string::npos) err("psk_identity", "must not contain ':' or blanks");
    if (f.psk_key && !is_hex(*f.psk_key)) err("psk_key", "expected hex digits (an even number), e.g. from openssl rand -hex 32");
    else if (f.psk_key && f.psk_key->size() > 2 * 64) err("psk_key", "at most 64 bytes (128 hex digits)");
    if (!f.psk_key && !cur.at("psk_key_set").as_bool()) err("psk_key", "required for TLS mode PSK");
  }
  const std::string current_user = cur.at("username").is_string() ? cur_s("username") : "";
  std::string username = f.username.value_or(current_user);
  // A username sent back unchanged (a form re-sent as GET showed it) is not a new user.
  const bool username_changed = f.username && *f.username != current_user;
  if (restrict == "password" || restrict == "certificate_cn") {
    if (username.empty()) err("username", restrict == "password" ? "required to restrict for username and password"
                                                                 : "required: the Common Name the client certificate must have");
    else if (auto u = auth::check_username(username); !u) err("username", u.error().message);
  }
  const bool new_credentials = f.password.has_value() || (username_changed && restrict == "password");
  if (restrict == "password") {
    if (f.password && f.password->empty()) err("password", "must not be empty");
    else if (!f.password && (username_changed || !cur.at("password_set").as_bool()))
      err("password", "required (with the username) to restrict for username and password");
  }
  if (restrict == "certificate_cn" && (tls_mode != "certificate" || !ca_wanted))
    err("restrict", "certificate CN needs TLS mode certificate with a client CA certificate (every client then "
                    "presents a certificate signed by it)");
  if (!out.errors.empty()) return out;

  // ---- edits ----
  const config::ListenerRef ref = main_ref(doc);
  const Target lt = Target::listener(ref);
  const Target st = running.per_listener_settings ? lt : Target::global();
  auto set = [&](const Target& t, const char* option, std::vector<std::string> v, const char* field) {
    if (auto r = doc.set(t, option, v, field); !r) err(field, r.error().message);
  };
  if (f.enabled) set(Target::global(), "bridges_only", *f.enabled ? std::vector<std::string>{} : std::vector<std::string>{"true"}, "enabled");
  if (f.log_level) {
    set(Target::global(), "log_type", {}, "log_level");
    set(Target::global(), "log_level", {*f.log_level}, "log_level");
  }
  if (f.port || f.address) {
    // The current port is a JSON unsigned number (is_int64() is false for it): read it as a number.
    const std::string port =
        std::to_string(f.port.value_or(cur.at("port").is_number() ? cur.at("port").to_number<int64_t>() : 1883));
    std::string address = f.address.value_or(cur_s("address"));
    if (address == "local") {
      if (port != "1883" || ref.index >= 0) address = "127.0.0.1";  // loopback, IPv4
      else address.clear();
    }
    const bool local_stays = cur.at("local_only").as_bool() && f.address.value_or("local") == "local" && port == "1883";
    if (!local_stays) {
      if (auto r = doc.set_listener_header(ref, port, address, "port"); !r) err("port", r.error().message);
    }
  }
  const config::ListenerRef ref2 = main_ref(doc);  // the header edit may have made the default a listener
  const Target lt2 = Target::listener(ref2);
  const Target st2 = running.per_listener_settings ? lt2 : st;
  // TLS
  if (tls_mode == "none" || tls_mode == "psk") {
    for (const char* o : {"certfile", "keyfile", "cafile", "require_certificate"}) set(lt2, o, {}, "tls_mode");
  }
  if (tls_mode == "none" || tls_mode == "certificate") {
    set(lt2, "psk_hint", {}, "tls_mode");
    if (managed(sc.security.psk_file, state_dir) || (ml && managed(config::effective_security(sc, *ml).psk_file, state_dir)))
      set(st2, "psk_file", {}, "tls_mode");
  }
  if (tls_mode == "certificate") {
    if (f.certificate) {
      auto p = files.write("broker-cert", ".pem", *f.certificate);
      if (!p) err("certificate", p.error().message);
      else set(lt2, "certfile", {*p}, "certificate");
    }
    if (f.private_key) {
      auto p = files.write("broker-key", ".pem", *f.private_key);
      if (!p) err("private_key", p.error().message);
      else set(lt2, "keyfile", {*p}, "private_key");
    }
    if (f.client_ca && !f.client_ca->empty()) {
      auto p = files.write("client-ca", ".pem", *f.client_ca);
      if (!p) err("client_ca", p.error().message);
      else set(lt2, "cafile", {*p}, "client_ca");
    } else if (f.client_ca) {
      set(lt2, "cafile", {}, "client_ca");
    }
    set(lt2, "require_certificate", ca_wanted ? std::vector<std::string>{"true"} : std::vector<std::string>{}, "client_ca");
  }
  if (tls_mode == "psk" && (f.psk_key || f.psk_identity || f.tls_mode)) {
    std::string key = f.psk_key ? *f.psk_key : "";
    if (!f.psk_key && ml) {  // keep the current key under a new identity
      std::istringstream in(read_text(config::effective_security(sc, *ml).psk_file));
      std::string line;
      while (std::getline(in, line))
        if (auto c = line.find(':'); c != std::string::npos && line.substr(0, c) == cur_s("psk_identity")) key = line.substr(c + 1);
    }
    auto p = files.write("broker-psk", ".txt", psk_identity + ":" + key + "\n");
    if (!p) err("psk_key", p.error().message);
    else {
      set(lt2, "psk_hint", {"petrel"}, "psk_identity");
      set(st2, "psk_file", {*p}, "psk_key");
    }
  }
  // Who may connect (the global allow_anonymous; a listener_allow_anonymous line on the
  // main listener would override it, so it goes)
  set(lt2, "listener_allow_anonymous", {}, "restrict");
  if (restrict == "anonymous") {
    set(st2, "allow_anonymous", {"true"}, "restrict");
    set(st2, "password_file", {}, "restrict");
    for (const char* o : {"use_identity_as_username", "require_known_identity"}) set(lt2, o, {}, "restrict");
  } else {
    set(st2, "allow_anonymous", {"false"}, "restrict");
    const bool cn = restrict == "certificate_cn";
    set(lt2, "use_identity_as_username", cn ? std::vector<std::string>{"true"} : std::vector<std::string>{}, "restrict");
    set(lt2, "require_known_identity", cn ? std::vector<std::string>{"true"} : std::vector<std::string>{}, "restrict");
    // Certificate CN: a user file naming the CN, written when the mode or the CN changes
    // (not on every change of some other setting).
    const bool cn_user_changed = cn && (cur_s("restrict") != "certificate_cn" || username_changed);
    if (new_credentials || cn_user_changed || (f.restrict && *f.restrict != cur_s("restrict"))) {
      // One user: the configured username with its password (certificate CN: the CN, with a
      // random password nobody knows, so only the certificate identifies it).
      std::string password = f.password.value_or("");
      if (cn || password.empty()) {
        unsigned char raw[24];
        RAND_bytes(raw, sizeof raw);
        password = base64_encode(std::string_view(reinterpret_cast<const char*>(raw), sizeof raw));
      }
      if (!cn && !f.password && cur.at("password_set").as_bool() && !username_changed) {
        // restrict re-sent unchanged: keep the current password file
      } else if (auto h = auth::hash_password(password, auth::HashParams{}); !h) {
        err("password", h.error().message);
      } else if (auto p = files.write("broker-users", ".passwd", auth::password_line(username, *h)); !p) {
        err("password", p.error().message);
      } else {
        set(st2, "password_file", {*p}, cn ? "username" : "password");
      }
    }
  }
  (void)lt;
  return out;
}

}  // namespace

void add_broker_routes(web::Router& r, AdminService& a) {
  r.add("GET", "/api/petrel/v1/broker", [&a](web::Request&, std::shared_ptr<web::Reply> reply) {
    send_json(reply, broker_json(a.runtime(), a.state_dir()));
  });
  r.add("PUT", "/api/petrel/v1/broker", [&a](web::Request& req, std::shared_ptr<web::Reply> reply) {
    auto body = web::parse_json_object(req.body);
    if (!body) return send_error(reply, 400, body.error().message);
    web::FieldReader fr(*body);
    BrokerForm form = read_form(*body, fr);
    if (!fr.ok()) return reply->send(fr.error_response());
    Runtime& rt = a.runtime();
    a.edit_config(req, reply, [form, &rt](ConfigDocument& doc, ManagedFiles& files, const config::Config& running) {
      return edit_broker(doc, files, running, form, rt);
    });
  });
  r.add("POST", "/api/petrel/v1/check-pem", [](web::Request& req, std::shared_ptr<web::Reply> reply) {
    auto body = web::parse_json_object(req.body);
    if (!body) return send_error(reply, 400, body.error().message);
    web::FieldReader fr(*body);
    const std::string cert = fr.string_or("certificate", "", 256 * 1024);
    const std::string key = fr.string_or("private_key", "", 64 * 1024);
    const std::string ca = fr.string_or("ca", "", 256 * 1024);
    fr.reject_unknown({"certificate", "private_key", "ca"});
    if (!fr.ok()) return reply->send(fr.error_response());
    json::object out;
    auto describe = [](const std::string& pem) -> json::value {
      auto c = parse_certificates(pem);
      if (!c) return json::object{{"error", c.error().message}};
      json::array a;
      for (const auto& x : *c) a.push_back(cert_json(x));
      return json::object{{"certificates", a}};
    };
    if (!cert.empty()) out["certificate"] = describe(cert);
    if (!ca.empty()) out["ca"] = describe(ca);
    if (!key.empty()) {
      if (cert.empty()) out["private_key"] = json::object{{"error", "give the certificate too, to check the key against it"}};
      else if (auto k = check_key_pair(key, cert); !k) out["private_key"] = json::object{{"error", k.error().message}};
      else out["private_key"] = json::object{{"ok", true}, {"message", "the key matches the certificate"}};
    }
    send_json(reply, out);
  }, web::RouteOptions{.public_route = false, .state_changing = false});
  r.add("GET", "/api/petrel/v1/psk/generate", [](web::Request&, std::shared_ptr<web::Reply> reply) {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) return send_error(reply, 500, "no randomness available");
    static const char* d = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : raw) {
      hex += d[c >> 4];
      hex += d[c & 15];
    }
    send_json(reply, json::object{{"key", hex}});
  });
}

}  // namespace petrel::app
