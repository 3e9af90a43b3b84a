// SOCKS5: the --proxy URL parser, the handshake bytes each way (RFC 1928 / RFC 1929) and
// their failures, and async_open through a fake proxy on a loopback socket.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <thread>

#include "client/socks5.h"
#include "fake_server.h"

namespace petrel::client::test {
namespace {

using socks5::Handshake;
using socks5::parse_url;

// ---- URL -----------------------------------------------------------------------------
ProxyOptions parsed(std::string_view url) {
  std::string err;
  auto p = parse_url(url, err);
  EXPECT_TRUE(p) << url << ": " << err;
  return p.value_or(ProxyOptions{});
}

std::string url_error(std::string_view url) {
  std::string err;
  EXPECT_FALSE(parse_url(url, err)) << url;
  return err;
}

TEST(Socks5Url, HostOnlyDefaultsToPort1080WithoutAuthentication) {
  auto p = parsed("socks5h://proxy.example");
  EXPECT_EQ(p.host, "proxy.example");
  EXPECT_EQ(p.port, 1080);
  EXPECT_EQ(p.username, "");
  EXPECT_EQ(p.password, "");
}

TEST(Socks5Url, UserPasswordHostPort) {
  auto p = parsed("socks5h://alice:s3cret@10.0.0.1:9050");
  EXPECT_EQ(p.host, "10.0.0.1");
  EXPECT_EQ(p.port, 9050);
  EXPECT_EQ(p.username, "alice");
  EXPECT_EQ(p.password, "s3cret");
}

TEST(Socks5Url, UsernameWithoutPassword) {
  auto p = parsed("socks5h://bob@h");
  EXPECT_EQ(p.username, "bob");
  EXPECT_EQ(p.password, "");
  EXPECT_EQ(parsed("socks5h://bob:@h").password, "");
}

TEST(Socks5Url, PercentEscapesInUsernameAndPassword) {
  auto p = parsed("socks5h://me%40corp:a%3Ab%3ac%25d%40@h:1");
  EXPECT_EQ(p.username, "me@corp");
  EXPECT_EQ(p.password, "a:b:c%d@");
  // Other escapes are plain percent-decoding too.
  EXPECT_EQ(parsed("socks5h://%41%2f:x@h").username, "A/");
  // Only the first ':' separates the password, as in mosquitto.
  EXPECT_EQ(parsed("socks5h://u:p:q@h").password, "p:q");
}

TEST(Socks5Url, BracketedIpv6AndTrailingSlash) {
  auto p = parsed("socks5h://u:p@[::1]:1081");
  EXPECT_EQ(p.host, "::1");
  EXPECT_EQ(p.port, 1081);
  EXPECT_EQ(parsed("socks5h://[fe80::2]").port, 1080);
  EXPECT_EQ(parsed("socks5h://h:1082/").port, 1082);
}

TEST(Socks5Url, Errors) {
  EXPECT_EQ(url_error("http://h"), "Unsupported proxy protocol: http://h");
  EXPECT_NE(url_error("socks5://h").find("only socks5h://"), std::string::npos);
  EXPECT_EQ(url_error("SOCKS5H://h"), "Unsupported proxy protocol: SOCKS5H://h");
  EXPECT_EQ(url_error("socks5h://"), "Invalid proxy: host missing.");
  EXPECT_EQ(url_error("socks5h://u:p@"), "Invalid proxy: host missing.");
  EXPECT_EQ(url_error("socks5h://:1080"), "Invalid proxy: host missing.");
  EXPECT_EQ(url_error("socks5h://h:"), "Invalid proxy: port missing after ':'.");
  EXPECT_EQ(url_error("socks5h://h:0"), "Invalid proxy port 0");
  EXPECT_EQ(url_error("socks5h://h:65536"), "Invalid proxy port 65536");
  EXPECT_EQ(url_error("socks5h://h:12ab"), "Invalid proxy port 12ab");
  EXPECT_EQ(url_error("socks5h://h:-1"), "Invalid proxy port -1");
  EXPECT_EQ(url_error("socks5h://@h"), "Invalid proxy: empty username.");
  EXPECT_EQ(url_error("socks5h://:pw@h"), "Invalid proxy: empty username.");
  EXPECT_NE(url_error("socks5h://a@b@h").find("%40"), std::string::npos);
  EXPECT_NE(url_error("socks5h://u%zz@h").find("bad %-escape"), std::string::npos);
  EXPECT_NE(url_error("socks5h://u:p%4@h").find("bad %-escape"), std::string::npos);
  EXPECT_NE(url_error("socks5h://u:p%@h").find("bad %-escape"), std::string::npos);
  EXPECT_NE(url_error("socks5h://::1").find("brackets"), std::string::npos);
  EXPECT_NE(url_error("socks5h://[::1").find("']'"), std::string::npos);
  EXPECT_NE(url_error("socks5h://[::1]1080").find("after the IPv6 address"), std::string::npos);
  EXPECT_NE(url_error("socks5h://h/x").find("'/x'"), std::string::npos);
  EXPECT_NE(url_error("socks5h://h?x").find("'?x'"), std::string::npos);
  EXPECT_NE(url_error("socks5h://" + std::string(256, 'u') + "@h").find("255"), std::string::npos);
  EXPECT_NE(url_error("socks5h://" + std::string(256, 'h')).find("255"), std::string::npos);
}

TEST(Socks5Url, PercentDecode) {
  EXPECT_EQ(socks5::percent_decode("a%25b"), "a%b");
  EXPECT_EQ(socks5::percent_decode(""), "");
  EXPECT_FALSE(socks5::percent_decode("%"));
  EXPECT_FALSE(socks5::percent_decode("%2"));
  EXPECT_FALSE(socks5::percent_decode("%g0"));
}

// ---- handshake bytes -----------------------------------------------------------------
ProxyOptions no_auth() { return ProxyOptions{"proxy", 1080, "", ""}; }
ProxyOptions user_pass(std::string u = "u", std::string p = "pw") { return ProxyOptions{"proxy", 1080, u, p}; }

// Runs a handshake up to the CONNECT request (no authentication).
Handshake::Step to_connect(Handshake& h) {
  EXPECT_EQ(h.start().send, hex("05 01 00"));
  return h.on_read(hex("05 00"));
}

TEST(Socks5Handshake, NoAuthenticationDomainName) {
  Handshake h(no_auth(), "broker.test", 1883);
  auto s = h.start();
  EXPECT_EQ(s.send, hex("05 01 00"));  // VER 5, one method: no authentication
  EXPECT_EQ(s.want, 2u);
  s = h.on_read(hex("05 00"));
  ASSERT_FALSE(s.error);
  // VER CMD=CONNECT RSV ATYP=3 LEN "broker.test" PORT=1883
  EXPECT_EQ(s.send, hex("05 01 00 03 0b") + "broker.test" + hex("07 5b"));
  EXPECT_EQ(s.want, 5u);
  s = h.on_read(hex("05 00 00 01 7f"));  // success, BND.ADDR IPv4: 3 more + port
  ASSERT_FALSE(s.error);
  EXPECT_EQ(s.want, 5u);
  EXPECT_TRUE(s.send.empty());
  s = h.on_read(hex("00 00 01 10 92"));
  EXPECT_TRUE(s.done);
  EXPECT_FALSE(s.error);
}

TEST(Socks5Handshake, UsernamePassword) {
  Handshake h(user_pass("alice", "s3cret"), "broker.test", 8883);
  auto s = h.start();
  EXPECT_EQ(s.send, hex("05 02 00 02"));  // no authentication, username/password
  s = h.on_read(hex("05 02"));
  ASSERT_FALSE(s.error);
  EXPECT_EQ(s.send, hex("01 05") + "alice" + hex("06") + "s3cret");
  EXPECT_EQ(s.want, 2u);
  s = h.on_read(hex("01 00"));
  ASSERT_FALSE(s.error);
  EXPECT_EQ(s.send, hex("05 01 00 03 0b") + "broker.test" + hex("22 b3"));
}

TEST(Socks5Handshake, EmptyPasswordAndProxyChoosingNoAuthentication) {
  Handshake h(user_pass("u", ""), "b", 1);
  h.start();
  EXPECT_EQ(h.on_read(hex("05 02")).send, hex("01 01 75 00"));
  Handshake h2(user_pass(), "b", 1);
  h2.start();
  EXPECT_EQ(h2.on_read(hex("05 00")).send, hex("05 01 00 03 01 62 00 01"));  // straight to CONNECT
}

TEST(Socks5Handshake, AddressLiteralsAreSentAsAddresses) {
  Handshake v4(no_auth(), "192.168.1.20", 1883);
  EXPECT_EQ(to_connect(v4).send, hex("05 01 00 01 c0 a8 01 14 07 5b"));
  Handshake v6(no_auth(), "[2001:db8::1]", 1883);
  EXPECT_EQ(to_connect(v6).send, hex("05 01 00 04 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 07 5b"));
  EXPECT_EQ(v6.target(), "[2001:db8::1]:1883");
  Handshake v6b(no_auth(), "::1", 1);
  EXPECT_EQ(to_connect(v6b).send, hex("05 01 00 04") + std::string(15, '\0') + hex("01 00 01"));
}

TEST(Socks5Handshake, ReplyLengthFollowsTheAddressType) {
  Handshake d(no_auth(), "b", 1);
  to_connect(d);
  EXPECT_EQ(d.on_read(hex("05 00 00 03 0a")).want, 12u);  // 10-byte name + port
  Handshake v6(no_auth(), "b", 1);
  to_connect(v6);
  EXPECT_EQ(v6.on_read(hex("05 00 00 04 00")).want, 17u);  // 15 more address bytes + port
  Handshake empty(no_auth(), "b", 1);
  to_connect(empty);
  auto s = empty.on_read(hex("05 00 00 03 00"));
  EXPECT_EQ(s.want, 2u);
  EXPECT_TRUE(empty.on_read(hex("00 00")).done);
}

struct ReplyCase {
  uint8_t code;
  TransportErrorKind kind;
  const char* text;
};

TEST(Socks5Handshake, ReplyCodes) {
  const ReplyCase cases[] = {
      {1, TransportErrorKind::kProxy, "general SOCKS server failure"},
      {2, TransportErrorKind::kProxyRefused, "connection not allowed by ruleset"},
      {3, TransportErrorKind::kProxyNoRoute, "network unreachable"},
      {4, TransportErrorKind::kProxyNoRoute, "host unreachable"},
      {5, TransportErrorKind::kProxyNoRoute, "connection refused"},
      {6, TransportErrorKind::kProxy, "TTL expired"},
      {7, TransportErrorKind::kProxy, "command not supported"},
      {8, TransportErrorKind::kProxy, "address type not supported"},
      {9, TransportErrorKind::kProxy, "unassigned reply code 0x09"},
  };
  for (const auto& c : cases) {
    Handshake h(no_auth(), "broker.test", 1883);
    to_connect(h);
    auto s = h.on_read(std::string("\x05", 1) + char(c.code) + hex("00 01 00"));
    ASSERT_TRUE(s.error) << int(c.code);
    EXPECT_EQ(s.error->kind, c.kind) << int(c.code);
    EXPECT_EQ(s.error->message, std::string("SOCKS5 proxy could not connect to broker.test:1883: ") + c.text);
    EXPECT_EQ(socks5::reply_text(c.code), c.text);
  }
}

TEST(Socks5Handshake, AuthenticationFailures) {
  Handshake wrong(user_pass(), "b", 1);
  wrong.start();
  wrong.on_read(hex("05 02"));
  auto s = wrong.on_read(hex("01 01"));
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->kind, TransportErrorKind::kProxy);  // mosquitto_pub: MOSQ_ERR_PROXY
  EXPECT_EQ(s.error->message, "SOCKS5 proxy authentication failed: username or password refused");

