#include "plan.h"

#include <unistd.h>

#include <fstream>

namespace petrel::bench {
namespace {

// Ephemeral ports one source address offers to one destination, minus room for the
// rest of the system.
uint32_t ports_per_address() {
  std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
  uint32_t lo = 32768, hi = 60999;
  f >> lo >> hi;
  uint32_t n = hi > lo ? hi - lo + 1 : 1;
  return n > 2000 ? n - 1000 : n / 2 + 1;
}

ClientSpec publisher(const Options& o, uint32_t i, std::string topic) {
  ClientSpec c;
  c.role = Role::kPublisher;
  c.client_id = o.client_prefix + "p" + std::to_string(i);
  c.topic = std::move(topic);
  c.publisher = i;
  c.persistent = o.persistent_publishers;
  return c;
}

ClientSpec subscriber(const Options& o, uint32_t i, std::string filter, uint32_t stream, uint32_t expect) {
  ClientSpec c;
  c.role = Role::kSubscriber;
  c.client_id = o.client_prefix + "s" + std::to_string(i);
  c.filter = std::move(filter);
  c.stream = stream;
  c.expect = expect;
  c.persistent = o.persistent;
  return c;
}

void plan_traffic(const Options& o, Plan& plan) {
  const std::string& pre = o.prefix;
  uint32_t P = o.publishers, S = o.subscribers;
  switch (o.scenario) {
    case Scenario::kPairs:
      for (uint32_t i = 0; i < P; ++i) plan.clients.push_back(subscriber(o, i, pre + "/" + std::to_string(i), i, i));
      for (uint32_t i = 0; i < P; ++i) plan.clients.push_back(publisher(o, i, pre + "/" + std::to_string(i)));
      break;
    case Scenario::kFanIn:
      plan.clients.push_back(subscriber(o, 0, pre + "/#", 0, kAnyPublisher));
      for (uint32_t i = 0; i < P; ++i) plan.clients.push_back(publisher(o, i, pre + "/" + std::to_string(i)));
      break;
    case Scenario::kFanOut:
      for (uint32_t i = 0; i < S; ++i) plan.clients.push_back(subscriber(o, i, pre + "/all", i, 0));
      plan.clients.push_back(publisher(o, 0, pre + "/all"));
      plan.deliveries_per_message = S;
      break;
    case Scenario::kShared:
      for (uint32_t i = 0; i < S; ++i)
        plan.clients.push_back(subscriber(o, i, "$share/petrel_bench/" + pre + "/#", kGroupStream, kAnyPublisher));
      for (uint32_t i = 0; i < P; ++i) plan.clients.push_back(publisher(o, i, pre + "/" + std::to_string(i)));
      break;
    default: break;
  }
}

}  // namespace

Plan make_plan(const Options& o, bool host_is_loopback) {
  Plan plan;
  plan.publishers = o.publishers;
  plan.subscribers = o.subscribers;
  if (o.scenario == Scenario::kConn) {
    uint32_t per_addr = ports_per_address();
    uint32_t addrs = o.source_addresses ? o.source_addresses : (o.connections + per_addr - 1) / per_addr;
    if (!host_is_loopback) addrs = 1;
    for (uint32_t i = 0; i < o.connections; ++i) {
      ClientSpec c;
      c.role = Role::kIdle;
      c.client_id = o.client_prefix + "c" + std::to_string(i);
      if (addrs > 1) c.local_addr = 0x7f000001u + i % addrs;  // 127.0.0.1, .2, ... in turn
      plan.clients.push_back(std::move(c));
    }
    plan.source_addresses = addrs;
  } else if (o.scenario == Scenario::kRetained) {
    std::string base = o.prefix + "/retained/" + std::to_string(::getpid());
    ClientSpec s = subscriber(o, 0, base + "/#", 0, 0);
    s.role = Role::kRetainSubscriber;
    ClientSpec p = publisher(o, 0, base);
    p.role = Role::kRetainPublisher;
    plan.clients.push_back(std::move(s));
    plan.clients.push_back(std::move(p));
    plan.retained = true;
  } else {
    plan_traffic(o, plan);
  }
  return plan;
}

}  // namespace petrel::bench
