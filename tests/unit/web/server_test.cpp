// The HTTP server over real sockets: routing, headers, limits, timeouts, threads.
#include <gtest/gtest.h>

#include <boost/asio/read_until.hpp>

#include "test_support.h"

namespace petrel::web::test {
namespace {

const Headers kAdmin = {{"Authorization", basic("admin", "secret")}};

class ServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    router_.add("GET", "/api/echo/{a}/{b}", [](Request& req, std::shared_ptr<web::Reply> reply) {
      boost::json::object o{{"a", req.param("a")}, {"b", req.param("b")}, {"path", req.path}};
      boost::json::object q;
      for (const auto& [k, v] : req.query) q[k] = v;
      o["query"] = std::move(q);
      reply->send(json_response(200, o));
    });
    router_.add("GET", "/api/echo/fixed/{b}", [](Request& req, std::shared_ptr<web::Reply> reply) {
      reply->send(json_response(200, {{"fixed", req.param("b")}}));
    });
    router_.add("GET", "/api/retained/{topic...}", [](Request& req, std::shared_ptr<web::Reply> reply) {
      reply->send(json_response(200, {{"topic", req.param("topic")}}));
    });
    router_.add("DELETE", "/api/retained/{topic...}", [](Request& req, std::shared_ptr<web::Reply> reply) {
      reply->send(json_response(200, {{"deleted", req.param("topic")}}));
    });
    router_.add("POST", "/api/body", [](Request& req, std::shared_ptr<web::Reply> reply) {
      reply->send(Response{200, "text/plain", std::to_string(req.body.size()), {}});
    });
    router_.add("GET", "/api/cached", [](Request&, std::shared_ptr<web::Reply> reply) {
      reply->send(Response{200, "text/plain", "hello", {{"Cache-Control", "max-age=60"}, {"Bad\nName", "x"},
                                                        {"X-Evil", "a\r\nSet-Cookie: x=y"}}});
    });
    router_.add("GET", "/api/thread", [](Request& req, std::shared_ptr<web::Reply> reply) {
      std::string user = req.user;  // the Request is not the handler's after it returns
      std::thread([reply, user] {
        std::this_thread::sleep_for(20ms);  // answer after the handler returned
        reply->send(json_response(200, {{"from", "thread"}, {"user", user}}));
      }).detach();
    });
    router_.add("GET", "/api/throws", [](Request&, std::shared_ptr<web::Reply>) { throw std::runtime_error("boom"); });
    router_.add("GET", "/api/drops", [](Request&, std::shared_ptr<web::Reply>) {});
    router_.add("GET", "/api/twice", [](Request&, std::shared_ptr<web::Reply> reply) {
      reply->send(Response{200, "text/plain", "first", {}});
      reply->send(Response{201, "text/plain", "second", {}});
    });
    router_.add("GET", "/public/asset", [](Request&, std::shared_ptr<web::Reply> reply) {
      reply->send(Response{200, "text/css", "body{}", {}});
    }, RouteOptions{.public_route = true, .state_changing = std::nullopt});
  }
};

TEST_F(ServerTest, UnknownPathIs404AndWrongMethod405AfterAuthentication) {
  start();
  // Anonymous clients learn nothing about which paths exist.
  EXPECT_EQ(get("/nowhere").status, 401);
  Answer nf = get("/nowhere", kAdmin);
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.body, R"({"error":"not found"})");
  EXPECT_EQ(nf.header("Content-Type"), "application/json");
  Answer na = Client(port_).request("PUT", "/api/body", kAdmin, "x");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.header("Allow"), "POST");
  Answer na2 = post("/api/retained/a", kAdmin);
  EXPECT_EQ(na2.status, 405);
  EXPECT_EQ(na2.header("Allow"), "GET, HEAD, DELETE");
  EXPECT_EQ(get("/public/asset").status, 200);
}