  Handshake needs_auth(no_auth(), "b", 1);
  needs_auth.start();
  s = needs_auth.on_read(hex("05 ff"));
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->kind, TransportErrorKind::kProxyRefused);
  EXPECT_EQ(s.error->message, "SOCKS5 proxy requires authentication, but no username was given");

  Handshake none_ok(user_pass(), "b", 1);
  none_ok.start();
  s = none_ok.on_read(hex("05 ff"));
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->kind, TransportErrorKind::kProxyRefused);
  EXPECT_NE(s.error->message.find("none of the offered authentication methods"), std::string::npos);

  Handshake not_offered(no_auth(), "b", 1);
  not_offered.start();
  s = not_offered.on_read(hex("05 02"));  // username/password, which we did not offer
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->kind, TransportErrorKind::kProxy);
  EXPECT_NE(s.error->message.find("0x02, which was not offered"), std::string::npos);
}

TEST(Socks5Handshake, MalformedReplies) {
  Handshake http(no_auth(), "b", 1);
  http.start();
  auto s = http.on_read("HT");  // an HTTP server, not a SOCKS5 proxy
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->kind, TransportErrorKind::kProxy);
  EXPECT_NE(s.error->message.find("is it a SOCKS5 proxy?"), std::string::npos);

  Handshake bad_auth(user_pass(), "b", 1);
  bad_auth.start();
  bad_auth.on_read(hex("05 02"));
  EXPECT_TRUE(bad_auth.on_read(hex("07 00")).error);

  Handshake bad_ver(no_auth(), "b", 1);
  to_connect(bad_ver);
  EXPECT_TRUE(bad_ver.on_read(hex("04 00 00 01 00")).error);

  Handshake bad_atyp(no_auth(), "b", 1);
  to_connect(bad_atyp);
  s = bad_atyp.on_read(hex("05 00 00 02 00"));
  ASSERT_TRUE(s.error);
  EXPECT_NE(s.error->message.find("address type 0x02"), std::string::npos);

  Handshake after_end(no_auth(), "b", 1);
  to_connect(after_end);
  after_end.on_read(hex("05 00 00 03 00"));
  EXPECT_TRUE(after_end.on_read(hex("00 00")).done);
  EXPECT_TRUE(after_end.on_read(hex("00")).error);
}

