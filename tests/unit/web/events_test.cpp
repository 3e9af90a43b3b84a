// Server-sent events: order, heartbeat, the client going, and the bound on unsent bytes.
#include <gtest/gtest.h>

#include "test_support.h"
#include "web/reply.h"

namespace petrel::web::test {
namespace {

class EventsTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    router_.add("GET", "/api/events", [this](Request&, std::shared_ptr<web::Reply> reply) {
      auto s = reply->start_events();
      s->on_close([this] { closed_ = true; });
      std::lock_guard lock(mu_);
      stream_ = s;
    });
  }

  std::shared_ptr<EventStream> stream() {
    std::lock_guard lock(mu_);
    return stream_;
  }

  std::string events_request() const {
    return "GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: " + basic("admin", "secret") + "\r\n\r\n";
  }

  std::mutex mu_;
  std::shared_ptr<EventStream> stream_;
  std::atomic<bool> closed_{false};
};

TEST_F(EventsTest, EventsArriveInOrderFromAnyThread) {
  start();
  Client c(port_);
  c.write_raw(events_request());
  ASSERT_TRUE(wait_until([&] { return stream() != nullptr; }));
  std::thread t([s = stream()] {
    for (int i = 0; i < 200; ++i) EXPECT_TRUE(s->send("tick", std::to_string(i)));
  });
  t.join();
  ASSERT_TRUE(stream()->send("multi", "line1\nline2"));
  std::string got;
  while (got.find("data: line2\n\n") == std::string::npos && c.read_some(got)) {
  }
  ASSERT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  const std::string head = got.substr(0, got.find("\r\n\r\n"));
  EXPECT_NE(head.find("Content-Type: text/event-stream\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Cache-Control: no-store\r\n"), std::string::npos);
  EXPECT_NE(head.find("X-Content-Type-Options: nosniff\r\n"), std::string::npos);
  EXPECT_EQ(head.find("Content-Length"), std::string::npos);
  size_t at = 0;
  for (int i = 0; i < 200; ++i) {
    const size_t next = got.find("event: tick\ndata: " + std::to_string(i) + "\n\n", at);
    ASSERT_NE(next, std::string::npos) << i;
    at = next + 1;
  }
  EXPECT_NE(got.find("event: multi\ndata: line1\ndata: line2\n\n", at), std::string::npos);
  EXPECT_TRUE(stream()->is_open());
}

TEST_F(EventsTest, HeartbeatCommentsKeepTheStreamAlive) {
  limits_.event_heartbeat = 50ms;
  start();
  Client c(port_);
  c.write_raw(events_request());
  std::string got;
  while (got.find(": keepalive\n\n") == std::string::npos && c.read_some(got)) {
  }
  EXPECT_NE(got.find(": keepalive\n\n"), std::string::npos);
}

TEST_F(EventsTest, OnCloseRunsWhenTheClientGoes) {
  start();
  {
    Client c(port_);
    c.write_raw(events_request());
    ASSERT_TRUE(wait_until([&] { return stream() != nullptr; }));
    EXPECT_FALSE(closed_);
  }
  ASSERT_TRUE(wait_until([&] { return closed_.load(); }));
  EXPECT_FALSE(stream()->is_open());
  EXPECT_FALSE(stream()->send("late", "x"));
  EXPECT_TRUE(wait_until([&] { return server_->connection_count() == 0; }));
  // Registered after the end: runs at once.
  bool ran = false;
  stream()->on_close([&] { ran = true; });
  EXPECT_TRUE(ran);
}

TEST_F(EventsTest, TheServerMayEndAStreamAfterItsLastEvent) {
  start();
  Client c(port_);
  c.write_raw(events_request());
  ASSERT_TRUE(wait_until([&] { return stream() != nullptr; }));
  stream()->send("", "bye");
  stream()->close();
  std::string out = c.read_until_close(5s);
  EXPECT_TRUE(c.closed());
  EXPECT_NE(out.find("\r\n\r\ndata: bye\n\n"), std::string::npos) << out;
  EXPECT_TRUE(wait_until([&] { return closed_.load(); }));
}

TEST_F(EventsTest, AClientThatDoesNotReadIsCutAtTheBound) {
  limits_.event_stream_bound = 64 * 1024;
  start();
  asio::io_context ioc;
  tcp::socket sock(ioc);
  sock.open(tcp::v4());
  sock.set_option(asio::socket_base::receive_buffer_size(4096));
  sock.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  asio::write(sock, asio::buffer(events_request()));
  ASSERT_TRUE(wait_until([&] { return stream() != nullptr; }));
  auto s = stream();
  const std::string blob(16 * 1024, 'x');
  size_t sent = 0;
  constexpr size_t kGiveUp = 20000;  // 320 MiB: far past any socket buffer
  while (sent < kGiveUp && s->send("blob", blob)) ++sent;
  EXPECT_LT(sent, kGiveUp);
  EXPECT_FALSE(s->is_open());
  EXPECT_TRUE(wait_until([&] { return closed_.load(); }));
  EXPECT_TRUE(wait_until([&] { return server_->connection_count() == 0; }));
}

TEST(EventFormat, OneDataLinePerLineAndNoFieldInjection) {
  EXPECT_EQ(format_event("", "x"), "data: x\n\n");
  EXPECT_EQ(format_event("e", ""), "event: e\ndata: \n\n");
  EXPECT_EQ(format_event("a\nb", "1\r\n2\r3\n4"), "event: a b\ndata: 1\ndata: 2\ndata: 3\ndata: 4\n\n");
}

TEST(EventStreamBound, ReplyAndStreamWithoutAServer) {
  // A ReplyTarget that records: Reply and EventStream need no sockets.
  struct Recorder : ReplyTarget {
    std::vector<std::string> calls;
    void send_response(Response r) override { calls.push_back("response " + std::to_string(r.status)); }
    void dropped() override { calls.push_back("dropped"); }
    void start_events(std::shared_ptr<EventStream>) override { calls.push_back("events"); }
    void event_bytes(std::string b) override { calls.push_back("bytes " + std::to_string(b.size())); }
    void end_events(bool abort) override { calls.push_back(abort ? "abort" : "end"); }
  };
  auto rec = std::make_shared<Recorder>();
  { auto r = std::make_shared<web::Reply>(rec, 100); }
  { std::make_shared<web::Reply>(rec, 100)->send(Response{204, "", "", {}}); }
  auto r = std::make_shared<web::Reply>(rec, 20);
  auto s = r->start_events();
  EXPECT_TRUE(s->send("", "0123456789"));  // 18 bytes on the wire
  EXPECT_FALSE(s->send("", "x"));          // 18 + 9 > 20
  EXPECT_FALSE(s->is_open());
  EXPECT_EQ(rec->calls, (std::vector<std::string>{"dropped", "response 204", "events", "bytes 18", "abort"}));
  r.reset();  // answered by the stream: no 500
  EXPECT_EQ(rec->calls.size(), 5u);
}

}  // namespace
}  // namespace petrel::web::test
