// The option table's second half (option_values.cpp): every Config field is read back by
// some option, so the diff (and with it SIGHUP and the admin API) sees every change. The
// proof walks every field of Config, Listener, SecuritySettings, LogSettings,
// PersistenceSettings, Bridge, BridgeTopic and BridgeAddress with Boost.PFR, changes it,
// and expects diff_configs to report a difference; the few fields that are bookkeeping,
// not behaviour, are named.
#include <gtest/gtest.h>

#include <boost/pfr.hpp>

#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "config/diff.h"
#include "config/options.h"
#include "config_test_util.h"

namespace petrel::config {
namespace {

using test::parse_ok;

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// Changes a value; returns false for a nested struct (covered by its own walk).
template <class T>
bool mutate(T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    v = !v;
  } else if constexpr (std::is_enum_v<T>) {
    v = static_cast<T>(static_cast<std::underlying_type_t<T>>(v) + 1);
  } else if constexpr (std::is_integral_v<T>) {
    v = static_cast<T>(v + 1);
  } else if constexpr (std::is_same_v<T, std::string>) {
    v += "x";
  } else if constexpr (is_optional<T>::value) {
    if (!v) v.emplace();
    return mutate(*v);
  } else if constexpr (is_vector<T>::value) {
    v.emplace_back();
  } else {
    return false;
  }
  return true;
}

// Walks the fields of the struct `pick(config)` returns: each one changed in a copy must
// show in the diff, unless exempt(struct, field address) says it is bookkeeping.
template <class Pick, class Exempt>
void expect_every_field_read(const Config& base, Pick pick, Exempt exempt, const char* what) {
  using S = std::remove_reference_t<decltype(pick(std::declval<Config&>()))>;
  constexpr size_t n = boost::pfr::tuple_size_v<S>;
  auto one = [&]<size_t I>(std::integral_constant<size_t, I>) {
    Config changed = base;
    S& obj = pick(changed);
    auto& field = boost::pfr::get<I>(obj);
    if (exempt(obj, static_cast<const void*>(&field))) return;
    if (!mutate(field)) return;
    EXPECT_FALSE(diff_configs(base, changed).empty()) << what << " field #" << I << " is read by no option";
  };
  [&]<size_t... I>(std::index_sequence<I...>) { (one(std::integral_constant<size_t, I>{}), ...); }(
      std::make_index_sequence<n>{});
}

Config base_config() {
  return parse_ok(
      "per_listener_settings true\n"
      "listener 1883\n"
      "allow_anonymous true\n"
      "connection b1\naddress 10.0.0.1:1883\ntopic a/# out 1 l/ r/\n");
}

TEST(OptionValues, EveryConfigFieldIsReadBySomeOption) {
  expect_every_field_read(base_config(), [](Config& c) -> Config& { return c; },
                          [](const Config& c, const void* f) {
                            return f == &c.log_type_set ||   // bookkeeping of the parser
                                   f == &c.local_only ||     // derived: the listeners say it
                                   f == &c.max_qos ||        // mirrors of the per-listener values
                                   f == &c.max_topic_alias;
                          },
                          "Config");
}

TEST(OptionValues, EveryListenerFieldIsReadBySomeOption) {
  expect_every_field_read(base_config(), [](Config& c) -> Listener& { return c.listeners.at(0); },
                          [](const Listener& l, const void* f) {
                            return f == &l.source ||                  // where it was written
                                   f == &l.websockets_headers_size;  // a copy of the global option
                          },
                          "Listener");
}

TEST(OptionValues, ListenerKeyChangesAreAnotherListener) {
  Config base = base_config();
  Config moved = base;
  moved.listeners[0].port = 1884;
  ConfigDiff d = diff_configs(base, moved);
  EXPECT_EQ(d.listeners_added.size(), 1u);
  EXPECT_EQ(d.listeners_removed.size(), 1u);
}

TEST(OptionValues, EverySecurityFieldIsReadGloballyAndPerListener) {
  auto exempt = [](const SecuritySettings& s, const void* f) { return f == &s.allow_anonymous_set; };
  expect_every_field_read(base_config(), [](Config& c) -> SecuritySettings& { return c.listeners.at(0).security; },
                          exempt, "SecuritySettings (per listener)");
  Config global = parse_ok("listener 1883\n");
  expect_every_field_read(global, [](Config& c) -> SecuritySettings& { return c.security; }, exempt,
                          "SecuritySettings (global)");
}

TEST(OptionValues, EveryLogFieldIsReadBySomeOption) {
  Config c = base_config();
  c.log.dests |= kDestFile;  // so file_path is shown
  expect_every_field_read(c, [](Config& x) -> LogSettings& { return x.log; }, [](const LogSettings&, const void*) { return false; },
                          "LogSettings");
}

TEST(OptionValues, EveryBridgeFieldIsReadBySomeOption) {
  expect_every_field_read(base_config(), [](Config& c) -> Bridge& { return c.bridges.at(0); },
                          [](const Bridge& b, const void* f) { return f == &b.source; }, "Bridge");
  expect_every_field_read(base_config(), [](Config& c) -> BridgeTopic& { return c.bridges.at(0).topics.at(0); },
                          [](const BridgeTopic& t, const void* f) { return f == &t.source; }, "BridgeTopic");
  expect_every_field_read(base_config(), [](Config& c) -> BridgeAddress& { return c.bridges.at(0).addresses.at(0); },
                          [](const BridgeAddress&, const void*) { return false; }, "BridgeAddress");
}

TEST(OptionValues, EveryPersistenceFieldIsReadBySomeOption) {
  // `interval` so that its milliseconds show in persistence_sync's value.
  expect_every_field_read(parse_ok("listener 1883\npersistence_sync interval 500\n"),
                          [](Config& c) -> PersistenceSettings& { return c.persistence; },
                          [](const PersistenceSettings&, const void*) { return false; }, "PersistenceSettings");
}

TEST(OptionValues, EverySupportedOptionSaysHowItTakesEffect) {
  for (const auto& d : option_table()) {
    if (d.status != Status::kSupported) continue;
    // Plugin lines set other options (password_file, acl_file, persistence), which carry
    // the effect and the value.
    const bool plugin = d.name == "global_plugin" || d.name == "plugin" || d.name == "auth_plugin" ||
                        d.name == "plugin_opt_*" || d.name == "auth_opt_*";
    const bool structural = d.name == "include_dir" || d.name == "listener" || d.name == "connection" ||
                            d.name == "port" || d.name == "bind_address" || d.name == "socket_domain" || plugin;
    if (!structural) {
      EXPECT_NE(d.effect, Effect::kNone) << d.name;
    }
    if (d.alias_of.empty() && !structural && d.name != "include_dir") {
      EXPECT_TRUE(d.read.any()) << d.name << " cannot be read back";
    }
    if (!d.alias_of.empty()) {
      EXPECT_NE(find_option(d.alias_of), nullptr) << d.name;
    }
  }
}

TEST(OptionValues, ReadOptionGivesTheValueInItsOwnSyntax) {
  Config c = parse_ok("listener 1883\nmax_queued_messages 50\nconnection b\naddress [::1]:1884 h\n"
                      "topic \"\" both 2 a/b c/d\nbridge_protocol_version mqttv50\n");
  EXPECT_EQ(read_option(*find_option("max_queued_messages"), c, nullptr, nullptr), "50");
  EXPECT_EQ(read_option(*find_option("address"), c, nullptr, &c.bridges[0]), "[::1]:1884 h:1883");
  EXPECT_EQ(read_option(*find_option("topic"), c, nullptr, &c.bridges[0]), "\"\" both 2 a/b c/d");
  EXPECT_EQ(read_option(*find_option("bridge_protocol_version"), c, nullptr, &c.bridges[0]), "mqttv50");
  EXPECT_EQ(read_option(*find_option("allow_anonymous"), c, &c.listeners[0], nullptr), "false");
}

}  // namespace
}  // namespace petrel::config
