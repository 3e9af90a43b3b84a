#include "net/server.h"
#include "net/server_internal.h"
#include "net/transport_factory.h"

#include <sched.h>
#include <cerrno>
#include <cstring>

#include <algorithm>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <map>
#include <thread>
#include <tuple>

namespace petrel::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
// `threads 0`: one worker per usable core but one, at least one. The core left over runs
// the kernel's side of the traffic (TCP send and receive are most of the CPU per message)
// and whatever else the box runs. Measured on 2 cores with the load on the same machine
// (docs/benchmarks.md): one worker delivered 28% more QoS 1 messages per second at 23%
// less CPU each than two, which spent the difference on cross-worker wake-ups.
int worker_count_for(const config::Config& cfg) {
  if (cfg.threads > 0) return cfg.threads;
  int n = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof(set), &set) == 0) n = CPU_COUNT(&set);
  if (n <= 0) n = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, n - 1);
}

std::string peer_string(const tcp::endpoint& ep) {
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
  if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(ep.port());
  return a.to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

namespace detail {

bool same_key(const config::Listener& a, const config::Listener& b) {
  return a.port == b.port && a.bind_address == b.bind_address && a.socket_domain == b.socket_domain;
}

// Resolves a listener's addresses and binds a socket on each (not yet accepting).
Result<std::vector<std::unique_ptr<Server::Acceptor>>> bind_listener(asio::io_context& io, const config::Listener& l,
                                                                     int slot, bool listen_now) {
  std::vector<tcp::endpoint> eps;
  if (l.bind_address.empty()) {
    if (l.socket_domain == config::SocketDomain::kIpv4) eps.emplace_back(tcp::v4(), l.port);
    else eps.emplace_back(tcp::v6(), l.port);
  } else {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(l.bind_address, ec);
    if (!ec) {
      eps.emplace_back(addr, l.port);
    } else {
      tcp::resolver r(io);
      auto res = r.resolve(l.bind_address, std::to_string(l.port), ec);
      if (ec) return Error{0, fmt::format("listener {} {}: cannot resolve address: {}", l.port, l.bind_address, ec.message())};
      for (auto& e : res) {
        const auto& ep = e.endpoint();
        if (l.socket_domain == config::SocketDomain::kIpv4 && !ep.address().is_v4()) continue;
        if (l.socket_domain == config::SocketDomain::kIpv6 && !ep.address().is_v6()) continue;
        eps.push_back(ep);
      }
    }
  }
  // bind_interface: only connections that arrive on that device (SO_BINDTODEVICE, which
  // needs CAP_NET_RAW on kernels before 5.7).
  std::string device_error;
  auto bind_device = [&](tcp::acceptor& acc) {
    if (l.bind_interface.empty()) return true;
    if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_BINDTODEVICE, l.bind_interface.data(),
                     static_cast<socklen_t>(l.bind_interface.size())) == 0)
      return true;
    const int e = errno;
    device_error = fmt::format("listener {}{}: bind_interface '{}': {}", l.port,
                               l.source.empty() ? "" : " (" + l.source + ")", l.bind_interface,
                               e == ENODEV ? "no such network interface" : std::strerror(e));
    return false;
  };
  std::vector<std::unique_ptr<Server::Acceptor>> out;
  for (const auto& ep : eps) {
    auto a = std::make_unique<Server::Acceptor>(io, slot);
    boost::system::error_code ec;
    a->acc.open(ep.protocol(), ec);
    if (ec && ep.address().is_v6() && l.bind_address.empty()) {
      // No IPv6 on this host: fall back to IPv4 for an unspecified address.
      tcp::endpoint v4(tcp::v4(), l.port);
      ec.clear();
      a->acc.open(v4.protocol(), ec);
      if (!ec && !bind_device(a->acc)) return Error{0, device_error};
      if (!ec) { a->acc.set_option(tcp::acceptor::reuse_address(true)); a->acc.bind(v4, ec); }
    } else if (!ec) {
      if (!bind_device(a->acc)) return Error{0, device_error};
      a->acc.set_option(tcp::acceptor::reuse_address(true));
      if (ep.address().is_v6()) {
        // Unspecified IPv6 address = dual stack unless the listener asked for IPv6 only.
        bool only = !(l.bind_address.empty() && l.socket_domain == config::SocketDomain::kAny);
        a->acc.set_option(asio::ip::v6_only(only), ec);
        ec.clear();
      }
      a->acc.bind(ep, ec);
    }
    if (!ec && listen_now) a->acc.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{0, fmt::format("listener on {} port {}: {}", ep.address().to_string(), l.port, ec.message())};
    a->where = fmt::format("{} port {}", ep.address().to_string(), a->acc.local_endpoint().port());
    out.push_back(std::move(a));
  }
  return out;
}
}  // namespace detail

