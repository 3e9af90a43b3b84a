#include "web/http_server.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <thread>
#include <unordered_map>

#include "web/connection.h"
#include "web/dispatcher.h"
#include "web/listener.h"

namespace petrel::web {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using detail::BoundSocket;
using detail::ConnectionBase;

class HttpServer::Impl {
 public:
  Impl(Logger& log, Router& router, Auth& auth, Limits limits)
      : log_(log),
        dispatcher_(log, router, auth),
        link_(std::make_shared<detail::ServerLink>(ioc_)),
        ctx_{log, limits, std::string(kDefaultContentSecurityPolicy), link_,
             [this](Request& req, std::shared_ptr<Reply> reply) { dispatcher_(req, std::move(reply)); },
             [this](ConnectionBase* c) { forget(c); }} {}

  ~Impl() {
    stop();
    link_->detach();
  }

  void set_csp(std::string csp) { ctx_.csp = std::move(csp); }

  Result<void> open(const std::vector<Endpoint>& endpoints) {
    std::lock_guard lock(mu_);
    if (stopped_) return make_error(0, "http api: the server is stopped");
    if (auto dup = find_duplicate(endpoints, true); !dup.empty()) return make_error(0, dup);
    std::vector<Prepared> prepared;
    for (const Endpoint& ep : endpoints) {
      auto p = prepare(ep);
      if (!p) return p.error();  // what this call bound closes as `prepared` goes
      prepared.push_back(std::move(*p));
    }
    for (Prepared& p : prepared) install(std::move(p));
    return {};
  }

  Result<void> replace(const std::vector<Endpoint>& next) {
    std::lock_guard lock(mu_);
    if (stopped_) return make_error(0, "http api: the server is stopped");
    if (auto dup = find_duplicate(next, false); !dup.empty()) return make_error(0, dup);
    struct Kept {
      uint64_t id;
      Endpoint ep;
      bool identical;
      std::shared_ptr<asio::ssl::context> tls;
    };
    std::vector<Kept> kept;
    std::vector<Prepared> fresh;
    for (const Endpoint& ep : next) {
      auto it = std::find_if(table_.begin(), table_.end(), [&](const Entry& e) { return same_socket(e.ep, ep); });
      if (it != table_.end()) {
        std::shared_ptr<asio::ssl::context> tls;
        if (ep.tls()) {
          auto t = detail::make_tls_context(ep);
          if (!t) return t.error();
          tls = std::move(*t);
        }
        kept.push_back({it->id, ep, it->ep == ep, std::move(tls)});
      } else {
        auto p = prepare(ep);
        if (!p) return p.error();
        fresh.push_back(std::move(*p));
      }
    }
    // Everything needed is bound and loaded: from here on nothing can fail.
    std::vector<uint64_t> removed;
    for (const Entry& e : table_) {
      if (std::none_of(kept.begin(), kept.end(), [&](const Kept& k) { return k.id == e.id; })) removed.push_back(e.id);
    }
    std::vector<Entry> table;
    for (const Endpoint& ep : next) {
      auto k = std::find_if(kept.begin(), kept.end(), [&](const Kept& k) { return k.ep == ep; });
      if (k == kept.end()) continue;
      auto old = std::find_if(table_.begin(), table_.end(), [&](const Entry& e) { return e.id == k->id; });
      Entry e = *old;
      e.ep = ep;
      for (auto& b : e.bound) {
        b.name = ep.name;
        b.tls = ep.tls();
      }
      table.push_back(std::move(e));
      if (!k->identical) PETREL_LOG(log_, kLogNotice, "http api listener {}: settings changed", detail::endpoint_label(ep));
    }
    table_ = std::move(table);
    asio::post(ioc_, [this, removed, kept = std::move(kept)] {
      for (uint64_t id : removed) close_listener(id);
      for (const Kept& k : kept) {
        auto it = listeners_.find(k.id);
        if (it == listeners_.end()) continue;
        it->second->tls = k.tls;  // new connections only: existing ones keep theirs
        if (!k.identical) close_connections(k.id);
      }
    });
    for (Prepared& p : fresh) install(std::move(p));
    return {};
  }

  void close_all() {
    std::lock_guard lock(mu_);
    table_.clear();
    asio::post(ioc_, [this] { close_everything(); });
  }

