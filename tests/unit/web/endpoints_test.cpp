// Endpoints: binding errors, TLS, host names, and replace() keeping what stays.
#include <gtest/gtest.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdio>

#include "test_support.h"

namespace petrel::web::test {
namespace {

int run(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// n different ports nobody listens on right now (all held open until each is known).
std::vector<uint16_t> free_ports(size_t n) {
  asio::io_context ioc;
  std::vector<std::unique_ptr<tcp::acceptor>> held;
  std::vector<uint16_t> out;
  for (size_t i = 0; i < n; ++i) {
    held.push_back(std::make_unique<tcp::acceptor>(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)));
    out.push_back(held.back()->local_endpoint().port());
  }
  return out;
}

bool can_connect(uint16_t port) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

class EndpointsTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    router_.add("GET", "/peer", [](Request& req, std::shared_ptr<web::Reply> reply) {
      reply->send(json_response(200, {{"peer", req.peer}, {"tls", req.tls}}));
    }, RouteOptions{.public_route = true, .state_changing = std::nullopt});
    server_ = std::make_unique<HttpServer>(log_, router_, auth_, limits_);
  }

  // Self-signed certificate for 127.0.0.1, its key, a key that does not match and the
  // key with a passphrase (made with the openssl command line, never checked in).
  bool make_pki() {
    const std::string d = dir_.path("");
    return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + d +
               "server.key -out " + d + "server.crt -days 2 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1") == 0 &&
           run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out " + d + "other.key") == 0 &&
           run("openssl pkey -in " + d + "server.key -aes256 -passout pass:secret -out " + d + "encrypted.key") == 0;
  }
};

