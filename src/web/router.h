#pragma once
// Router: (method, path pattern) -> handler, with the options the server checks before
// calling it (public or authenticated, state-changing or not).
//
// A pattern is '/'-separated segments: literals, `{name}` (one non-empty segment) and, as
// the last segment only, `{name...}` (the non-empty rest of the path, slashes included).
// Paths are matched segment by segment after percent-decoding each, so "a%2Fb" is one
// segment "a/b"; the rest parameter is the decoded remainder, which is how a retained
// topic such as "a/b/c" reaches its handler. When several patterns match, the most
// literal one wins (literal before `{name}` before `{name...}`, left to right). A GET
// route also answers HEAD (the server drops the body).
//
// Routes are added before the server starts and only read afterwards. A mistake in add()
// (bad pattern, duplicate route, a GET or HEAD route marked state-changing) is a bug in
// the program and throws std::invalid_argument at startup.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "web/reply.h"
#include "web/request.h"

namespace petrel::web {

using Handler = std::function<void(Request&, std::shared_ptr<Reply>)>;

struct RouteOptions {
  // No authentication (login, static assets).
  bool public_route = false;
  // A state-changing request that authenticated by cookie must carry the session's CSRF
  // token. Unset: true for POST, PUT, PATCH and DELETE, false otherwise.
  std::optional<bool> state_changing;
};

struct Route {
  std::string method;
  Handler handler;
  bool public_route = false;
  bool state_changing = false;
};

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed, kBadPath };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;  // kFound
  std::vector<Header> params;    // kFound
  std::string allow;             // kMethodNotAllowed: "GET, HEAD, POST"
};

class Router {
 public:
  void add(std::string method, std::string_view pattern, Handler handler, RouteOptions options = {});
  // raw_path: percent-encoded, without the query.
  RouteMatch match(std::string_view method, std::string_view raw_path) const;

 private:
  enum class SegmentKind { kLiteral, kParam, kRest };
  struct Segment {
    SegmentKind kind;
    std::string text;  // literal text or parameter name
  };
  struct Pattern {
    std::string text;
    std::vector<Segment> segments;
    std::vector<Route> routes;
  };
  static std::vector<Segment> parse_pattern(std::string_view pattern);

  std::vector<Pattern> patterns_;
};

// Percent-decoding; nullopt on a malformed escape. plus_as_space for query strings.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space = false);
// "a=1&b=x%20y&c" -> {a:1, b:"x y", c:""}; an error names the malformed part.
Result<std::map<std::string, std::string, std::less<>>> parse_query(std::string_view query);

}  // namespace petrel::web
