#pragma once
// BridgeManager: every configured bridge, on one thread of their own (an io_context; DNS
// goes through Asio's resolver, so nothing here blocks a broker worker). Starts them,
// applies reloads (added bridges start, removed ones stop, changed ones restart and take
// their queue over, unchanged ones are not touched), stops them gracefully, and answers
// status() from any thread (the internal status interface the web admin reads).
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bridge/bridge.h"
#include "common/log.h"
#include "config/config.h"

namespace petrel::bridge {

class BridgeManager {
 public:
  // open_local: see Environment::open_local (net::Server::open_internal).
  // link_for: see Environment::link_for (broker::Broker::bridge_link).
  BridgeManager(Logger& log, std::function<int(const std::string&)> open_local,
                std::function<std::shared_ptr<BridgeLink>(const std::string&)> link_for = {});
  ~BridgeManager();
  BridgeManager(const BridgeManager&) = delete;
  BridgeManager& operator=(const BridgeManager&) = delete;

  // Starts every bridge of cfg. `subscribed` (optional) runs once, on the bridges' thread,
  // when every bridge's local side has subscribed (at once when there are none).
  void start(const config::Config& cfg, std::function<void()> subscribed = {});
  void reload(const config::Config& cfg);  // any thread
  // DISCONNECTs every bridge (waiting at most `timeout` for the remotes), joins the thread.
  void stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  std::vector<BridgeStatus> status() const;  // any thread; in configuration order
  size_t size() const;

 private:
  static BridgeLimits limits_of(const config::Config& cfg);
  // On the bridges' thread; `subscribed` as in start() (new bridges only).
  void apply(const config::Config& cfg, std::function<void()> subscribed = {});
  void launch(const config::Bridge& b, std::unique_ptr<MessageStore> store,
              std::function<void()> subscribed = {});
  void replace(const std::string& name, const config::Bridge& b);
  Environment env();

  Logger& log_;
  std::function<int(const std::string&)> open_local_;
  std::function<std::shared_ptr<BridgeLink>(const std::string&)> link_for_;
  boost::asio::io_context io_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  BridgeLimits limits_;
  std::vector<std::string> order_;  // configuration order of the names
  mutable std::mutex mu_;           // guards bridges_ (written on the thread, read by status())
  std::map<std::string, std::shared_ptr<Bridge>> bridges_;
  std::map<std::string, config::Bridge> disabled_;  // bridge_enabled false: listed, not run
  bool started_ = false;
};

}  // namespace petrel::bridge