TEST_F(EndpointsTest, ABindFailureNamesAddressAndPortAndLeavesNothingOpen) {
  asio::io_context ioc;
  tcp::acceptor taken(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const uint16_t busy = taken.local_endpoint().port();
  const uint16_t fine = free_ports(1)[0];
  auto r = server_->open({Endpoint{"127.0.0.1", fine, "", "", "a"}, Endpoint{"127.0.0.1", busy, "", "", "b"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "http api listener 127.0.0.1:" + std::to_string(busy) + ": Address already in use");
  EXPECT_TRUE(server_->bound().empty());
  EXPECT_FALSE(can_connect(fine));  // the endpoint bound before the failure is closed again

  auto bad = server_->open({Endpoint{"203.0.113.7", 8080, "", "", ""}});  // not an address of this host
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.rfind("http api listener 203.0.113.7:8080: ", 0), 0u) << bad.error().message;
  auto v6 = server_->open({Endpoint{"2001:db8::1", 8080, "", "", ""}});
  ASSERT_FALSE(v6.ok());
  EXPECT_EQ(v6.error().message.rfind("http api listener [2001:db8::1]:8080: ", 0), 0u) << v6.error().message;
  auto name = server_->open({Endpoint{"no-such-host.invalid", 8080, "", "", ""}});
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().message.rfind("http api listener no-such-host.invalid:8080: cannot resolve", 0), 0u)
      << name.error().message;
}

TEST_F(EndpointsTest, HostNamesAndAllAddresses) {
  ASSERT_TRUE(server_->open({Endpoint{"localhost", 0, "", "", "named"}, Endpoint{"", 0, "", "", "any"}}).ok());
  server_->start();
  const auto bound = server_->bound();
  ASSERT_GE(bound.size(), 2u);
  for (const auto& b : bound) {
    if (b.name == "named") {
      EXPECT_EQ(b.port, bound[0].port);  // each address of the name on one port
    }
  }
  const uint16_t any = bound.back().port;
  EXPECT_EQ(bound.back().name, "any");
  Answer r = Client(bound[0].port).request("GET", "/peer");
  EXPECT_EQ(r.status, 200);
  // On the dual-stack socket an IPv4 client still reads as IPv4.
  Answer a = Client(any).request("GET", "/peer");
  EXPECT_EQ(a.json()["peer"], "127.0.0.1");
  EXPECT_EQ(a.json()["tls"], false);
}

TEST_F(EndpointsTest, HttpsWithACertificateMadeForTheTest) {
  ASSERT_TRUE(make_pki());
  const std::string crt = dir_.path("server.crt"), key = dir_.path("server.key");
  ASSERT_TRUE(server_->open({Endpoint{"127.0.0.1", 0, crt, key, "tls"}}).ok());
  server_->start();
  const uint16_t port = server_->bound().at(0).port;
  EXPECT_TRUE(server_->bound().at(0).tls);

  asio::io_context ioc;
  asio::ssl::context cctx(asio::ssl::context::tls_client);
  cctx.load_verify_file(crt);
  cctx.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> s(ioc, cctx);
  beast::error_code ec;
  auto step = [&](auto&& start) {
    beast::get_lowest_layer(s).expires_after(5s);
    start();
    ioc.restart();
    ioc.run();
    return !ec;
  };
  ASSERT_TRUE(step([&] {
    beast::get_lowest_layer(s).async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                             [&](beast::error_code e) { ec = e; });
  }));
  ASSERT_TRUE(step([&] { s.async_handshake(asio::ssl::stream_base::client, [&](beast::error_code e) { ec = e; }); }))
      << ec.message();
  http::request<http::string_body> req{http::verb::post, "/api/petrel/v1/login", 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  req.body() = R"({"username":"admin","password":"secret"})";
  req.prepare_payload();
  ASSERT_TRUE(step([&] { http::async_write(s, req, [&](beast::error_code e, size_t) { ec = e; }); }));
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  ASSERT_TRUE(step([&] { http::async_read(s, buf, res, [&](beast::error_code e, size_t) { ec = e; }); }));
  EXPECT_EQ(res.result_int(), 200u);
  // Over TLS the session cookie is marked Secure.
  EXPECT_NE(std::string(res[http::field::set_cookie]).find("; Secure"), std::string::npos);

  // Plain HTTP to the TLS port gets nowhere.
  Client plain(port);
  EXPECT_EQ(plain.request("GET", "/peer").status, 0);
}

TEST_F(EndpointsTest, BadTlsFilesAreRefusedClearly) {
  ASSERT_TRUE(make_pki());
  const std::string crt = dir_.path("server.crt");
  auto open_with = [&](const std::string& c, const std::string& k) {
    auto r = server_->open({Endpoint{"127.0.0.1", 0, c, k, "tls"}});
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_NE(open_with(crt, dir_.path("encrypted.key")).find("is password-protected"), std::string::npos);
  EXPECT_NE(open_with(crt, dir_.path("other.key")).find("does not match the certificate"), std::string::npos)
      << open_with(crt, dir_.path("other.key"));
  EXPECT_NE(open_with(dir_.path("missing.crt"), dir_.path("server.key")).find("certfile '"), std::string::npos);
  EXPECT_NE(open_with(crt, "").find("certfile is set without keyfile"), std::string::npos);
  const std::string garbage = dir_.write("garbage.crt", "not a certificate\n");
  EXPECT_NE(open_with(garbage, dir_.path("server.key")).find("cannot load a PEM certificate"), std::string::npos);
  EXPECT_TRUE(server_->bound().empty());
}

TEST_F(EndpointsTest, ReplaceKeepsWhatStaysAndClosesTheRest) {
  const auto ports = free_ports(3);
  const uint16_t pa = ports[0], pb = ports[1], pc = ports[2];
  const Endpoint a{"127.0.0.1", pa, "", "", "a"}, b{"127.0.0.1", pb, "", "", "b"};
  ASSERT_TRUE(server_->open({a, b}).ok());
  server_->start();
  Client ca(pa), cb(pb);
  ASSERT_EQ(ca.request("GET", "/peer").status, 200);
  ASSERT_EQ(cb.request("GET", "/peer").status, 200);

  const Endpoint c{"127.0.0.1", pc, "", "", "c"};
  ASSERT_TRUE(server_->replace({a, c}).ok());
  cb.read_until_close(5s);
  EXPECT_TRUE(cb.closed());  // b went, with its connection
  EXPECT_TRUE(wait_until([&] { return !can_connect(pb); }));
  EXPECT_EQ(ca.request("GET", "/peer").status, 200);  // a stayed: same socket, same connection
  EXPECT_EQ(Client(pc).request("GET", "/peer").status, 200);
  ASSERT_EQ(server_->bound().size(), 2u);
  EXPECT_EQ(server_->bound()[1].port, pc);

  // A replacement that cannot be bound changes nothing.
  auto bad = server_->replace({Endpoint{"203.0.113.7", 8080, "", "", ""}});
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(ca.request("GET", "/peer").status, 200);
  EXPECT_TRUE(can_connect(pc));
  EXPECT_EQ(server_->bound().size(), 2u);

  // Same socket, other settings: the socket stays, its connections do not.
  Endpoint renamed = a;
  renamed.name = "renamed";
  ASSERT_TRUE(server_->replace({renamed, c}).ok());
  ca.read_until_close(5s);
  EXPECT_TRUE(ca.closed());
  EXPECT_EQ(Client(pa).request("GET", "/peer").status, 200);
  EXPECT_EQ(server_->bound()[0].name, "renamed");

  server_->close_all();
  EXPECT_TRUE(server_->bound().empty());
  EXPECT_TRUE(wait_until([&] { return !can_connect(pa) && !can_connect(pc); }));
}

TEST_F(EndpointsTest, OpenRefusesAnEndpointAlreadyOpen) {
  const uint16_t p = free_ports(1)[0];
  ASSERT_TRUE(server_->open({Endpoint{"127.0.0.1", p, "", "", ""}}).ok());
  auto again = server_->open({Endpoint{"127.0.0.1", p, "", "", "x"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "http api listener 127.0.0.1:" + std::to_string(p) + ": already open");
}

TEST_F(EndpointsTest, StopClosesConnectionsAndIsFinal) {
  ASSERT_TRUE(server_->open({Endpoint{"127.0.0.1", 0, "", "", ""}}).ok());
  server_->start();
  const uint16_t port = server_->bound().at(0).port;
  Client c(port);
  ASSERT_EQ(c.request("GET", "/peer").status, 200);
  server_->stop();
  c.read_until_close(5s);
  EXPECT_TRUE(c.closed());
  EXPECT_FALSE(can_connect(port));
  EXPECT_FALSE(server_->open({Endpoint{"127.0.0.1", 0, "", "", ""}}).ok());
}

}  // namespace
}  // namespace petrel::web::test
