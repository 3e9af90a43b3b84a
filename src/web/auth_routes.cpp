// The login, logout and session routes (declared in auth.h).
#include <fmt/format.h>

#include "web/auth.h"
#include "web/json.h"
#include "web/router.h"

namespace petrel::web {
namespace {

constexpr size_t kMaxUserLength = 256;
constexpr size_t kMaxPasswordLength = 1024;

std::string session_cookie_header(std::string_view token, bool tls) {
  // HttpOnly: page scripts never see it; SameSite=Strict: no other site's request carries it.
  return fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict{}", kSessionCookie, token, tls ? "; Secure" : "");
}

std::string cleared_cookie_header(bool tls) {
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict{}", kSessionCookie, tls ? "; Secure" : "");
}

// "application/json" or "application/json; charset=utf-8".
bool is_json(std::string_view content_type) {
  const size_t semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return iequals(type, "application/json");
}

Response login(Auth& auth, const Request& req) {
  if (int64_t wait = auth.login_retry_after_s(req.peer)) return rate_limited_response(wait);
  // A cross-site HTML form cannot send this type without the browser asking first, so a
  // foreign page cannot log the browser in to an account of its choosing.
  if (!is_json(req.header("Content-Type"))) return error_response(415, "Content-Type must be application/json");
  auto body = parse_json_object(req.body);
  if (!body) return error_response(400, body.error().message);
  FieldReader fields(*body);
  auto user = fields.string("username", kMaxUserLength);
  auto password = fields.string("password", kMaxPasswordLength);
  if (!fields.ok()) return fields.error_response();
  if (!auth.check_login(*user, *password, req.peer, false)) return error_response(401, "wrong username or password");
  auto session = auth.create_session(*user);
  if (!session) return error_response(500, session.error().message);
  auth.audit(fmt::format("admin: login by '{}' from {}", printable_user(*user), req.peer));
  Response r = json_response(200, boost::json::object{{"username", *user},
                                                      {"csrf_token", session->csrf_token},
                                                      {"token", session->token},
                                                      {"expires_in", session->expires_in_s}});
  r.headers.emplace_back("Set-Cookie", session_cookie_header(session->token, req.tls));
  return r;
}

Response logout(Auth& auth, const Request& req) {
  auth.end_session(req.session_token);  // nothing to end for Basic
  auth.audit(fmt::format("admin: logout by '{}' from {}", printable_user(req.user), req.peer));
  Response r = json_response(200, boost::json::object{{"logged_out", true}});
  r.headers.emplace_back("Set-Cookie", cleared_cookie_header(req.tls));
  return r;
}

Response session(Auth& auth, const Request& req) {
  boost::json::value csrf = nullptr;  // Basic has no session and needs no token
  if (req.via == AuthVia::kCookie || req.via == AuthVia::kBearer) csrf = boost::json::string(auth.csrf_token(req.session_token));
  return json_response(200, boost::json::object{{"username", req.user}, {"csrf_token", csrf}, {"via", auth_via_name(req.via)}});
}

}  // namespace

void add_auth_routes(Router& router, Auth& auth) {
  router.add("POST", "/api/petrel/v1/login",
             [&auth](Request& req, std::shared_ptr<Reply> reply) { reply->send(login(auth, req)); },
             RouteOptions{.public_route = true, .state_changing = std::nullopt});
  router.add("POST", "/api/petrel/v1/logout",
             [&auth](Request& req, std::shared_ptr<Reply> reply) { reply->send(logout(auth, req)); });
  router.add("GET", "/api/petrel/v1/session",
             [&auth](Request& req, std::shared_ptr<Reply> reply) { reply->send(session(auth, req)); });
}

}  // namespace petrel::web
