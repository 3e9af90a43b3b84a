// WorkerCore and the Security interface at SUBSCRIBE: a refused filter gets 0x80 (v3) or
// 0x87 Not authorized (v5) in its own SUBACK slot while the others are granted; a shared
// subscription is judged by its filter without "$share/group/"; read access still filters
// each delivery, retained messages included. The ACL decision itself is src/auth's
// (tests/unit/auth); here a table stands in for it.
#include <set>

#include "fake_link.h"

namespace petrel::broker::coretest {
namespace {

// Grants SUBSCRIBE for the filters in `subscribe` and read for the topics in `read`.
class TableSecurity final : public Security {
 public:
  std::set<std::string, std::less<>> subscribe, read;
  mutable std::vector<std::string> asked;  // filters asked about, in order

  uint8_t authenticate(const ClientIdentity&, std::string&) const override { return 0; }
  bool allowed(int, std::string_view, std::string_view, std::string_view topic,
               Access access) const override {
    switch (access) {
      case Access::kSubscribe:
        asked.emplace_back(topic);
        return subscribe.count(topic) != 0;
      case Access::kRead:
        return read.count(topic) != 0;
      case Access::kWrite:
        return true;
    }
    return false;
  }
  bool has_acl() const override { return true; }
};

class CoreSubAcl : public CoreTest {
 protected:
  void SetUp() override {
    sec = std::make_shared<TableSecurity>();
    sec->subscribe = {"ok/#", "ok/1", "inner/#"};
    sec->read = {"ok/1", "inner/1"};
    start();
    core(0).apply_security(sec);
  }
  std::shared_ptr<TableSecurity> sec;
};

std::vector<uint8_t> suback_codes(const std::vector<Rx>& rx) {
  for (const auto& r : rx)
    if (r.is(PacketType::kSuback)) return r.suback().reasons;
  ADD_FAILURE() << "no SUBACK";
  return {};
}

TEST_F(CoreSubAcl, V311RefusedFilterGets0x80OthersGrantedInOrder) {
  Client& c = connected("c311");
  auto rx = subscribe(c, {sub_topic("ok/#", 1), sub_topic("no/#", 1), sub_topic("ok/1", 2)});
  EXPECT_EQ(suback_codes(rx), (std::vector<uint8_t>{1, 0x80, 2}));
  EXPECT_EQ(sec->asked, (std::vector<std::string>{"ok/#", "no/#", "ok/1"}));
  // The refused filter is not subscribed; the granted ones are.
  Client& p = connected("pub");
  publish(p, "ok/1", "yes");
  publish(p, "no/1", "no");
  EXPECT_EQ(payloads(c.pubs()), std::vector<std::string>{"yes"});
}

TEST_F(CoreSubAcl, V5RefusedFilterGets0x87NotAuthorized) {
  Client& c = connected(mk5("c5"));
  auto rx = subscribe(c, {sub_topic("no/#", 0), sub_topic("ok/#", 1)});
  EXPECT_EQ(suback_codes(rx), (std::vector<uint8_t>{rc::kNotAuthorized, 1}));
}

TEST_F(CoreSubAcl, SharedSubscriptionJudgedWithoutSharePrefix) {
  Client& c = connected(mk5("sh"));
  auto rx = subscribe(c, {sub_topic("$share/g/inner/#", 1), sub_topic("$share/g/no/#", 1)});
  EXPECT_EQ(suback_codes(rx), (std::vector<uint8_t>{1, rc::kNotAuthorized}));
  EXPECT_EQ(sec->asked, (std::vector<std::string>{"inner/#", "no/#"}));
}

TEST_F(CoreSubAcl, ReadStillCheckedPerDeliveryAndForRetained) {
  Client& p = connected("pub");
  publish(p, "ok/1", "r1", 0, true);
  publish(p, "ok/2", "r2", 0, true);  // ok/# may be subscribed, ok/2 not read
  Client& c = connected("c");
  auto rx = subscribe(c, "ok/#");
  EXPECT_EQ(suback_codes(rx), std::vector<uint8_t>{0});
  std::vector<std::string> got;
  for (auto& r : rx)
    if (r.is(PacketType::kPublish)) got.push_back(r.pub.payload);
  EXPECT_EQ(got, std::vector<std::string>{"r1"});
  publish(p, "ok/2", "live2");
  publish(p, "ok/1", "live1");
  EXPECT_EQ(payloads(c.pubs()), std::vector<std::string>{"live1"});
}

TEST_F(CoreSubAcl, NewSecurityAppliesToTheNextSubscribe) {
  Client& c = connected("c");
  EXPECT_EQ(suback_codes(subscribe(c, "no/#")), std::vector<uint8_t>{0x80});
  auto next = std::make_shared<TableSecurity>();
  next->subscribe = {"no/#"};
  core(0).apply_security(next);  // what a SIGHUP does
  EXPECT_EQ(suback_codes(subscribe(c, "no/#")), std::vector<uint8_t>{0});
  EXPECT_EQ(suback_codes(subscribe(c, "ok/#")), std::vector<uint8_t>{0x80});
}

}  // namespace
}  // namespace petrel::broker::coretest
