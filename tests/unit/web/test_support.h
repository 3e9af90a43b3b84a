#pragma once
// Helpers for the web tests: a thread-safe test clock, a temporary directory, password
// files, a server on 127.0.0.1 port 0, and a small synchronous HTTP client over Beast
// (every operation with a deadline, so a broken server fails a test instead of hanging it).
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "auth/password_hash.h"
#include "common/clock.h"
#include "common/log.h"
#include "web/auth.h"
#include "web/http_server.h"
#include "web/json.h"
#include "web/router.h"

namespace petrel::web::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// The server thread reads it while the test advances it.
class TestClock final : public Clock {
 public:
  int64_t now_ms() const override { return ms_.load(); }
  int64_t wall_seconds() const override { return 1'700'000'000 + ms_.load() / 1000; }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }

 private:
  std::atomic<int64_t> ms_{1'000'000};
};

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "petrel-web-XXXXXX").string();
    if (char* p = ::mkdtemp(tmpl.data())) path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
    return path(name);
  }

 private:
  std::filesystem::path path_;
};

// "user:hash" lines for a Mosquitto password file (PBKDF2, few iterations: tests are fast).
inline std::string password_lines(const std::vector<std::pair<std::string, std::string>>& users) {
  std::string out;
  for (const auto& [user, password] : users) {
    auto h = auth::hash_password(password, auth::HashParams{});
    EXPECT_TRUE(h.ok());
    out += user + ":" + auth::encode_password_hash(*h) + "\n";
  }
  return out;
}

// Polls cond until it holds or the deadline passes.
inline bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline = 5s) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

inline std::string basic(const std::string& user, const std::string& password) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) n |= uint8_t(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= uint8_t(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return "Basic " + out;
}

struct Answer {
  int status = 0;  // 0: no response (error says why)
  std::string error;
  std::string body;
  http::fields headers;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : std::string(it->value());
  }
  boost::json::object json() const {
    auto o = parse_json_object(body);
    return o ? *o : boost::json::object{};
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One connection to the server; keeps it open across requests (keep-alive).
class Client {
 public:
  explicit Client(uint16_t port, std::chrono::milliseconds deadline = 5s) : stream_(ioc_), deadline_(deadline) {
    stream_.expires_after(deadline_);
    stream_.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                          [this](beast::error_code ec) { ec_ = ec; });
    run();
    connected_ = !ec_;
  }
  bool connected() const { return connected_; }

  Answer request(const std::string& method, const std::string& target, const Headers& headers = {},
                const std::string& body = {}) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT") {
      req.body() = body;
      req.prepare_payload();
    }
    Answer out;
    stream_.expires_after(deadline_);
    http::async_write(stream_, req, [this](beast::error_code ec, size_t) { ec_ = ec; });
    run();
    if (ec_) {
      out.error = "write: " + ec_.message();
      return out;
    }
    http::response_parser<http::string_body> parser;
    parser.skip(method == "HEAD");
    parser.body_limit(64 * 1024 * 1024);
    stream_.expires_after(deadline_);
    http::async_read(stream_, buffer_, parser, [this](beast::error_code ec, size_t) { ec_ = ec; });
    run();
    if (ec_) {
      out.error = "read: " + ec_.message();
      return out;
    }
    auto res = parser.release();
    out.status = int(res.result_int());
    out.body = res.body();
    out.headers = res.base();
    return out;
  }

  void write_raw(const std::string& bytes) {
    stream_.expires_after(deadline_);
    asio::async_write(stream_, asio::buffer(bytes), [this](beast::error_code ec, size_t) { ec_ = ec; });
    run();
  }

  // Everything the server sends until it closes the connection (or the deadline passes:
  // then closed() is false).
  std::string read_until_close(std::chrono::milliseconds deadline) {
    std::string out(buffer_.size(), '\0');
    asio::buffer_copy(asio::buffer(out), buffer_.data());
    buffer_.consume(buffer_.size());
    stream_.expires_after(deadline);
    std::string more;
    asio::async_read(stream_, asio::dynamic_buffer(more), [this](beast::error_code ec, size_t) { ec_ = ec; });
    run();
    closed_ = ec_ && ec_ != beast::error::timeout;
    return out + more;
  }
  bool closed() const { return closed_; }

  // Appends what arrives next; false on error or at the deadline (which closes the
  // connection, as tcp_stream does on a timeout).
  bool read_some(std::string& into, std::chrono::milliseconds deadline = 5s) {
    std::array<char, 4096> buf;
    stream_.expires_after(deadline);
    size_t got = 0;
    stream_.async_read_some(asio::buffer(buf), [&](beast::error_code ec, size_t n) {
      ec_ = ec;
      got = n;
    });
    run();
    into.append(buf.data(), got);
    return !ec_;
  }

  tcp::socket& socket() { return stream_.socket(); }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds deadline_;
  beast::error_code ec_;
  bool connected_ = false;
  bool closed_ = false;
};

// A server on 127.0.0.1, port 0, with users admin/secret and bob/hunter2, the built-in
// auth routes and a clock the test moves.
class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    LogSettings quiet;
    quiet.levels = kLogError;
    log_.configure(quiet);
    password_file_ = dir_.write("passwd", password_lines({{"admin", "secret"}, {"bob", "hunter2"}}));
    ASSERT_TRUE(auth_.set_password_file(password_file_).ok());
    auth_.set_audit([this](std::string_view line) {
      std::lock_guard lock(audit_mu_);
      audit_.emplace_back(line);
    });
    add_auth_routes(router_, auth_);
  }

  // Opens and starts the server (after the test added its routes and limits).
  void start() {
    server_ = std::make_unique<HttpServer>(log_, router_, auth_, limits_);
    auto r = server_->open({Endpoint{"127.0.0.1", 0, "", "", "test"}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    server_->start();
    port_ = server_->bound().at(0).port;
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  Answer get(const std::string& target, const Headers& headers = {}) { return Client(port_).request("GET", target, headers); }
  Answer post(const std::string& target, const Headers& headers = {}, const std::string& body = "{}") {
    return Client(port_).request("POST", target, headers, body);
  }

  // Logs in; returns {token, csrf token}.
  std::pair<std::string, std::string> login(const std::string& user, const std::string& password) {
    Answer r = post("/api/petrel/v1/login", {{"Content-Type", "application/json"}},
                   R"({"username":")" + user + R"(","password":")" + password + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    auto o = r.json();
    if (!o.contains("token")) return {};
    return {std::string(o["token"].as_string()), std::string(o["csrf_token"].as_string())};
  }

  std::vector<std::string> audit_lines() {
    std::lock_guard lock(audit_mu_);
    return audit_;
  }

  Logger log_;
  TestClock clock_;
  AuthOptions auth_options_;
  Auth auth_{auth_options_, &clock_};
  Router router_;
  Limits limits_;
  TempDir dir_;
  std::string password_file_;
  std::unique_ptr<HttpServer> server_;
  uint16_t port_ = 0;
  std::mutex audit_mu_;
  std::vector<std::string> audit_;
};

}  // namespace petrel::web::test