Server::Server(const config::Config& cfg, Logger& log)
    : log_(log), broker_(log, clock_, worker_count_for(cfg)) {
  auto view = std::make_shared<const config::Config>(cfg);
  for (int i = 0; i < broker_.workers(); ++i) workers_.push_back(std::make_unique<Worker>(*this, i, view));
  inboxes_ = std::make_unique<Inbox[]>(workers_.size());
  listener_counts_ = std::make_unique<std::atomic<int>[]>(kMaxSlots);
  for (size_t i = 0; i < kMaxSlots; ++i) listener_counts_[i] = 0;
  for (const auto& l : cfg.listeners) {
    auto slot = std::make_unique<Slot>();
    slot->cfg = l;
    slots_.push_back(std::move(slot));
  }
  tcp_nodelay_ = cfg.set_tcp_nodelay;
  set_limits(cfg);
}

// A session's queue holds publishers back at half of max_queued_messages (core_route.cpp)
// and drops at the limit. Deliveries already on their way from other workers when that
// happens are at most a turn's batch plus an inbox's high mark, each an eighth of the
// limit, so they fit in the other half and nothing is dropped. Without a limit (or a
// large one) the marks stay at their throughput-friendly maxima.
void Server::set_limits(const config::Config& cfg) {
  size_t cap = 4096;
  int64_t high = 8192;
  if (cfg.max_queued_messages > 0) {
    const auto eighth = static_cast<int64_t>(cfg.max_queued_messages) / 8;
    cap = std::clamp<size_t>(size_t(eighth), 1, cap);
    high = std::clamp<int64_t>(eighth, 1, high);
  }
  global_max_connections_.store(cfg.global_max_connections, std::memory_order_relaxed);
  turn_cap_.store(cap, std::memory_order_relaxed);
  inbox_high_.store(high, std::memory_order_relaxed);
  inbox_low_.store(high / 4, std::memory_order_relaxed);
}

Server::~Server() {
  stop();
  slots_.clear();
  workers_.clear();
}

bool Server::open_listeners(std::string& error) {
  asio::io_context& io = workers_[0]->io();
  for (size_t li = 0; li < slots_.size(); ++li) {
    Slot& slot = *slots_[li];
    // A listener never runs half-configured: a TLS/WebSocket setup error stops startup.
    slot.transport = make_transport_factory(slot.cfg, log_, error);
    if (!error.empty()) return false;
    // Bound now (a port below 1024 needs root, which may be dropped next), listening only
    // from start_accepting: until then a client is refused at once, never left waiting in
    // the backlog of a broker that is still restoring its store or starting its bridges.
    auto bound = detail::bind_listener(io, slot.cfg, static_cast<int>(li), /*listen_now=*/false);
    if (!bound) {
      error = bound.error().message;
      return false;
    }
    for (auto& a : *bound) {
      PETREL_LOG(log_, kLogNotice, "Opening {} listen socket on {}.",
                 a->acc.local_endpoint().address().is_v6() ? "ipv6" : "ipv4", a->where);
    }
    slot.acceptors = std::move(*bound);
    slot.open = true;
  }
  return true;
}

void Server::start_workers() {
  for (auto& w : workers_) w->start();
}

bool Server::start_accepting(std::string& error) {
  for (auto& slot : slots_) {
    for (auto& a : slot->acceptors) {
      boost::system::error_code ec;
      // Another process may have bound the same port meanwhile (SO_REUSEADDR lets two
      // sockets bind; only one can listen).
      a->acc.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        error = fmt::format("listener on {}: {}", a->where, ec.message());
        return false;
      }
    }
  }
  for (auto& slot : slots_) {
    for (auto& a : slot->acceptors) {
      Acceptor* ap = a.get();
      asio::post(workers_[0]->io(), [this, ap] { accept_on(*ap); });
    }
  }
  return true;
}

