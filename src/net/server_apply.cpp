// Server: live changes (prepare + apply of listeners and settings) and what the admin asks
// of the workers (clients, disconnects, security re-checks, listener states).
#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include <future>

#include "config/diff.h"
#include "net/server.h"
#include "net/server_internal.h"
#include "net/transport_factory.h"
#include "protocol/reason_codes.h"

namespace petrel::net {

namespace asio = boost::asio;

int Server::slot_of(const config::Listener& l) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->open && detail::same_key(slots_[i]->cfg, l)) return static_cast<int>(i);
  }
  return -1;
}

void PreparedListenersDeleter::operator()(PreparedListeners* p) const { delete p; }

Result<PreparedPtr> Server::prepare(const ListenerPlan& plan, const config::Config& next) {
  PreparedPtr p(new PreparedListeners);
  std::string err;
  auto in = [](const std::vector<config::Listener>& v, const config::Listener& l) {
    for (const auto& x : v)
      if (detail::same_key(x, l)) return &x;
    return static_cast<const config::Listener*>(nullptr);
  };
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = *slots_[i];
    if (!slot.open) continue;
    // The new settings come from `next` even when the plan does not name the listener:
    // its copy of global security settings (a new psk_file) changes with them.
    const config::Listener* n = in(next.listeners, slot.cfg);
    if (!n || in(plan.remove, slot.cfg)) {
      p->removed.push_back(static_cast<int>(i));
      continue;
    }
    PreparedListeners::Changed c;
    c.slot = static_cast<int>(i);
    c.cfg = *n;
    c.restart = in(plan.restart, slot.cfg) != nullptr;
    c.in_plan = c.restart || in(plan.reload, slot.cfg) != nullptr;
    c.settings_changed = c.in_plan || !(*n == slot.cfg);
    err.clear();
    c.transport = make_transport_factory(c.cfg, log_, err);
    if (!err.empty()) {
      if (c.settings_changed) return Error{0, err};
      // Unchanged settings, but a file behind them broke since: keep what runs.
      p->warnings.push_back(err + "; the listener keeps its current TLS settings");
      c.transport = slot.transport;
    }
    p->changed.push_back(std::move(c));
  }
  // Slots for the new listeners: closed ones whose last connection is gone, then new ones.
  std::vector<int> free;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i]->open && listener_counts_[i].load() == 0) free.push_back(static_cast<int>(i));
  }
  size_t next_new = slots_.size();
  for (const auto& l : plan.add) {
    PreparedListeners::Added a;
    a.cfg = l;
    if (!free.empty()) {
      a.slot = free.front();
      free.erase(free.begin());
    } else if (next_new < kMaxSlots) {
      a.slot = static_cast<int>(next_new++);
    } else {
      return Error{0, "too many listener changes since petrel started; restart petrel to add more"};
    }
    err.clear();
    a.transport = make_transport_factory(l, log_, err);
    if (!err.empty()) return Error{0, err};
    auto bound = detail::bind_listener(workers_[0]->io(), l, a.slot);
    if (!bound) return Error{0, bound.error().message};  // sockets bound so far close here
    a.acceptors = std::move(*bound);
    p->added.push_back(std::move(a));
  }
  // Where every slot will stand: the workers need the settings of a listener before its
  // first connection arrives.
  std::vector<config::Listener> table;
  for (const auto& slot : slots_) table.push_back(slot->cfg);
  for (const auto& c : p->changed) table[c.slot] = c.cfg;
  for (const auto& a : p->added) {
    if (static_cast<size_t>(a.slot) >= table.size()) table.resize(a.slot + 1);
    table[a.slot] = a.cfg;
  }
  auto view = std::make_shared<config::Config>(next);
  view->listeners = std::move(table);
  p->view = std::move(view);
  return p;
}

const config::Config& Server::worker_view(const PreparedListeners& p) { return *p.view; }

void Server::on_every_worker(const std::function<void(Worker&)>& fn) {
  std::vector<std::future<void>> done;
  for (auto& w : workers_) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    Worker* wp = w.get();
    asio::post(wp->io(), [wp, &fn, promise] {
      fn(*wp);
      wp->schedule_turn_end();
      promise->set_value();
    });
  }
  for (auto& f : done) f.wait();
}

