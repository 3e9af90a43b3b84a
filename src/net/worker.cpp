#include "net/worker.h"

#include <boost/asio/post.hpp>

#include "net/server.h"

namespace petrel::net {

namespace asio = boost::asio;

namespace {
constexpr size_t kReadBufferSize = 256 * 1024;
constexpr int kTickMs = 250;
constexpr int64_t kConnectTimeoutMs = 10'000;  // no CONNECT within this: close
constexpr int64_t kCloseFlushTimeoutMs = 5'000; // a closing peer that never reads
constexpr int64_t kSlowConsumerMs = 2'000;      // backlogged this long = slow consumer
}  // namespace

Worker::Worker(Server& server, int index, std::shared_ptr<const config::Config> cfg)
    : server_(server), index_(index), io_(1), core_(server.broker(), index, server, std::move(cfg)),
      rbuf_(kReadBufferSize), tick_(io_) {}

Worker::~Worker() { join(); }

void Worker::start() {
  arm_tick();
  thread_ = std::thread([this] {
    for (;;) {
      try {
        io_.run();
        break;
      } catch (const std::exception& e) {
        // A bug surfaced as an exception: log it and keep serving the other clients.
        PETREL_LOG(server_.log(), kLogError, "worker {}: unexpected exception: {}", index_, e.what());
      }
    }
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::add(std::shared_ptr<Connection> c) {
  c->registry_index = conns_.size();
  conns_.push_back(std::move(c));
}

void Worker::remove(Connection* c) {
  size_t i = c->registry_index;
  if (i >= conns_.size() || conns_[i].get() != c) return;
  if (c->dirty) {
    for (auto& d : dirty_) if (d == c) d = nullptr;
    c->dirty = false;
  }
  std::shared_ptr<Connection> keep = std::move(conns_[i]);  // destroyed after the swap
  if (i + 1 != conns_.size()) {
    conns_[i] = std::move(conns_.back());
    conns_[i]->registry_index = i;
  }
  conns_.pop_back();
  server_.release(keep->listener_index());
  asio::post(io_, [k = std::move(keep)] {});  // outlive any frame still using it
}

void Worker::schedule_flush(Connection* c) {
  if (!c->dirty) {
    c->dirty = true;
    dirty_.push_back(c);
  }
  schedule_turn_end();
}

void Worker::schedule_turn_end() {
  if (turn_posted_) return;
  turn_posted_ = true;
  asio::post(io_, [this] { turn_end(); });
}

void Worker::turn_end() {
  turn_posted_ = false;
  core_.end_of_turn();
  // Flushing can queue more output (a drained client gets its queued messages), which
  // lands on a fresh list and a fresh turn.
  std::vector<Connection*> list;
  list.swap(dirty_);
  for (Connection* c : list) {
    if (!c) continue;
    c->dirty = false;
    c->flush();
  }
  if (dirty_.empty() && list.capacity() > dirty_.capacity()) dirty_.swap(list), dirty_.clear();
}

void Worker::adopt(asio::ip::tcp::socket sock, int listener, std::string peer) {
  auto c = std::make_shared<Connection>(*this, std::move(sock), listener, std::move(peer));
  add(c);
  c->start();
}

void Worker::adopt_with_connect(int fd, bool v6, int listener, std::string peer,
                                protocol::Connect connect, std::string pending, int64_t accepted_ms) {
  boost::system::error_code ec;
  asio::ip::tcp::socket sock(io_);
  sock.assign(v6 ? asio::ip::tcp::v6() : asio::ip::tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    server_.release(listener);
    return;
  }
  auto c = std::make_shared<Connection>(*this, std::move(sock), listener, std::move(peer));
  (void)accepted_ms;
  add(c);
  c->start_with_connect(std::move(connect), std::move(pending));
}

void Worker::arm_tick() {
  tick_.expires_after(std::chrono::milliseconds(kTickMs));
  tick_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    on_tick();
    arm_tick();
  });
}

void Worker::on_tick() {
  core_.tick();
  // A publisher may have parked just after the backlog cleared: never leave it waiting.
  if (!parked_.empty() && !server_.backlogged()) resume_parked();
  const int64_t now = server_.broker().clock().now_ms();
  // Connections that never sent CONNECT, and closing ones whose peer stopped reading.
  std::vector<Connection*> stale;
  for (auto& c : conns_) {
    if (!c->connected() && !c->closing() && now - c->accepted_ms() > kConnectTimeoutMs) stale.push_back(c.get());
    else if (c->closing() && now - c->close_requested_ms() > kCloseFlushTimeoutMs) stale.push_back(c.get());
  }
  for (auto& c : conns_) {
    if (c->backlogged() && now - c->backlog_since_ms() > kSlowConsumerMs) c->mark_slow();
  }
  for (Connection* c : stale) {
    PETREL_LOG(server_.log(), kLogNotice, "Closing {}: no CONNECT or stalled close.", c->peer());
    c->close(false);
  }
  schedule_turn_end();
}

void Worker::resume_parked() {
  std::vector<std::shared_ptr<Connection>> list;
  list.swap(parked_);
  for (auto& c : list) c->resume();
  schedule_turn_end();
}

void Worker::shutdown() {
  core_.shutdown_all();
  turn_end();
  std::vector<std::shared_ptr<Connection>> all = conns_;
  for (auto& c : all) c->close(false);
  tick_.cancel();
}

}  // namespace petrel::net
