#include "web/dispatcher.h"

#include <exception>

#include "web/json.h"

namespace petrel::web {

void Dispatcher::operator()(Request& req, std::shared_ptr<Reply> reply) const {
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (req.path.empty() || req.path[0] != '/') return reply->send(error_response(400, "request target must be a path"));
  if (q != std::string::npos) {
    auto query = parse_query(std::string_view(req.target).substr(q + 1));
    if (!query) return reply->send(error_response(400, query.error().message));
    req.query = std::move(*query);
  }

  RouteMatch m = router_.match(req.method, req.path);
  if (m.kind == RouteMatch::Kind::kBadPath) return reply->send(error_response(400, "malformed percent-encoding in path"));
  const bool is_public = m.kind == RouteMatch::Kind::kFound && m.route->public_route;
  if (!is_public) {
    if (auto denied = auth_.authenticate(req)) return reply->send(std::move(*denied));
  }
  if (m.kind == RouteMatch::Kind::kNotFound) return reply->send(error_response(404, "not found"));
  if (m.kind == RouteMatch::Kind::kMethodNotAllowed) {
    Response r = error_response(405, "method not allowed");
    r.headers.emplace_back("Allow", std::move(m.allow));
    return reply->send(std::move(r));
  }
  if (m.route->state_changing && !auth_.csrf_ok(req)) {
    return reply->send(error_response(403, "missing or wrong CSRF token"));
  }
  req.params = std::move(m.params);
  try {
    m.route->handler(req, reply);
  } catch (const std::exception& e) {
    PETREL_LOG(log_, kLogError, "http api: {} {} from {}: handler failed: {}", req.method, req.path, req.peer, e.what());
    reply->send(error_response(500, "internal error"));
  } catch (...) {
    PETREL_LOG(log_, kLogError, "http api: {} {} from {}: handler failed", req.method, req.path, req.peer);
    reply->send(error_response(500, "internal error"));
  }
}

}  // namespace petrel::web
