#include "worker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "protocol/framer.h"
#include "tls.h"

namespace petrel::bench {
namespace {

constexpr int kReadsPerTurn = 4;          // then the connection waits for the next turn
constexpr int kMaxEvents = 256;
constexpr uint64_t kWakeTag = ~uint64_t(0);

}  // namespace

int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

Worker::Worker(uint32_t id, const Options& o, const Plan& plan, Control& ctl, SharedCounters& shared,
               const Target& target, const TlsContext* tls)
    : id_(id), opt_(o), plan_(plan), ctl_(ctl), shared_(shared), target_(target), tls_(tls) {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (ep_ < 0 || wake_fd_ < 0) throw std::runtime_error(std::string("epoll/eventfd: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;  // level-triggered: any phase change wakes the loop
  ev.data.u64 = kWakeTag;
  epoll_ctl(ep_, EPOLL_CTL_ADD, wake_fd_, &ev);
  ctl_.add_wake_fd(wake_fd_);
  read_size_ = size_t(o.read_kib) * 1024;
  rbuf_.resize(read_size_);
  puback_ = ack_template(protocol::PacketType::kPuback, o.version);
  pubrec_ = ack_template(protocol::PacketType::kPubrec, o.version);
  pubrel_ = ack_template(protocol::PacketType::kPubrel, o.version);
  pubcomp_ = ack_template(protocol::PacketType::kPubcomp, o.version);
}

Worker::~Worker() {
  close_all();
  if (ep_ >= 0) ::close(ep_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Worker::add_client(const ClientSpec& s) {
  auto c = std::make_unique<Client>();
  c->slot = uint32_t(clients_.size());
  c->role = s.role;
  c->id = s.client_id;
  c->local_addr = s.local_addr;
  c->persistent = s.persistent;
  if (s.role == Role::kPublisher || s.role == Role::kRetainPublisher) {
    auto p = std::make_unique<PublisherState>();
    p->index = s.publisher;
    if (s.role == Role::kPublisher) {
      p->qos = opt_.qos;
      p->tmpl = publish_template(s.topic, p->qos, false, opt_.size, opt_.version);
      max_batch_ = std::max<uint64_t>(1, uint64_t(opt_.batch_kib) * 1024 / p->tmpl.bytes.size());
    } else {
      p->qos = std::max<uint8_t>(opt_.qos, 1);  // stored for sure before anyone subscribes
      p->topic = s.topic;
      p->limit = 0;
      max_batch_ = std::max<uint64_t>(1, uint64_t(opt_.batch_kib) * 1024 / (opt_.size + s.topic.size() + 16));
    }
    p->window = opt_.inflight;
    if (p->qos) {
      // Twice the window (at least 1024) keeps a free id near and the tables small.
      p->pid_span = uint16_t(std::min<uint32_t>(65535, std::max<uint32_t>(1024, 2 * p->window)));
      p->pid_state.assign(size_t(p->pid_span) + 1, 0);
      p->pid_sent_ns.assign(size_t(p->pid_span) + 1, 0);
    }
    c->pub = std::move(p);
    publishers_.push_back(c->slot);
  }
  if (s.role == Role::kSubscriber || s.role == Role::kRetainSubscriber) {
    auto sub = std::make_unique<SubscriberState>();
    sub->filter = s.filter;
    sub->stream = s.stream;
    sub->expect = s.expect;
    sub->deferred = s.role == Role::kRetainSubscriber;
    c->sub = std::move(sub);
  }
  clients_.push_back(std::move(c));
}

void Worker::run() {
  now_ = mono_ns();
  for (;;) {
    Phase p = ctl_.phase();
    while (phase_ < p) enter_phase(Phase(int(phase_) + 1));
    if (phase_ == Phase::kDone) break;
    turn(next_timeout());
  }
  result_.counters = c_;
  shared_.publish(c_);
  close_all();
}

void Worker::enter_phase(Phase p) {
  phase_ = p;
  now_ = mono_ns();
  switch (p) {
    case Phase::kConnect: ping_origin_ = now_; start_connects(); break;
    case Phase::kSubscribe:
      for (auto& c : clients_)
        if (c->sub && !c->sub->deferred && c->state == ConnState::kReady) subscribe(*c);
      break;
    case Phase::kWarmup: start_publishing(false); break;
    case Phase::kMeasure: measuring_ = true; break;
    case Phase::kDrain:
      measuring_ = false;
      for (uint32_t s : publishers_)
        if (clients_[s]->role == Role::kPublisher) clients_[s]->pub->start_ns = 0;
      break;
    case Phase::kRetainSubscribe:
      measuring_ = true;
      for (auto& c : clients_)
        if (c->sub && c->sub->deferred && c->state == ConnState::kReady) subscribe(*c);
      break;
    case Phase::kCleanup: measuring_ = false; start_publishing(true); break;
    case Phase::kDisconnect: result_.unsent = count_unsent(); disconnect_all(); break;
    default: break;
  }
  flush_dirty();
  shared_.publish(c_);
  shared_.phase.store(int(p), std::memory_order_release);
}

void Worker::turn(int timeout_ms) {
  epoll_event evs[kMaxEvents];
  int n = epoll_wait(ep_, evs, kMaxEvents, timeout_ms);
  if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
  now_ = mono_ns();
  for (int i = 0; i < n; ++i) on_event(evs[i].data.u64, evs[i].events);
  if (!pending_.empty()) {  // connections that had more to read than one turn allows
    pending_tmp_.swap(pending_);
    for (uint32_t s : pending_tmp_) {
      Client& c = *clients_[s];
      c.pending_read = false;
      if (c.fd >= 0) handle_read(c);
    }
    pending_tmp_.clear();
  }
  now_ = mono_ns();
  pump_all();
  send_pings();
  flush_dirty();
  shared_.publish(c_);
}

int Worker::next_timeout() const {
  if (hot_ || !pending_.empty()) return 0;
  bool publishing = phase_ >= Phase::kWarmup && phase_ < Phase::kDrain;
  if (publishing && opt_.rate > 0) return 1;
  return 10;  // keepalive pings, phase changes also arrive through the eventfd
}

void Worker::on_event(uint64_t tag, uint32_t events) {
  if (tag == kWakeTag) {
    uint64_t v;
    ssize_t r = ::read(wake_fd_, &v, sizeof v);
    (void)r;
    return;
  }
  Client& c = *clients_[tag];
  if (c.fd < 0) return;
  if (c.state == ConnState::kTcpConnecting || c.state == ConnState::kTlsHandshake)
    return on_connect_event(c, events);
  if ((events & EPOLLOUT) && c.blocked) {
    c.blocked = false;
    mark_dirty(c);
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !c.pending_read) handle_read(c);
}

ssize_t Worker::io_recv(Client& c, char* buf, size_t n) {
  return c.ssl ? tls_recv(c.ssl, buf, n) : ::recv(c.fd, buf, n, 0);
}

ssize_t Worker::io_send(Client& c, const char* p, size_t n) {
  return c.ssl ? tls_send(c.ssl, p, n) : ::send(c.fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

void Worker::handle_read(Client& c) {
  for (int i = 0; i < kReadsPerTurn; ++i) {
    size_t have = c.in.size();
    if (rbuf_.size() < have + read_size_) rbuf_.resize(have + read_size_);
    size_t space = rbuf_.size() - have;
    ssize_t n = io_recv(c, rbuf_.data() + have, space);
    if (n == 0) return lose(c, "connection closed by the broker");
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      return lose(c, std::strerror(errno));
    }
    now_ = mono_ns();
    if (have) std::memcpy(rbuf_.data(), c.in.data(), have);
    size_t total = have + size_t(n);
    size_t used = parse(c, rbuf_.data(), total);
    if (c.fd < 0) return;
    c.in.assign(rbuf_.data() + used, total - used);
    if (!c.ssl && size_t(n) < space) return;  // the socket is empty; the next arrival is a new edge
  }
  c.pending_read = true;
  pending_.push_back(c.slot);
}

void Worker::mark_dirty(Client& c) {
  if (!c.dirty) c.dirty = true, dirty_.push_back(c.slot);
}

void Worker::flush(Client& c) {
  c.dirty = false;
  while (!c.out.empty() && !c.blocked && c.fd >= 0) {
    ssize_t n = io_send(c, c.out.data(), c.out.size());
    if (n > 0) {
      bool partial = size_t(n) < c.out.size();
      c.out.consume(size_t(n));
      if (partial && !c.ssl) c.blocked = true;  // socket buffer full: EPOLLOUT will tell
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      c.blocked = true;
      break;
    }
    return lose(c, std::strerror(errno));
  }
}

void Worker::flush_dirty() {
  for (size_t i = 0; i < dirty_.size(); ++i) {
    Client& c = *clients_[dirty_[i]];
    if (c.dirty && c.fd >= 0) flush(c);
    c.dirty = false;
  }
  dirty_.clear();
}

void Worker::lose(Client& c, const std::string& why) {
  if (c.fd < 0) return;
  if (phase_ < Phase::kDisconnect) {
    ++result_.closed;
    ctl_.fail("client " + c.id + " (" + peer() + "): " + why);
  }
  if (c.state == ConnState::kTcpConnecting || c.state == ConnState::kTlsHandshake ||
      c.state == ConnState::kWaitConnack)
    --connecting_;
  tls_free(c.ssl);
  c.ssl = nullptr;
  ::close(c.fd);
  c.fd = -1;
  c.state = ConnState::kClosed;
  c.out.release();
  c.in.clear();
  c.in.shrink_to_fit();
}

void Worker::close_all() {
  for (auto& c : clients_) {
    if (c->fd < 0) continue;
    tls_free(c->ssl);
    c->ssl = nullptr;
    ::close(c->fd);
    c->fd = -1;
    c->state = ConnState::kClosed;
  }
}

}  // namespace petrel::bench
