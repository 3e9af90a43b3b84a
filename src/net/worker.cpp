#include "net/worker.h"

#include <boost/asio/post.hpp>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "net/server.h"

namespace petrel::net {

namespace asio = boost::asio;

namespace {
constexpr size_t kReadBufferSize = 256 * 1024;
constexpr int kTickMs = 250;
constexpr int kMaxEvents = 256;
constexpr int64_t kConnectTimeoutMs = 10'000;   // no CONNECT within this: close
constexpr int64_t kCloseFlushTimeoutMs = 5'000; // a closing peer that never reads
constexpr int64_t kSlowConsumerMs = 2'000;      // backlogged this long = slow consumer

int make_epoll() {
  int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::runtime_error("epoll_create1 failed");
  return fd;
}
}  // namespace

Worker::Worker(Server& server, int index, std::shared_ptr<const config::Config> cfg)
    : server_(server), index_(index), io_(1), core_(server.broker(), index, server, std::move(cfg)),
      rbuf_(kReadBufferSize), epfd_(make_epoll()), epdesc_(io_, epfd_), tick_(io_) {}

Worker::~Worker() {
  join();
  conns_.clear();
  graveyard_.clear();
}

void Worker::start() {
  arm_tick();
  arm_epoll();
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

bool Worker::watch(int fd, Connection* c) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = c;
  return ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void Worker::unwatch(int fd) { ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void Worker::arm_epoll() {
  epdesc_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [this](const boost::system::error_code& ec) {
                       if (ec) return;
                       on_epoll();
                     });
}

int Worker::poll_events() {
  epoll_event evs[kMaxEvents];
  int n = ::epoll_wait(epfd_, evs, kMaxEvents, 0);
  for (int i = 0; i < n; ++i) {
    auto* c = static_cast<Connection*>(evs[i].data.ptr);
    c->on_events(evs[i].events);
  }
  return n;
}

void Worker::on_epoll() {
  const int n = poll_events();
  schedule_turn_end();
  if (n == kMaxEvents) {
    // More may be ready; the epoll descriptor will not signal again for them.
    asio::post(io_, [this] { on_epoll(); });
  } else {
    arm_epoll();
  }
}

Connection* Worker::add(std::unique_ptr<Connection> c) {
  c->registry_index = conns_.size();
  conns_.push_back(std::move(c));
  return conns_.back().get();
}

void Worker::remove(Connection* c, bool release_admission) {
  size_t i = c->registry_index;
  if (i >= conns_.size() || conns_[i].get() != c) return;
  if (c->dirty) {
    for (auto& d : dirty_) if (d == c) d = nullptr;
    c->dirty = false;
  }
  if (c->queued_read) {
    for (auto& d : again_) if (d == c) d = nullptr;
    for (auto& d : again_run_) if (d == c) d = nullptr;
    c->queued_read = false;
  }
  for (auto& p : parked_) if (p == c) p = nullptr;
  std::unique_ptr<Connection> dead = std::move(conns_[i]);
  if (i + 1 != conns_.size()) {
    conns_[i] = std::move(conns_.back());
    conns_[i]->registry_index = i;
  }
  conns_.pop_back();
  if (release_admission) server_.release(dead->listener_index());
  graveyard_.push_back(std::move(dead));
  schedule_turn_end();
}

void Worker::schedule_flush(Connection* c) {
  if (!c->dirty) {
    c->dirty = true;
    dirty_.push_back(c);
  }
  schedule_turn_end();
}

void Worker::read_again(Connection* c) {
  if (!c->queued_read) {
    c->queued_read = true;
    again_.push_back(c);
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
  core_.end_of_turn();
  if (dirty_.empty()) { list.clear(); dirty_.swap(list); }
  graveyard_.clear();
  if (!again_.empty() && !again_posted_) {
    // Connections whose read budget ran out: read them in the next turn, after the
    // events and posts that queued up meanwhile.
    again_posted_ = true;
    again_run_.swap(again_);
    asio::post(io_, [this] {
      again_posted_ = false;
      for (size_t i = 0; i < again_run_.size(); ++i) {
        Connection* c = again_run_[i];
        if (!c) continue;
        c->queued_read = false;
        again_run_[i] = nullptr;
        c->on_readable();
      }
      again_run_.clear();
      schedule_turn_end();
    });
  }
}

void Worker::adopt(int fd, int listener, std::string peer, std::unique_ptr<Transport> transport) {
  Connection* c = add(std::make_unique<Connection>(*this, fd, listener, std::move(peer), std::move(transport)));
  c->start();
}

void Worker::adopt_with_connect(int fd, int listener, std::string peer, protocol::Connect connect,
                                std::string pending, std::unique_ptr<Transport> transport) {
  Connection* c = add(std::make_unique<Connection>(*this, fd, listener, std::move(peer), std::move(transport)));
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
  // What arrived while this thread waited for the CPU is read before the keepalive check:
  // on a busy machine the tick and a client's PINGREQ can become ready together, and the
  // client must not be dropped for a packet that sits unread in its socket.
  poll_events();
  core_.tick();
  // A publisher may have parked just after the backlog cleared: never leave it waiting.
  if (!parked_.empty() && !server_.backlogged()) resume_parked();
  const int64_t now = server_.broker().clock().now_ms();
  // Connections that never sent CONNECT, and closing ones whose peer stopped reading.
  std::vector<Connection*> stale;
  std::vector<Connection*> due;
  for (auto& c : conns_) {
    c->release_buffers_if_idle();
    if (c->close_due(now)) due.push_back(c.get());
    c->check_slow(now, kSlowConsumerMs);
    if (!c->connected() && !c->closing() && now - c->accepted_ms() > kConnectTimeoutMs) stale.push_back(c.get());
    else if (c->closing() && now - c->close_requested_ms() > kCloseFlushTimeoutMs) stale.push_back(c.get());
  }
  for (Connection* c : due) c->release_held_output();
  for (Connection* c : stale) {
    if (c->closed()) continue;
    PETREL_LOG(server_.log(), kLogNotice, "Closing {}: no CONNECT in time, or a close that stalled.", c->peer());
    c->close(false);
  }
  schedule_turn_end();
}

void Worker::resume_parked() {
  std::vector<Connection*> list;
  list.swap(parked_);
  for (Connection* c : list)
    if (c) c->resume();
  schedule_turn_end();
}

size_t Worker::close_listener(int listener, uint8_t reason) {
  const size_t n = core_.disconnect_listener(listener, reason);
  std::vector<Connection*> waiting;
  for (auto& c : conns_) {
    if (c->listener_index() == listener && !c->connected() && !c->closing()) waiting.push_back(c.get());
  }
  for (Connection* c : waiting) c->close(false);
  schedule_turn_end();
  return n;
}

void Worker::shutdown() {
  core_.shutdown_all();
  turn_end();
  std::vector<Connection*> all;
  for (auto& c : conns_) all.push_back(c.get());
  for (Connection* c : all) c->close(false);
  graveyard_.clear();
  tick_.cancel();
  boost::system::error_code ec;
  epdesc_.cancel(ec);
}

}  // namespace petrel::net
