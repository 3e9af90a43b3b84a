// http_dir: which file a request gets (or which refusal), nothing outside the directory
// whatever the path says, and the WebSocket transport serving a file larger than the
// socket's buffer as the socket drains, next to the upgrade it still does.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "net/http_files.h"
#include "net/websocket_transport.h"
#include "test_io.h"

namespace petrel::net {
namespace {

namespace fs = std::filesystem;

struct Site {
  fs::path base;  // holds www/ (the http_dir) and a secret file beside it
  fs::path www;
  std::string big;
  Site() {
    char tmpl[] = "/tmp/petrel-http-XXXXXX";
    base = ::mkdtemp(tmpl);
    www = base / "www";
    fs::create_directories(www / "sub");
    fs::create_directories(www / "empty-dir");
    write(www / "index.html", "<h1>home</h1>\n");
    write(www / "sub" / "app.js", "console.log(1);\n");
    write(www / "sub" / "index.html", "<p>sub</p>\n");
    write(www / ".env", "PASSWORD=x\n");
    write(www / "empty.txt", "");
    write(base / "secret.txt", "not for the web\n");
    fs::create_symlink(base / "secret.txt", www / "leak.txt");
    fs::create_symlink(www / "sub" / "app.js", www / "alias.js");  // a link that stays inside
    std::mt19937 rng(7);
    big.resize(700 * 1024);
    for (auto& c : big) c = static_cast<char>(rng());
    write(www / "big.bin", big);
  }
  ~Site() {
    std::error_code ec;
    fs::remove_all(base, ec);
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
  std::shared_ptr<const HttpFiles> files() const {
    std::string err;
    auto f = HttpFiles::open(www.string(), err);
    EXPECT_TRUE(f) << err;
    return f;
  }
};

std::string read_fd(int fd, uint64_t n) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r <= 0) break;
    got += size_t(r);
  }
  out.resize(got);
  return out;
}

struct Got {
  int status;
  std::string head, body;
};

Got get(const HttpFiles& f, std::string_view target, std::string_view method = "GET") {
  HttpFiles::Response r = f.respond(method, target);
  Got g{r.status, r.head, r.body};
  if (r.fd >= 0) {
    g.body = read_fd(r.fd, r.length);
    ::close(r.fd);
  }
  return g;
}

bool has(const std::string& head, const std::string& line) { return head.find(line + "\r\n") != std::string::npos; }

TEST(HttpFiles, TheDirectoryMustExistAndBeADirectory) {
  Site site;
  std::string err;
  EXPECT_FALSE(HttpFiles::open((site.base / "nope").string(), err));
  EXPECT_NE(err.find((site.base / "nope").string()), std::string::npos) << err;
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
  EXPECT_FALSE(HttpFiles::open((site.www / "index.html").string(), err));
  EXPECT_NE(err.find("not a directory"), std::string::npos) << err;
}

TEST(HttpFiles, FilesWithTheirTypeAndLength) {
  Site site;
  auto f = site.files();
  Got g = get(*f, "/");
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "<h1>home</h1>\n");
  EXPECT_EQ(g.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << g.head;
  EXPECT_TRUE(has(g.head, "Content-Type: text/html; charset=utf-8")) << g.head;
  EXPECT_TRUE(has(g.head, "Content-Length: 14")) << g.head;
  EXPECT_TRUE(has(g.head, "Connection: close")) << g.head;
  EXPECT_NE(g.head.find("\r\nDate: "), std::string::npos) << g.head;
  EXPECT_EQ(g.head.substr(g.head.size() - 4), "\r\n\r\n");

  g = get(*f, "/sub/app.js?v=3#top");
  EXPECT_EQ(g.status, 200);
  EXPECT_EQ(g.body, "console.log(1);\n");
  EXPECT_TRUE(has(g.head, "Content-Type: text/javascript; charset=utf-8")) << g.head;
  EXPECT_EQ(get(*f, "/sub/").body, "<p>sub</p>\n");            // a directory's index.html
  EXPECT_EQ(get(*f, "//sub/./app.js").status, 200);              // empty and "." segments
  EXPECT_EQ(get(*f, "/s%75b/app%2Ejs").body, "console.log(1);\n");  // percent-encoded
  EXPECT_EQ(get(*f, "/alias.js").body, "console.log(1);\n");     // a link that stays inside
  g = get(*f, "/empty.txt");
  EXPECT_EQ(g.status, 200);
  EXPECT_TRUE(has(g.head, "Content-Length: 0"));
  EXPECT_EQ(get(*f, "/big.bin").body, site.big);
}