  void start() {
    std::lock_guard lock(mu_);
    if (started_ || stopped_) return;
    started_ = true;
    thread_ = std::thread([this] { ioc_.run(); });
    thread_id_ = thread_.get_id();
  }

  void stop() {
    bool first = false, started = false;
    std::thread::id server_thread;
    {
      std::lock_guard lock(mu_);
      first = !stopped_;
      stopped_ = true;
      started = started_;
      server_thread = thread_id_;
      table_.clear();
    }
    if (first) {
      asio::post(ioc_, [this] {
        close_everything();
        work_.reset();
        ioc_.stop();
      });
    }
    std::lock_guard join_lock(join_mu_);
    if (!started) {
      if (first) ioc_.run();  // never started: the queued work and the shutdown run here
    } else if (thread_.joinable() && std::this_thread::get_id() != server_thread) {
      thread_.join();
    }
  }

  std::vector<BoundAddress> bound() const {
    std::lock_guard lock(mu_);
    std::vector<BoundAddress> out;
    for (const Entry& e : table_) out.insert(out.end(), e.bound.begin(), e.bound.end());
    return out;
  }

  size_t connection_count() const { return connection_count_.load(std::memory_order_relaxed); }

 private:
  // Config-level view of an open endpoint (guarded by mu_).
  struct Entry {
    Endpoint ep;
    uint64_t id;
    std::vector<BoundAddress> bound;
  };
  // Runtime side of an endpoint, touched only on the server thread once installed.
  struct Listener {
    uint64_t id;
    std::string label;
    std::shared_ptr<asio::ssl::context> tls;
    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    bool open = true;
  };
  struct Prepared {
    Endpoint ep;
    std::shared_ptr<asio::ssl::context> tls;
    std::vector<BoundSocket> sockets;
  };

  // An endpoint keeps its socket across replace() when address and (given) port match.
  static bool same_socket(const Endpoint& a, const Endpoint& b) {
    return a.port != 0 && a.port == b.port && a.address == b.address;
  }

  // An error text when two endpoints (or one and an open one) would share a socket.
  std::string find_duplicate(const std::vector<Endpoint>& eps, bool against_open) const {
    for (size_t i = 0; i < eps.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (same_socket(eps[i], eps[j])) return "http api listener " + detail::endpoint_label(eps[i]) + ": listed twice";
      }
      if (against_open && std::any_of(table_.begin(), table_.end(), [&](const Entry& e) { return same_socket(e.ep, eps[i]); })) {
        return "http api listener " + detail::endpoint_label(eps[i]) + ": already open";
      }
    }
    return {};
  }

  Result<Prepared> prepare(const Endpoint& ep) {
    Prepared p{ep, nullptr, {}};
    if (ep.tls()) {
      auto tls = detail::make_tls_context(ep);
      if (!tls) return tls.error();
      p.tls = std::move(*tls);
    }
    auto sockets = detail::bind_endpoint(ioc_, ep);
    if (!sockets) return sockets.error();
    p.sockets = std::move(*sockets);
    return p;
  }

  // Records a prepared endpoint and hands its sockets to the server thread (mu_ held).
  void install(Prepared p) {
    auto l = std::make_shared<Listener>();
    l->id = next_id_++;
    l->label = detail::endpoint_label(p.ep);
    l->tls = std::move(p.tls);
    Entry e{p.ep, l->id, {}};
    for (auto& s : p.sockets) {
      PETREL_LOG(log_, kLogNotice, "Opening http api listen socket on {} port {}{}{}.", s.address.address,
                 s.address.port, p.ep.tls() ? " (HTTPS)" : "", p.ep.name.empty() ? "" : " (" + p.ep.name + ")");
      e.bound.push_back(s.address);
      l->acceptors.push_back(std::move(s.acceptor));
    }
    table_.push_back(std::move(e));
    asio::post(ioc_, [this, l] {
      listeners_[l->id] = l;
      for (size_t i = 0; i < l->acceptors.size(); ++i) accept(l, i);
    });
  }

