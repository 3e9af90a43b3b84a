#pragma once
// Dispatcher: what happens to one parsed request, in this order: split the target into
// path and query (400 when malformed), match a route, authenticate unless the route is
// public (401/429), then 404 or 405, the CSRF check for a cookie-authenticated
// state-changing request (403), and the handler. Unknown paths answer 404 only after
// authentication, so an anonymous client learns nothing about which paths exist. A
// handler that throws gets 500 and a log line; the server thread goes on.
//
// Runs on the server thread; has no sockets, so the whole chain can be tested without.
#include <memory>

#include "common/log.h"
#include "web/auth.h"
#include "web/reply.h"
#include "web/request.h"
#include "web/router.h"

namespace petrel::web {

class Dispatcher {
 public:
  Dispatcher(Logger& log, const Router& router, Auth& auth) : log_(log), router_(router), auth_(auth) {}
  // req.method, target, body, headers, peer and tls are filled in; the rest is set here.
  void operator()(Request& req, std::shared_ptr<Reply> reply) const;

 private:
  Logger& log_;
  const Router& router_;
  Auth& auth_;
};

}  // namespace petrel::web
