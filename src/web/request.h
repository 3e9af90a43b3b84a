#pragma once
// Request and Response: what a route handler is given and gives back. Plain values with
// no sockets in them: the server fills a Request from the parsed HTTP message and turns a
// Response into the HTTP reply, adding the headers every reply carries. A handler that
// continues on another thread copies what it needs: the Request is reused by the
// connection once the reply is sent.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace petrel::web {

// How the request authenticated; kNone on public routes.
enum class AuthVia : uint8_t { kNone, kBasic, kBearer, kCookie };
// "none", "basic", "bearer", "cookie".
std::string_view auth_via_name(AuthVia via);

using Header = std::pair<std::string, std::string>;

struct Response {
  int status = 200;
  std::string content_type;  // empty: text/plain when there is a body
  std::string body;
  std::vector<Header> headers;  // e.g. Set-Cookie, Retry-After, Cache-Control
};

struct Request {
  std::string method;  // as sent: "GET", "POST", ...
  std::string target;  // the request target as sent (percent-encoded, with the query)
  std::string path;    // target without the query, still percent-encoded
  std::map<std::string, std::string, std::less<>> query;  // decoded; a repeated key keeps its last value
  std::vector<Header> params;  // route parameters, decoded, in pattern order
  std::string body;
  std::vector<Header> headers;  // as received
  std::string peer;             // client address: "127.0.0.1", "::1"
  bool tls = false;
  std::string user;  // set once authenticated
  AuthVia via = AuthVia::kNone;
  std::string session_token;  // the bearer or cookie token it authenticated with

  // First header of that name (case-insensitive), "" when absent.
  std::string_view header(std::string_view name) const;
  // Route parameter by name, "" when the route has none of that name (a matched
  // parameter is never empty).
  std::string_view param(std::string_view name) const;
};

// ASCII case-insensitive equality (header names, auth schemes).
bool iequals(std::string_view a, std::string_view b);

}  // namespace petrel::web