  void accept(const std::shared_ptr<Listener>& l, size_t i) {
    l->acceptors[i]->async_accept([this, l, i](boost::system::error_code ec, tcp::socket socket) {
      if (!l->open) return;
      if (ec) {
        // Out of descriptors, say: try again shortly rather than spin.
        PETREL_LOG(log_, kLogWarning, "http api listener {}: accept failed: {}", l->label, ec.message());
        auto t = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(100));
        t->async_wait([this, l, i, t](boost::system::error_code) {
          if (l->open) accept(l, i);
        });
        return;
      }
      on_accept(*l, std::move(socket));
      accept(l, i);
    });
  }

  void on_accept(Listener& l, tcp::socket socket) {
    boost::system::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return;
    const std::string peer = detail::address_text(remote.address());
    if (connections_.size() >= ctx_.limits.max_connections) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_refusal_log_ > std::chrono::seconds(10)) {  // at most one line per 10 s under a flood
        last_refusal_log_ = now;
        PETREL_LOG(log_, kLogWarning, "http api listener {}: connection from {} refused: {} connections open", l.label,
                   peer, connections_.size());
      }
      socket.close(ec);
      return;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto c = detail::make_connection(ctx_, std::move(socket), l.tls, l.id, peer);
    connections_.emplace(c.get(), c);
    connection_count_.store(connections_.size(), std::memory_order_relaxed);
    c->start();
  }

  void forget(ConnectionBase* c) {
    connections_.erase(c);
    connection_count_.store(connections_.size(), std::memory_order_relaxed);
  }

  void close_connections(uint64_t listener) {
    std::vector<std::shared_ptr<ConnectionBase>> doomed;
    for (auto& [p, c] : connections_) {
      if (c->listener() == listener) doomed.push_back(c);
    }
    for (auto& c : doomed) c->close();
  }

  void close_listener(uint64_t id) {
    auto it = listeners_.find(id);
    if (it == listeners_.end()) return;
    it->second->open = false;
    boost::system::error_code ec;
    for (auto& a : it->second->acceptors) a->close(ec);
    PETREL_LOG(log_, kLogNotice, "http api listener {} closed", it->second->label);
    listeners_.erase(it);
    close_connections(id);
  }

  void close_everything() {
    std::vector<uint64_t> ids;
    for (auto& [id, l] : listeners_) ids.push_back(id);
    for (uint64_t id : ids) close_listener(id);
    std::vector<std::shared_ptr<ConnectionBase>> rest;
    for (auto& [p, c] : connections_) rest.push_back(c);
    for (auto& c : rest) c->close();
  }

  Logger& log_;
  Dispatcher dispatcher_;
  asio::io_context ioc_;  // before everything holding sockets, so it is destroyed after them
  asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(ioc_);
  std::shared_ptr<detail::ServerLink> link_;
  detail::ServerContext ctx_;

  mutable std::mutex mu_;  // table_, next_id_, started_, stopped_; serialises open/replace
  std::vector<Entry> table_;
  uint64_t next_id_ = 1;
  bool started_ = false;
  bool stopped_ = false;
  std::mutex join_mu_;
  std::thread thread_;
  std::thread::id thread_id_;
  std::atomic<size_t> connection_count_{0};

  // Server thread only.
  std::unordered_map<uint64_t, std::shared_ptr<Listener>> listeners_;
  std::unordered_map<ConnectionBase*, std::shared_ptr<ConnectionBase>> connections_;
  std::chrono::steady_clock::time_point last_refusal_log_{};
};

HttpServer::HttpServer(Logger& log, Router& router, Auth& auth, Limits limits)
    : impl_(std::make_unique<Impl>(log, router, auth, limits)) {}
HttpServer::~HttpServer() = default;
void HttpServer::set_content_security_policy(std::string csp) { impl_->set_csp(std::move(csp)); }
Result<void> HttpServer::open(const std::vector<Endpoint>& endpoints) { return impl_->open(endpoints); }
Result<void> HttpServer::replace(const std::vector<Endpoint>& next) { return impl_->replace(next); }
void HttpServer::close_all() { impl_->close_all(); }
void HttpServer::start() { impl_->start(); }
void HttpServer::stop() { impl_->stop(); }
std::vector<BoundAddress> HttpServer::bound() const { return impl_->bound(); }
size_t HttpServer::connection_count() const { return impl_->connection_count(); }

}  // namespace petrel::web