TEST(HttpFiles, HeadSendsTheHeadOnly) {
  Site site;
  auto f = site.files();
  HttpFiles::Response r = f->respond("HEAD", "/big.bin");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.fd, -1);
  EXPECT_TRUE(r.body.empty());
  EXPECT_TRUE(has(r.head, "Content-Length: " + std::to_string(site.big.size()))) << r.head;
  EXPECT_TRUE(has(r.head, "Content-Type: application/octet-stream")) << r.head;
  r = f->respond("HEAD", "/missing");
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(r.body.empty());
}

TEST(HttpFiles, NothingOutsideTheDirectory) {
  Site site;
  auto f = site.files();
  for (const char* target : {"/../secret.txt", "/sub/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
                             "/sub/%2e%2e/%2e%2e/secret.txt"}) {
    SCOPED_TRACE(target);
    Got g = get(*f, target);
    EXPECT_EQ(g.status, 403);
    EXPECT_EQ(g.body.find("not for the web"), std::string::npos);
  }
  EXPECT_EQ(get(*f, "/leak.txt").status, 403);  // a link that leads out
  for (const char* target : {"/..%2fsecret.txt", "/a%2Fb", "/x%00y", "/bad%zz", "/cut%4", "relative", "http://h/"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(get(*f, target).status, 400);
  }
  EXPECT_EQ(get(*f, "/.env").status, 404);  // hidden files are not served
}

TEST(HttpFiles, MissingDirectoriesAndMethods) {
  Site site;
  auto f = site.files();
  EXPECT_EQ(get(*f, "/nope.html").status, 404);
  EXPECT_EQ(get(*f, "/empty-dir/").status, 404);  // no index.html, and no listing
  Got g = get(*f, "/sub");
  EXPECT_EQ(g.status, 301);
  EXPECT_TRUE(has(g.head, "Location: /sub/")) << g.head;
  g = get(*f, "/sub?x=1");
  EXPECT_TRUE(has(g.head, "Location: /sub/?x=1")) << g.head;
  g = get(*f, "/", "POST");
  EXPECT_EQ(g.status, 405);
  EXPECT_TRUE(has(g.head, "Allow: GET, HEAD")) << g.head;
  EXPECT_EQ(g.body, "405 Method Not Allowed\n");
}

TEST(HttpFiles, ContentTypes) {
  EXPECT_EQ(content_type_for("/a/b.CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(content_type_for("x.json"), "application/json");
  EXPECT_EQ(content_type_for("x.svg"), "image/svg+xml");
  EXPECT_EQ(content_type_for("x.wasm"), "application/wasm");
  EXPECT_EQ(content_type_for("Makefile"), "application/octet-stream");
  EXPECT_EQ(content_type_for("dir.d/file"), "application/octet-stream");
}

// ---- served by the WebSocket transport over a socket pair ----------------------------

// Reads what the client end gets until the server shuts its side (EOF), calling the
// transport's flush as Connection does when the socket drains.
std::string download(WebSocketTransport& t, test::SocketPair& sp, bool& eof) {
  std::string out;
  char buf[65536];
  eof = false;
  for (int rounds = 0; rounds < 10000 && !eof; ++rounds) {
    for (;;) {
      const ssize_t n = ::recv(sp.client, buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, size_t(n));
        continue;
      }
      if (n == 0) eof = true;
      break;
    }
    if (!eof && t.has_pending_output()) {
      EXPECT_EQ(t.write(sp.server, nullptr, 0).status, IoStatus::kOk);
    }
  }
  return out;
}

TEST(HttpFilesTransport, ALargeFileGoesOutAsTheSocketDrainsThenTheConnectionEnds) {
  Site site;
  test::SocketPair sp;
  WebSocketTransport t(nullptr, 0, nullptr, site.files());
  sp.client_send("GET /big.bin HTTP/1.1\r\nHost: router\r\n\r\n");
  std::string none;
  EXPECT_EQ(test::drain(t, sp.server, none), IoStatus::kWouldBlock);
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(t.established());
  EXPECT_TRUE(t.has_pending_output());  // 700 KiB do not fit a socket pair's buffer
  bool eof = false;
  const std::string reply = download(t, sp, eof);
  ASSERT_TRUE(eof) << "the server shuts its write side once the reply is out";
  const size_t end = reply.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_TRUE(has(reply.substr(0, end + 2), "Content-Length: " + std::to_string(site.big.size())));
  EXPECT_TRUE(reply.substr(end + 4) == site.big) << "body of " << reply.size() - end - 4 << " bytes";
  sp.close_client();
  EXPECT_EQ(test::drain(t, sp.server, none), IoStatus::kError);
  EXPECT_EQ(t.error(), "HTTP GET /big.bin 200 (" + std::to_string(site.big.size()) + " bytes)");
  t.shutdown(sp.server);
}

TEST(HttpFilesTransport, AClientThatLeavesEarlyIsLoggedSo) {
  Site site;
  test::SocketPair sp;
  WebSocketTransport t(nullptr, 0, nullptr, site.files());
  sp.client_send("GET /big.bin HTTP/1.1\r\nHost: router\r\n\r\n");
  std::string none;
  EXPECT_EQ(test::drain(t, sp.server, none), IoStatus::kWouldBlock);
  sp.close_client();
  EXPECT_EQ(test::drain(t, sp.server, none), IoStatus::kError);
  EXPECT_NE(t.error().find("the client left before the whole reply was sent"), std::string::npos) << t.error();
  t.shutdown(sp.server);  // closes the file; nothing more is sent
}

TEST(HttpFilesTransport, ErrorsAndTheUpgradeStillWork) {
  Site site;
  {
    test::SocketPair sp;
    WebSocketTransport t(nullptr, 0, nullptr, site.files());
    sp.client_send("GET /../secret.txt HTTP/1.1\r\nHost: router\r\n\r\n");
    std::string none;
    EXPECT_EQ(test::drain(t, sp.server, none), IoStatus::kWouldBlock);
    bool eof = false;
    const std::string reply = download(t, sp, eof);
    EXPECT_TRUE(eof);
    EXPECT_EQ(reply.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u) << reply;
    EXPECT_EQ(reply.find("not for the web"), std::string::npos);
  }
  {
    test::SocketPair sp;
    WebSocketTransport t(nullptr, 0, nullptr, site.files());
    sp.client_send(
        "GET /mqtt HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Protocol: mqtt\r\n\r\n");
    std::string none;
    EXPECT_EQ(test::drain(t, sp.server, none), IoStatus::kWouldBlock);
    EXPECT_TRUE(t.established());
    EXPECT_EQ(sp.client_read_all().rfind("HTTP/1.1 101 Switching Protocols\r\n", 0), 0u);
  }
  {
    // Without http_dir a plain request is refused, as before.
    test::SocketPair sp;
    WebSocketTransport t(nullptr, 0);
    sp.client_send("GET / HTTP/1.1\r\nHost: router\r\n\r\n");
    std::string none;
    EXPECT_EQ(test::drain(t, sp.server, none), IoStatus::kError);
    EXPECT_EQ(sp.client_read_all().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  }
}

}  // namespace
}  // namespace petrel::net