TEST_F(ServerTest, PathParamsQueryAndRestWithEncodedSlashes) {
  start();
  Answer r = get("/api/echo/x%20y/b%2Fc?n=1&s=a+b%21&flag", kAdmin);
  ASSERT_EQ(r.status, 200) << r.body;
  auto o = r.json();
  EXPECT_EQ(o["a"], "x y");
  EXPECT_EQ(o["b"], "b/c");  // an encoded slash stays inside its segment
  EXPECT_EQ(o["path"], "/api/echo/x%20y/b%2Fc");
  EXPECT_EQ(o["query"].as_object()["n"], "1");
  EXPECT_EQ(o["query"].as_object()["s"], "a b!");
  EXPECT_EQ(o["query"].as_object()["flag"], "");
  // The literal pattern beats the parameter.
  EXPECT_EQ(get("/api/echo/fixed/z", kAdmin).json()["fixed"], "z");
  EXPECT_EQ(get("/api/retained/a/b/c", kAdmin).json()["topic"], "a/b/c");
  EXPECT_EQ(get("/api/retained/a%2Fb%2Fc", kAdmin).json()["topic"], "a/b/c");
  EXPECT_EQ(get("/api/retained/sensors/%2B/temp%20C", kAdmin).json()["topic"], "sensors/+/temp C");
  Answer del = Client(port_).request("DELETE", "/api/retained/x/%23", kAdmin);
  EXPECT_EQ(del.json()["deleted"], "x/#");
  EXPECT_EQ(get("/api/retained/", kAdmin).status, 404);
  EXPECT_EQ(get("/api/echo/a%zz/b", kAdmin).status, 400);
  EXPECT_EQ(get("/api/echo/a/b?x=%g0", kAdmin).status, 400);
}

TEST_F(ServerTest, EveryResponseCarriesTheSecurityHeaders) {
  start();
  for (const Answer& r : {get("/api/echo/a/b", kAdmin), get("/nowhere"), get("/public/asset")}) {
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.header("X-Frame-Options"), "DENY");
    EXPECT_EQ(r.header("Referrer-Policy"), "no-referrer");
    EXPECT_EQ(r.header("Cache-Control"), "no-store");
    EXPECT_EQ(r.header("Content-Security-Policy"), kDefaultContentSecurityPolicy);
  }
  Answer c = get("/api/cached", kAdmin);
  EXPECT_EQ(c.header("Cache-Control"), "max-age=60");
  EXPECT_EQ(c.headers.count("Cache-Control"), 1u);
  // Headers that would split the response are dropped, not sent.
  EXPECT_EQ(c.header("X-Evil"), "");
  EXPECT_EQ(c.header("Set-Cookie"), "");
  EXPECT_EQ(c.body, "hello");
}

TEST_F(ServerTest, TheContentSecurityPolicyIsConfigurable) {
  server_ = std::make_unique<HttpServer>(log_, router_, auth_, limits_);
  server_->set_content_security_policy("default-src 'none'");
  ASSERT_TRUE(server_->open({Endpoint{"127.0.0.1", 0, "", "", ""}}).ok());
  server_->start();
  port_ = server_->bound().at(0).port;
  EXPECT_EQ(get("/public/asset").header("Content-Security-Policy"), "default-src 'none'");
}

TEST_F(ServerTest, HeadIsGetWithoutBody) {
  start();
  Client c(port_);
  Answer h = c.request("HEAD", "/api/echo/a/b", kAdmin);
  ASSERT_EQ(h.status, 200);
  EXPECT_EQ(h.body, "");
  Answer g = c.request("GET", "/api/echo/a/b", kAdmin);  // same connection: HEAD left it in step
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(h.header("Content-Length"), std::to_string(g.body.size()));
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  start();
  Client c(port_);
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.request("GET", "/api/echo/a/b", kAdmin).status, 200) << i;
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(ServerTest, HandlersMayAnswerFromAnotherThread) {
  start();
  Answer r = get("/api/thread", kAdmin);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["from"], "thread");
  EXPECT_EQ(r.json()["user"], "admin");
}

TEST_F(ServerTest, AThrowingHandlerGets500AndTheServerGoesOn) {
  start();
  Client c(port_);
  Answer r = c.request("GET", "/api/throws", kAdmin);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.json()["error"], "internal error");
  EXPECT_EQ(c.request("GET", "/api/echo/a/b", kAdmin).status, 200);
}

TEST_F(ServerTest, ADroppedReplyGets500AndOnlyTheFirstAnswerCounts) {
  start();
  Client c(port_);
  EXPECT_EQ(c.request("GET", "/api/drops", kAdmin).status, 500);
  Answer t = c.request("GET", "/api/twice", kAdmin);
  EXPECT_EQ(t.status, 200);
  EXPECT_EQ(t.body, "first");
  EXPECT_EQ(c.request("GET", "/api/echo/a/b", kAdmin).status, 200);
}

TEST_F(ServerTest, HeaderTooLargeIs431) {
  limits_.max_header_bytes = 1024;
  start();
  Client c(port_);
  Headers h = kAdmin;
  h.emplace_back("X-Big", std::string(2000, 'a'));
  Answer r = c.request("GET", "/api/echo/a/b", h);
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.header("Connection"), "close");
  h.back().second = std::string(500, 'a');
  EXPECT_EQ(get("/api/echo/a/b", h).status, 200);
}

