#include "bridge/manager.h"

#include <future>

#include "config/diff.h"

#include <boost/asio/post.hpp>

#include <condition_variable>
#include <set>

namespace petrel::bridge {

namespace asio = boost::asio;

BridgeManager::BridgeManager(Logger& log, std::function<int(const std::string&)> open_local,
                             std::function<std::shared_ptr<BridgeLink>(const std::string&)> link_for)
    : log_(log), open_local_(std::move(open_local)), link_for_(std::move(link_for)), work_(io_.get_executor()) {}

BridgeManager::~BridgeManager() { stop(); }

BridgeLimits BridgeManager::limits_of(const config::Config& cfg) {
  BridgeLimits l;
  l.max_queued_messages = cfg.max_queued_messages > 0 ? static_cast<size_t>(cfg.max_queued_messages) : 0;
  l.max_queued_bytes = cfg.max_queued_bytes;
  l.queue_qos0_messages = cfg.queue_qos0_messages;
  l.max_inflight_messages = cfg.max_inflight_messages;
  l.sys_interval = cfg.sys_interval;
  return l;
}

Environment BridgeManager::env() { return Environment{io_.get_executor(), &log_, open_local_, link_for_}; }

void BridgeManager::start(const config::Config& cfg, std::function<void()> subscribed) {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { io_.run(); });
  asio::post(io_, [this, cfg, subscribed = std::move(subscribed)] { apply(cfg, subscribed); });
}