ListenerReport Server::apply(PreparedPtr p, bool recheck_security) {
  ListenerReport report;
  report.warnings = p->warnings;
  // 1. The workers get the new settings (and the new listeners' slots) first.
  std::shared_ptr<const config::Config> shared = p->view;
  const std::vector<config::Listener>& table = shared->listeners;
  set_limits(*shared);
  tcp_nodelay_ = shared->set_tcp_nodelay;
  on_every_worker([shared](Worker& w) { w.core().apply_config(shared); });

  // 2. The slots themselves change on worker 0, where accepting happens.
  std::vector<Acceptor*> start;
  std::promise<void> installed;
  asio::post(workers_[0]->io(), [&] {
    std::lock_guard lk(slots_mu_);
    for (int i : p->removed) {
      for (auto& a : slots_[i]->acceptors) {
        boost::system::error_code ec;
        a->acc.close(ec);
      }
      slots_[i]->acceptors.clear();
      slots_[i]->open = false;
    }
    for (auto& c : p->changed) {
      slots_[c.slot]->cfg = c.cfg;
      slots_[c.slot]->transport = c.transport;
    }
    for (auto& a : p->added) {
      while (slots_.size() <= static_cast<size_t>(a.slot)) slots_.push_back(std::make_unique<Slot>());
      Slot& slot = *slots_[a.slot];
      slot.cfg = a.cfg;
      slot.transport = a.transport;
      slot.acceptors = std::move(a.acceptors);
      slot.open = true;
      for (auto& acc : slot.acceptors) start.push_back(acc.get());
    }
    for (Acceptor* a : start) accept_on(*a);
    installed.set_value();
  });
  installed.get_future().wait();

  // 3. Clients of removed and restarted listeners reconnect under the new settings.
  std::vector<int> closing = p->removed;
  for (const auto& c : p->changed)
    if (c.restart) closing.push_back(c.slot);
  std::vector<size_t> dropped(closing.size(), 0);
  if (!closing.empty()) {
    std::mutex mu;
    on_every_worker([&](Worker& w) {
      for (size_t k = 0; k < closing.size(); ++k) {
        size_t n = w.close_listener(closing[k], protocol::rc::kServerShuttingDown);
        std::lock_guard lk(mu);
        dropped[k] += n;
      }
    });
  }

  // 4. Clients the new security settings refuse (their listeners are not "kept" for them).
  std::vector<size_t> refused;
  if (recheck_security) {
    std::mutex mu;
    on_every_worker([&](Worker& w) {
      std::vector<size_t> mine;
      w.core().recheck_clients(&mine);
      std::lock_guard lk(mu);
      if (refused.size() < mine.size()) refused.resize(mine.size(), 0);
      for (size_t i = 0; i < mine.size(); ++i) refused[i] += mine[i];
    });
    for (size_t n : refused) report.refused_by_security += n;
  }

  // The ACL file is read again on every apply, changed path or not: queued messages it
  // no longer lets their session read are dropped now, as routing would drop new ones.
  on_every_worker([&](Worker& w) { w.core().drop_unreadable_queued(); });

  // 5. What happened.
  auto clients = [](size_t n) { return fmt::format("{} client{}", n, n == 1 ? "" : "s"); };
  for (size_t k = 0; k < closing.size(); ++k) {
    const auto& l = table[closing[k]];
    const bool removed = k < p->removed.size();
    report.changed.push_back(fmt::format("listener {} {} ({} disconnected)", config::describe_listener(l),
                                         removed ? "closed" : "restarted", clients(dropped[k])));
    report.disconnected += dropped[k];
  }
  for (const auto& a : p->added) {
    report.changed.push_back(fmt::format("listener {} opened", config::describe_listener(a.cfg)));
    for (const auto& acc : slots_[a.slot]->acceptors)
      PETREL_LOG(log_, kLogNotice, "Opening {} listen socket on {}.",
                 acc->acc.local_endpoint().address().is_v6() ? "ipv6" : "ipv4", acc->where);
  }
  for (const auto& c : p->changed) {
    if (c.restart) continue;
    int n = listener_counts_[c.slot].load();
    if (static_cast<size_t>(c.slot) < refused.size()) n -= static_cast<int>(refused[c.slot]);
    if (c.in_plan)
      report.changed.push_back(fmt::format("listener {} updated", config::describe_listener(c.cfg)));
    if (n > 0)
      report.kept.push_back(fmt::format("{} on {} kept their connections", clients(n), config::describe_listener(c.cfg)));
  }
  return report;
}

void Server::query_clients(const broker::ClientQuery& q,
                           std::function<void(std::vector<broker::ClientInfo>)> done) {
  struct Gather {
    std::mutex mu;
    std::vector<broker::ClientInfo> all;
    size_t remaining;
    std::function<void(std::vector<broker::ClientInfo>)> done;
  };
  auto g = std::make_shared<Gather>();
  g->remaining = workers_.size();
  g->done = std::move(done);
  for (auto& w : workers_) {
    Worker* wp = w.get();
    asio::post(wp->io(), [wp, q, g] {
      std::vector<broker::ClientInfo> mine;
      wp->core().collect_clients(q, mine);
      std::unique_lock lk(g->mu);
      for (auto& c : mine) g->all.push_back(std::move(c));
      if (--g->remaining == 0) {
        auto all = std::move(g->all);
        lk.unlock();
        g->done(std::move(all));
      }
    });
  }
}

void Server::disconnect_client(const std::string& client_id, bool discard_session, std::function<void(bool)> done) {
  Worker* wp = workers_[broker_.home_worker(client_id)].get();
  asio::post(wp->io(), [wp, client_id, discard_session, done = std::move(done)] {
    const bool found = wp->core().disconnect_by_id(client_id, discard_session);
    wp->schedule_turn_end();
    if (done) done(found);
  });
}

void Server::queue_totals(std::function<void(uint64_t, uint64_t)> done) {
  struct Gather {
    std::atomic<uint64_t> queued{0}, inflight{0};
    std::atomic<size_t> remaining{0};
    std::function<void(uint64_t, uint64_t)> done;
  };
  auto g = std::make_shared<Gather>();
  g->remaining = workers_.size();
  g->done = std::move(done);
  for (auto& w : workers_) {
    Worker* wp = w.get();
    asio::post(wp->io(), [wp, g] {
      uint64_t q = 0, f = 0;
      wp->core().queue_totals(q, f);
      g->queued += q;
      g->inflight += f;
      if (--g->remaining == 0) g->done(g->queued.load(), g->inflight.load());
    });
  }
}

std::vector<ListenerState> Server::listener_states() const {
  std::lock_guard lk(slots_mu_);
  std::vector<ListenerState> out;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& slot = *slots_[i];
    if (!slot.open) continue;
    ListenerState st;
    st.index = static_cast<int>(i);
    st.cfg = slot.cfg;
    for (const auto& a : slot.acceptors) st.bound.push_back(a->where);
    st.connections = std::max(0, listener_counts_[i].load());
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace petrel::net