void Server::accept_on(Acceptor& a) {
  a.acc.async_accept([this, &a](const boost::system::error_code& ec, tcp::socket sock) {
    if (stopping_.load()) return;
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      // EMFILE and friends: log, back off by one accept, keep serving.
      PETREL_LOG(log_, kLogError, "accept on {} failed: {}", a.where, ec.message());
      accept_on(a);
      return;
    }
    accept_on(a);
    boost::system::error_code e2;
    auto remote = sock.remote_endpoint(e2);
    if (e2) return;
    std::string peer = peer_string(remote);
    if (!admit(a.listener)) {
      PETREL_LOG(log_, kLogNotice, "Refusing connection from {}: max_connections or global_max_connections reached.", peer);
      return;  // sock closes
    }
    broker_.stats(0).sockets_opened.add();
    if (tcp_nodelay_.load(std::memory_order_relaxed)) sock.set_option(tcp::no_delay(true), e2);
    sock.non_blocking(true, e2);
    int fd = sock.release(e2);
    if (e2) return;
    std::unique_ptr<Transport> tx;
    if (auto& f = slots_[a.listener]->transport) tx = f->make();
    int target = static_cast<int>(a.next_worker++ % workers_.size());
    if (target == 0) {
      workers_[0]->adopt(fd, a.listener, std::move(peer), std::move(tx));
      return;
    }
    Worker& w = *workers_[target];
    asio::post(w.io(), [&w, fd, l = a.listener, p = std::move(peer), t = std::move(tx)]() mutable {
      w.adopt(fd, l, std::move(p), std::move(t));
    });
  });
}

void Server::hand_over(int worker, int fd, int listener, std::string peer,
                       protocol::Connect connect, std::string pending,
                       std::unique_ptr<Transport> transport) {
  Worker& w = *workers_[worker];
  asio::post(w.io(), [&w, fd, listener, p = std::move(peer), c = std::move(connect),
                      pend = std::move(pending), t = std::move(transport)]() mutable {
    w.adopt_with_connect(fd, listener, std::move(p), std::move(c), std::move(pend), std::move(t));
  });
}

int Server::open_internal(std::string peer, bool admin) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) return -1;
  static std::atomic<unsigned> next{0};
  Worker& w = *workers_[next.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
  const int listener = admin ? broker::kAdminListener : broker::kInternalListener;
  asio::post(w.io(), [&w, fd = fds[0], p = std::move(peer), listener]() mutable {
    w.adopt(fd, listener, std::move(p), nullptr);
  });
  return fds[1];
}

// On worker 0 (the accepting thread), which is the thread that changes the slots.
bool Server::admit(int listener) {
  if (listener < 0 || size_t(listener) >= slots_.size()) return true;
  int max = slots_[listener]->cfg.max_connections;
  int now = listener_counts_[listener].fetch_add(1) + 1;
  if (max >= 0 && now > max) {
    listener_counts_[listener].fetch_sub(1);
    return false;
  }
  // global_max_connections: every listener's connections together.
  const int global_max = global_max_connections_.load(std::memory_order_relaxed);
  const int all = open_connections_.fetch_add(1) + 1;
  if (global_max >= 0 && all > global_max) {
    open_connections_.fetch_sub(1);
    listener_counts_[listener].fetch_sub(1);
    return false;
  }
  return true;
}

void Server::release(int listener) {
  if (listener >= 0 && size_t(listener) < kMaxSlots) {
    listener_counts_[listener].fetch_sub(1);
    open_connections_.fetch_sub(1);
  }
}

void Server::send_batch(int worker, std::vector<broker::Delivery>&& batch,
                        std::shared_ptr<broker::DurableHold> hold) {
  Worker& w = *workers_[worker];
  Inbox& in = inboxes_[worker];
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t high = inbox_high_.load(std::memory_order_relaxed);
  if (in.pending.fetch_add(n, std::memory_order_relaxed) + n > high) {
    std::lock_guard lk(in.mu);
    if (!in.flagged.load() && in.pending.load() > high) {
      in.flagged.store(true);
      backlog_changed(1);
    }
  }
  asio::post(w.io(), [this, &w, &in, n, b = std::move(batch), hold = std::move(hold)]() mutable {
    w.core().deliver_batch(b, std::move(hold));
    w.schedule_turn_end();
    in.pending.fetch_sub(n, std::memory_order_relaxed);
    if (in.flagged.load()) {
      std::lock_guard lk(in.mu);
      if (in.flagged.load() && in.pending.load() <= inbox_low_.load(std::memory_order_relaxed)) {
        in.flagged.store(false);
        backlog_changed(-1);
      }
    }
  });
}

void Server::post_durable(int worker, uint64_t turn, bool ok) {
  // From a store callback or a worker; after stop() the worker's loop no longer runs and
  // the post is dropped with it (every connection is gone by then).
  Worker& w = *workers_[worker];
  asio::post(w.io(), [&w, turn, ok] {
    w.core().turn_durable(turn, ok);
    w.schedule_turn_end();
  });
}