TEST(Socks5Handshake, OversizedNamesAreConfigErrors) {
  Handshake long_host(no_auth(), std::string(256, 'h'), 1);
  auto s = to_connect(long_host);
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->kind, TransportErrorKind::kConfig);
  Handshake long_user(user_pass(std::string(256, 'u')), "b", 1);
  s = long_user.start();
  ASSERT_TRUE(s.error);
  EXPECT_EQ(s.error->kind, TransportErrorKind::kConfig);
}

// ---- async_open through a fake proxy on loopback ---------------------------------------
namespace ip = asio::ip;

// A one-connection fake proxy run by a thread with blocking reads (3 s receive timeout):
// `script` gets the accepted socket. Results are read after join().
class FakeProxy {
 public:
  explicit FakeProxy(std::function<void(ip::tcp::socket&)> script)
      : acceptor_(io_, ip::tcp::endpoint(ip::make_address("127.0.0.1"), 0)) {
    port = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, script = std::move(script)] {
      boost::system::error_code ec;
      ip::tcp::socket s(io_);
      acceptor_.accept(s, ec);
      if (ec) return;
      timeval tv{3, 0};
      ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      script(s);
    });
  }
  ~FakeProxy() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes a blocked accept()
    join();
    boost::system::error_code ec;
    acceptor_.close(ec);
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  static std::string read(ip::tcp::socket& s, size_t n) {
    std::string b(n, '\0');
    boost::system::error_code ec;
    const size_t got = asio::read(s, asio::buffer(b), ec);
    b.resize(got);
    return b;
  }
  static void write(ip::tcp::socket& s, const std::string& b) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(b), ec);
  }
  uint16_t port = 0;

 private:
  asio::io_context io_;
  ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