TEST_F(ServerTest, BodyTooLargeIs413) {
  limits_.max_body_bytes = 1000;
  start();
  EXPECT_EQ(post("/api/body", kAdmin, std::string(1000, 'x')).body, "1000");
  Answer r = post("/api/body", kAdmin, std::string(1001, 'x'));
  EXPECT_EQ(r.status, 413);
  // A chunked body is held to the same limit.
  Client c(port_);
  c.write_raw("POST /api/body HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic("admin", "secret") +
              "\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + std::string(0x400, 'y') + "\r\n0\r\n\r\n");
  std::string out = c.read_until_close(5s);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(out.rfind("HTTP/1.1 413 ", 0), 0u) << out;
}

TEST_F(ServerTest, ExpectContinueGetsAContinue) {
  start();
  Client c(port_);
  c.write_raw("POST /api/body HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic("admin", "secret") +
              "\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
  std::string got;
  while (got.find("\r\n\r\n") == std::string::npos && c.read_some(got)) {
  }
  EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
  c.write_raw("abc");
  while (got.find("\r\n\r\n3") == std::string::npos && c.read_some(got)) {
  }
  EXPECT_NE(got.find("\r\n\r\n3"), std::string::npos) << got;
}

TEST_F(ServerTest, GarbageIs400AndClosed) {
  start();
  Client c(port_);
  c.write_raw("\x16\x03\x01 this is not HTTP at all\r\n\r\n");
  std::string out = c.read_until_close(5s);
  EXPECT_TRUE(c.closed());
  EXPECT_EQ(out.rfind("HTTP/1.1 400 ", 0), 0u) << out;
  EXPECT_NE(out.find("malformed request"), std::string::npos);
  EXPECT_TRUE(wait_until([&] { return server_->connection_count() == 0; }));
}

TEST_F(ServerTest, ASlowClientIsCutAtTheReadTimeoutWhileOthersAreServed) {
  limits_.read_timeout = 300ms;
  start();
  Client slow(port_);
  slow.write_raw("GET /api/echo/a/b HTTP/1.1\r\nHost: x\r\n");  // and never the rest
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(get("/api/echo/a/b", kAdmin).status, 200);
  std::string out = slow.read_until_close(5s);
  EXPECT_TRUE(slow.closed());
  EXPECT_EQ(out, "");  // no answer to half a request
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 100ms);
  EXPECT_LT(waited, 4s);
  // A client that sends nothing at all is cut the same way.
  Client silent(port_);
  silent.read_until_close(5s);
  EXPECT_TRUE(silent.closed());
}

TEST_F(ServerTest, AnIdleKeepAliveConnectionIsClosed) {
  limits_.idle_timeout = 200ms;
  start();
  Client c(port_);
  ASSERT_EQ(c.request("GET", "/api/echo/a/b", kAdmin).status, 200);
  c.read_until_close(5s);
  EXPECT_TRUE(c.closed());
}

TEST_F(ServerTest, ConnectionsOverTheCapAreRefused) {
  limits_.max_connections = 3;
  start();
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(port_));
    ASSERT_EQ(held.back()->request("GET", "/api/echo/a/b", kAdmin).status, 200);
  }
  Client extra(port_);  // the kernel accepts it; the server closes it at once
  extra.read_until_close(5s);
  EXPECT_TRUE(extra.closed());
  held.pop_back();
  ASSERT_TRUE(wait_until([&] { return server_->connection_count() == 2; }));
  EXPECT_EQ(get("/api/echo/a/b", kAdmin).status, 200);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  Client c(port_);
  const std::string auth = "Authorization: " + basic("admin", "secret") + "\r\n";
  c.write_raw("GET /api/echo/1/x HTTP/1.1\r\nHost: x\r\n" + auth + "\r\nGET /api/echo/2/x HTTP/1.1\r\nHost: x\r\n" +
              auth + "Connection: close\r\n\r\n");
  std::string out = c.read_until_close(5s);
  EXPECT_TRUE(c.closed());
  const size_t one = out.find(R"("a":"1")"), two = out.find(R"("a":"2")");
  ASSERT_NE(one, std::string::npos) << out;
  ASSERT_NE(two, std::string::npos) << out;
  EXPECT_LT(one, two);
}

}  // namespace
}  // namespace petrel::web::test