void Server::set_store(persist::Store* store, bool hold_acks, int64_t open_batch_ms) {
  store_ = store;
  for (auto& w : workers_) w->core().set_store(store, hold_acks, open_batch_ms);
}

size_t Server::restore(const persist::Snapshot& snap) {
  const int64_t now_ms = broker_.clock().now_ms();
  const int64_t now_wall = broker_.clock().wall_seconds();
  // Publishers (check_retain_source), one per identity. The listener is the first with the
  // stored port; none (a port no longer configured, or 0): the global settings apply.
  std::map<std::tuple<std::string, std::string, uint16_t>, broker::RetainSourcePtr> sources;
  auto source_of = [&](const persist::RetainedRecord& r) -> broker::RetainSourcePtr {
    if (r.source_client_id.empty()) return nullptr;
    auto& p = sources[{r.source_client_id, r.source_username, r.source_port}];
    if (!p) {
      int listener = -1;
      for (size_t i = 0; r.source_port != 0 && i < slots_.size(); ++i) {
        if (slots_[i]->cfg.port == r.source_port) {
          listener = static_cast<int>(i);
          break;
        }
      }
      p = std::make_shared<const broker::RetainSource>(
          broker::RetainSource{r.source_client_id, r.source_username, listener});
    }
    return p;
  };
  for (const auto& r : snap.retained) {
    const auto& m = r.msg;
    if (m.payload.empty()) continue;
    int64_t expiry_at = 0;
    if (m.expiry_wall_s) {
      if (m.expiry_wall_s <= now_wall) continue;  // expired while the broker was down
      expiry_at = now_ms + (m.expiry_wall_s - now_wall) * 1000;
    }
    auto rm = std::make_shared<broker::RetainedMessage>();
    rm->topic = m.topic;
    rm->payload = m.payload;
    rm->forward_props = m.props;
    rm->qos = m.qos;
    rm->expiry_at_ms = expiry_at;
    rm->expiry_interval = m.expiry_interval;
    rm->stored_at_ms = now_ms;
    rm->source = source_of(r);
    broker_.retained().set(std::move(rm));
  }
  // Records of one stored message share one Message again (the workers do not run yet).
  std::unordered_map<uint64_t, broker::MessageRef> shared;
  for (const auto& s : snap.sessions) workers_[broker_.home_worker(s.client_id)]->core().restore_session(s, shared);
  return snap.sessions.size();
}

void Server::backlog_changed(int delta) {
  if (backlogged_.fetch_add(delta) + delta == 0 && delta < 0) {
    for (auto& w : workers_) {
      Worker* wp = w.get();
      asio::post(wp->io(), [wp] { wp->resume_parked(); });
    }
  }
}

void Server::publish_log(uint32_t level, std::string_view line) {
  if (workers_.empty() || stopping_.load()) return;
  const char* sub = "I";
  switch (level) {
    case kLogError: sub = "E"; break;
    case kLogWarning: sub = "W"; break;
    case kLogNotice: sub = "N"; break;
    case kLogSubscribe: sub = "M"; break;
    case kLogUnsubscribe: sub = "U"; break;
    case kLogDebug: sub = "D"; break;
    case kLogWebsockets: sub = "WS"; break;
    default: break;
  }
  Worker& w = *workers_[0];
  asio::post(w.io(), [&w, t = fmt::format("$SYS/broker/log/{}", sub), l = std::string(line)] {
    w.core().publish_internal(t, l, false);
    w.schedule_turn_end();
  });
}

void Server::set_security(std::shared_ptr<const broker::Security> security) {
  for (auto& w : workers_) {
    Worker* wp = w.get();
    asio::post(wp->io(), [wp, security] { wp->core().apply_security(security); });
  }
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& slot : slots_) {
    for (auto& a : slot->acceptors) {
      Acceptor* ap = a.get();
      asio::post(workers_[0]->io(), [ap] { boost::system::error_code ec; ap->acc.close(ec); });
    }
  }
  for (auto& w : workers_) {
    Worker* wp = w.get();
    asio::post(wp->io(), [wp] {
      wp->shutdown();
      wp->io().stop();
    });
  }
  for (auto& w : workers_) w->join();
  // What the last turns journaled (sessions going offline at shutdown): handed to the
  // store, which the caller closes after this.
  for (auto& w : workers_) w->core().flush_journal();
}

}  // namespace petrel::net
