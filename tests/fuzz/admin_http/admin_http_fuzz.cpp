// libFuzzer target: the admin API's HTTP requests and JSON bodies, up to where a handler
// would act. The input is the bytes a client sends. It goes through Boost.Beast's request
// parser with the admin server's limits (web/http_server.h: 8 KiB of headers, 1 MiB of
// body), then the steps the dispatcher takes before a route's handler (the target split
// into path and query, web::parse_query, web::Router::match over the admin API's routes),
// then the body as the handlers read it: web::parse_json_object and web::FieldReader with
// the broker form's fields, and for POST /api/petrel/v1/check-pem the pasted PEM through
// app::parse_certificates and app::check_key_pair.
// The route table below mirrors the routes src/app and src/web register (a handler here
// does nothing: a real one needs a running broker).
// Checks: a route match returns decoded, non-empty parameters; the query decodes to what
// percent_decode gives for each part; parse_json_object refuses rather than throws; every
// certificate described has a subject.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "app/admin_pem.h"
#include "fuzz_check.h"
#include "web/json.h"
#include "web/router.h"

using namespace petrel;
namespace http = boost::beast::http;

namespace {

const web::Router& admin_router() {
  static const web::Router router = [] {
    web::Router r;
    auto none = [](web::Request&, std::shared_ptr<web::Reply>) {};
    const std::pair<const char*, const char*> routes[] = {
        {"DELETE", "/api/petrel/v1/bridges/{name}"}, {"DELETE", "/api/petrel/v1/retained/{topic...}"},
        {"GET", "/api/petrel/v1/bridges"}, {"GET", "/api/petrel/v1/bridges/{name}"},
        {"GET", "/api/petrel/v1/broker"}, {"GET", "/api/petrel/v1/clients"},
        {"GET", "/api/petrel/v1/clients/{id...}"}, {"GET", "/api/petrel/v1/log"},
        {"GET", "/api/petrel/v1/log/stream"}, {"GET", "/api/petrel/v1/psk/generate"},
        {"GET", "/api/petrel/v1/retained"}, {"GET", "/api/petrel/v1/retained/{topic...}"},
        {"GET", "/api/petrel/v1/session"}, {"GET", "/api/petrel/v1/status"},
        {"GET", "/api/petrel/v1/status/history"}, {"GET", "/api/petrel/v1/status/stream"},
        {"GET", "/api/petrel/v1/watch"}, {"GET", "/api/v1/listeners"}, {"GET", "/api/v1/systree"},
        {"GET", "/api/v1/version"}, {"GET", "/assets/{path...}"}, {"GET", "/metrics"}, {"GET", "/"},
        {"GET", "/index.html"}, {"POST", "/api/petrel/v1/bridge-preview"}, {"POST", "/api/petrel/v1/bridges"},
        {"POST", "/api/petrel/v1/bridges/{name}/disable"}, {"POST", "/api/petrel/v1/bridges/{name}/enable"},
        {"POST", "/api/petrel/v1/check-pem"}, {"POST", "/api/petrel/v1/clients/disconnect"},
        {"POST", "/api/petrel/v1/login"}, {"POST", "/api/petrel/v1/logout"}, {"POST", "/api/petrel/v1/publish"},
        {"PUT", "/api/petrel/v1/bridges/{name}"}, {"PUT", "/api/petrel/v1/broker"}};
    for (const auto& [method, pattern] : routes) r.add(method, pattern, none);
    return r;
  }();
  return router;
}

void check_pem(web::FieldReader& fr) {
  const std::string cert = fr.string_or("certificate", "", 256 * 1024);
  const std::string key = fr.string_or("private_key", "", 64 * 1024);
  const std::string ca = fr.string_or("ca", "", 256 * 1024);
  for (const std::string* pem : {&cert, &ca}) {
    if (pem->empty()) continue;
    auto certs = app::parse_certificates(*pem);
    if (!certs) {
      FUZZ_CHECK(!certs.error().message.empty());
      continue;
    }
    FUZZ_CHECK(!certs->empty());
    for (const auto& c : *certs) (void)app::cert_json(c);
  }
  if (!key.empty() && !cert.empty()) {
    auto k = app::check_key_pair(key, cert);
    if (!k) FUZZ_CHECK(!k.error().message.empty());
  }
}

void read_body(const std::string& path, const std::string& body) {
  auto obj = web::parse_json_object(body);
  if (!obj) {
    FUZZ_CHECK(!obj.error().message.empty());
    return;
  }
  web::FieldReader fr(*obj);
  if (path == "/api/petrel/v1/check-pem") return check_pem(fr);
  // The broker form's readers (the widest of the admin forms).
  (void)fr.boolean_or("enabled", true);
  (void)fr.integer_or("port", 1, 65535, 1883);
  (void)fr.integer("qos", 0, 2);
  (void)fr.boolean("retain");
  for (const char* f : {"address", "log_level", "tls_mode", "psk_identity", "psk_key", "topic", "payload",
                        "username", "password", "restrict", "name"})
    (void)fr.string(f, 1024);
  fr.reject_unknown({"enabled", "port", "address"});
  for (const auto& e : fr.errors()) FUZZ_CHECK(!e.field.empty() && !e.message.empty());
  if (!fr.ok()) FUZZ_CHECK(fr.error_response().status == 400);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::const_buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  const auto& msg = parser.get();

  const std::string method(msg.method_string());
  const std::string target(msg.target());
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  if (path.empty() || path[0] != '/') return 0;  // the dispatcher refuses it (400)
  if (q != std::string::npos) {
    const std::string_view query = std::string_view(target).substr(q + 1);
    auto parsed = web::parse_query(query);
    if (parsed) {
      // Each key=value part decodes on its own the same way (a repeat keeps the last).
      size_t start = 0;
      while (start <= query.size()) {
        const size_t amp = std::min(query.find('&', start), query.size());
        const std::string_view part = query.substr(start, amp - start);
        const size_t eq = part.find('=');
        auto key = web::percent_decode(part.substr(0, eq), true);
        FUZZ_CHECK(key.has_value());
        if (!part.empty()) FUZZ_CHECK(parsed->count(*key) == 1);
        start = amp + 1;
      }
    } else {
      FUZZ_CHECK(!parsed.error().message.empty());
    }
  }

  const web::RouteMatch m = admin_router().match(method, path);
  if (m.kind == web::RouteMatch::Kind::kFound) {
    FUZZ_CHECK(m.route != nullptr);
    for (const auto& [name, value] : m.params) FUZZ_CHECK(!name.empty() && !value.empty());
    if (method == "POST" || method == "PUT") read_body(path, msg.body());
  } else if (m.kind == web::RouteMatch::Kind::kMethodNotAllowed) {
    FUZZ_CHECK(!m.allow.empty());
  }
  return 0;
}