struct OpenResult {
  bool finished = false;
  StreamPtr stream;
  std::optional<TransportError> error;
};

void open_through(asio::io_context& io, uint16_t proxy_port, OpenResult& r, std::string user = "") {
  TransportOptions o;
  o.host = "broker.test";
  o.port = 1883;
  o.proxy = ProxyOptions{"127.0.0.1", proxy_port, std::move(user), "pw"};
  async_open(io.get_executor(), o, [&r](StreamPtr s, const TransportError* e) {
    r.finished = true;
    r.stream = std::move(s);
    if (e) r.error = *e;
  });
  EXPECT_TRUE(run_until(io, [&] { return r.finished; }));
}

TEST(Socks5Transport, TunnelCarriesTheServerBytesAfterTheReply) {
  std::string greeting, auth, request, from_client;
  FakeProxy proxy([&](ip::tcp::socket& s) {
    greeting = FakeProxy::read(s, 4);
    FakeProxy::write(s, hex("05 02"));
    auth = FakeProxy::read(s, 6);
    FakeProxy::write(s, hex("01 00"));
    request = FakeProxy::read(s, 4 + 1 + 11 + 2);
    // The reply (domain BND.ADDR) and the server's first bytes in one segment: the
    // handshake must read exactly its reply and leave "hello" for the stream.
    FakeProxy::write(s, hex("05 00 00 03 03") + "abc" + hex("04 d2") + "hello");
    from_client = FakeProxy::read(s, 4);
  });
  asio::io_context io;
  OpenResult r;
  open_through(io, proxy.port, r, "u");
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_TRUE(r.stream);
  EXPECT_EQ(greeting, hex("05 02 00 02"));
  EXPECT_EQ(auth, hex("01 01 75 02 70 77"));
  EXPECT_EQ(request, hex("05 01 00 03 0b") + "broker.test" + hex("07 5b"));
  std::string got(16, '\0');
  size_t n = 0;
  r.stream->async_read_some(asio::buffer(got), [&](const boost::system::error_code&, size_t k) { n = k; });
  EXPECT_TRUE(run_until(io, [&] { return n > 0; }));
  EXPECT_EQ(got.substr(0, n), "hello");
  bool wrote = false;
  r.stream->async_write(asio::buffer("ping", 4), [&](const boost::system::error_code&, size_t) { wrote = true; });
  EXPECT_TRUE(run_until(io, [&] { return wrote; }));
  proxy.join();
  EXPECT_EQ(from_client, "ping");
  r.stream->close();
}