void BridgeManager::reload(const config::Config& cfg) {
  if (!started_) return;
  // Waits until the bridges' thread has applied it (added ones launched, removed and
  // changed ones told to stop), so whoever asked is told the truth; connecting to the
  // remotes goes on after.
  auto done = std::make_shared<std::promise<void>>();
  auto applied = done->get_future();
  asio::post(io_, [this, cfg, done] {
    apply(cfg);
    done->set_value();
  });
  if (applied.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
    PETREL_LOG(log_, kLogWarning, "Bridges: the reload is taking longer than 5 s to apply.");
}

void BridgeManager::launch(const config::Bridge& b, std::unique_ptr<MessageStore> store,
                           std::function<void()> subscribed) {
  auto br = std::make_shared<Bridge>(env(), b, limits_, std::move(store));
  {
    std::lock_guard lk(mu_);
    bridges_[b.name] = br;
  }
  br->start(std::move(subscribed));
}

// Stops the running bridge `name` and starts its new configuration with the old queue.
void BridgeManager::replace(const std::string& name, const config::Bridge& b) {
  std::shared_ptr<Bridge> old;
  {
    std::lock_guard lk(mu_);
    auto it = bridges_.find(name);
    if (it == bridges_.end()) return;
    old = it->second;
  }
  // The successor resumes the local session (nothing published meanwhile is lost) unless
  // it uses another local client id: then the old session must not linger.
  const bool new_local_id = Bridge::local_id_for(old->config()) != Bridge::local_id_for(b);
  old->stop([this, old, b] {
    std::lock_guard lk(mu_);
    auto it = bridges_.find(b.name);
    if (it == bridges_.end() || it->second != old) return;  // removed or replaced meanwhile
    auto store = old->take_store();
    auto br = std::make_shared<Bridge>(env(), b, limits_, std::move(store));
    std::vector<std::string> stale;
    const TopicMap now(b.topics);
    for (const auto& sub : TopicMap(old->config().topics).local_subscriptions()) {
      bool kept = false;
      for (const auto& n : now.local_subscriptions()) kept |= n.filter == sub.filter;
      if (!kept) stale.push_back(sub.filter);
    }
    br->set_stale_local_filters(std::move(stale));
    it->second = br;
    asio::post(io_, [br] { br->start(); });
  }, new_local_id);
}

void BridgeManager::apply(const config::Config& cfg, std::function<void()> subscribed) {
  limits_ = limits_of(cfg);
  // One count per new bridge; the last one to subscribe runs `subscribed`.
  auto pending = std::make_shared<size_t>(0);
  auto one_subscribed = [pending, subscribed] {
    if (--*pending == 0 && subscribed) subscribed();
  };
  std::set<std::string> wanted;
  std::vector<std::string> order;
  std::map<std::string, config::Bridge> disabled;
  for (const auto& b : cfg.bridges) {
    order.push_back(b.name);
    if (b.enabled) wanted.insert(b.name);
    else disabled.emplace(b.name, b);
  }
  // Removed bridges stop.
  std::vector<std::shared_ptr<Bridge>> gone;
  {
    std::lock_guard lk(mu_);
    for (auto it = bridges_.begin(); it != bridges_.end();) {
      if (wanted.count(it->first)) {
        ++it;
        continue;
      }
      gone.push_back(it->second);
      it = bridges_.erase(it);
    }
    order_ = order;
    disabled_ = std::move(disabled);
  }
  for (auto& g : gone) {
    PETREL_LOG(log_, kLogNotice, "Bridge {} {}: stopping.", g->config().name,
               disabled_.count(g->config().name) ? "disabled" : "removed from the configuration");
    g->stop([g] {}, /*removed=*/true);
  }
  for (const auto& b : cfg.bridges) {
    if (!b.enabled) continue;
    std::shared_ptr<Bridge> cur;
    {
      std::lock_guard lk(mu_);
      auto it = bridges_.find(b.name);
      if (it != bridges_.end()) cur = it->second;
    }
    if (!cur) {
      ++*pending;
      launch(b, nullptr, one_subscribed);
      continue;
    }
    cur->set_limits(limits_);
    if (config::same_bridge_settings(cur->config(), b)) continue;  // unchanged: keeps its connection
    if (b.reload_immediate) {
      PETREL_LOG(log_, kLogNotice, "Bridge {} changed: reconnecting with the new settings.", b.name);
      replace(b.name, b);
    } else {
      PETREL_LOG(log_, kLogNotice, "Bridge {} changed: the new settings apply at its next reconnect "
                 "(bridge_reload_type lazy).", b.name);
      cur->request_restart_on_reconnect([this, b] { replace(b.name, b); });
    }
  }
  if (*pending == 0 && subscribed) subscribed();
}

void BridgeManager::stop(std::chrono::milliseconds timeout) {
  if (!started_) return;
  started_ = false;
  std::mutex m;
  std::condition_variable cv;
  size_t remaining = 0;
  bool counted = false;
  asio::post(io_, [&] {
    std::vector<std::shared_ptr<Bridge>> all;
    {
      std::lock_guard lk(mu_);
      for (auto& [n, b] : bridges_) all.push_back(b);
    }
    {
      std::lock_guard lk(m);
      remaining = all.size();
      counted = true;
    }
    cv.notify_all();
    for (auto& b : all) {
      b->stop([&, b] {
        std::lock_guard lk(m);
        --remaining;
        cv.notify_all();
      });
    }
  });
  {
    std::unique_lock lk(m);
    cv.wait_for(lk, timeout, [&] { return counted && remaining == 0; });
  }
  io_.stop();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  bridges_.clear();
}

std::vector<BridgeStatus> BridgeManager::status() const {
  std::lock_guard lk(mu_);
  std::vector<BridgeStatus> out;
  for (const auto& n : order_) {
    auto it = bridges_.find(n);
    if (it == bridges_.end()) {
      auto d = disabled_.find(n);
      if (d == disabled_.end()) continue;
      BridgeStatus st;
      st.name = n;
      st.enabled = false;
      st.remote_client_id = Bridge::remote_id_for(d->second);
      out.push_back(std::move(st));
      continue;
    }
    BridgeStatus st = it->second->status();
    out.push_back(std::move(st));
  }
  return out;
}

size_t BridgeManager::size() const {
  std::lock_guard lk(mu_);
  return bridges_.size();
}

}  // namespace petrel::bridge