TEST(Socks5Transport, RefusedConnectIsOneLine) {
  FakeProxy proxy([](ip::tcp::socket& s) {
    FakeProxy::read(s, 3);
    FakeProxy::write(s, hex("05 00"));
    FakeProxy::read(s, 18);
    FakeProxy::write(s, hex("05 05 00 01 00 00 00 00 00 00"));
  });
  asio::io_context io;
  OpenResult r;
  open_through(io, proxy.port, r);
  ASSERT_TRUE(r.error);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.error->kind, TransportErrorKind::kProxyNoRoute);
  EXPECT_EQ(r.error->message, "SOCKS5 proxy could not connect to broker.test:1883: connection refused");
}

TEST(Socks5Transport, ProxyClosingDuringTheHandshake) {
  FakeProxy proxy([](ip::tcp::socket& s) { FakeProxy::read(s, 3); });
  asio::io_context io;
  OpenResult r;
  open_through(io, proxy.port, r);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, TransportErrorKind::kProxy);
  EXPECT_EQ(r.error->message,
            "SOCKS5 proxy 127.0.0.1:" + std::to_string(proxy.port) + " closed the connection during the handshake");
}

TEST(Socks5Transport, NothingListeningAtTheProxy) {
  uint16_t port = 0;
  {
    asio::io_context tmp;
    ip::tcp::acceptor a(tmp, ip::tcp::endpoint(ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed again: nothing listens there now
  asio::io_context io;
  OpenResult r;
  open_through(io, port, r);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, TransportErrorKind::kProxyConnect);
  EXPECT_EQ(r.error->message,
            "Unable to connect to SOCKS5 proxy 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

}  // namespace
}  // namespace petrel::client::test
