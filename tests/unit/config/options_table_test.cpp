// The option table: complete (every mosquitto.conf option is known), consistent, and the
// Markdown reference has one line per option.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "config/options.h"

namespace petrel::config {
namespace {

TEST(ConfigOptionTable, SortedUniqueAndDocumented) {
  auto table = option_table();
  ASSERT_GT(table.size(), 100u);
  std::set<std::string_view> names;
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& d = table[i];
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate " << d.name;
    if (i > 0) {
      EXPECT_LT(table[i - 1].name, d.name);
    }
    EXPECT_FALSE(d.doc.empty()) << d.name;
    EXPECT_FALSE(d.syntax.empty()) << d.name;
    EXPECT_FALSE(d.default_value.empty()) << d.name;
    EXPECT_EQ(d.doc.find('\n'), std::string_view::npos) << d.name;
    if (d.status == Status::kSupported) {
      EXPECT_NE(d.parse, nullptr) << d.name << " is supported but has no parser";
    }
    if (d.scope == Scope::kBridge) {
      EXPECT_EQ(d.status, Status::kSupported) << d.name;
    }
    // Every option of mosquitto.conf(5) is implemented, accepted with no effect for a
    // stated reason, or refused for one (OpenSSL engines): none is "not supported yet".
    EXPECT_NE(d.status, Status::kNotSupportedYet) << d.name;
  }
}

TEST(ConfigOptionTable, KnowsEveryMosquittoOption) {
  // mosquitto.conf(5), Mosquitto 2.0 (plus 2.1 additions and accepted aliases).
  const char* mosquitto[] = {
      "acl_file", "allow_anonymous", "allow_duplicate_messages", "allow_zero_length_clientid",
      "auth_opt_x", "auth_plugin", "auth_plugin_deny_special_chars", "auto_id_prefix", "autosave_interval",
      "autosave_on_changes", "check_retain_source", "clientid_prefixes", "connection_messages", "include_dir",
      "log_dest", "log_facility", "log_timestamp", "log_timestamp_format", "log_type", "max_inflight_bytes",
      "max_inflight_messages", "max_keepalive", "max_packet_size", "max_queued_bytes", "max_queued_messages",
      "memory_limit", "message_size_limit", "password_file", "per_listener_settings", "persistence",
      "persistence_file", "persistence_location", "persistent_client_expiration", "pid_file", "plugin",
      "plugin_opt_x", "psk_file", "queue_qos0_messages", "retain_available", "set_tcp_nodelay", "sys_interval",
      "upgrade_outgoing_qos", "user", "global_plugin", "global_max_clients", "global_max_connections",
      "enable_control_api", "retain_expiry_interval", "retry_interval",
      // listeners
      "bind_address", "bind_interface", "http_dir", "listener", "max_connections", "max_qos", "maximum_qos",
      "max_topic_alias", "mount_point", "port", "protocol", "socket_domain", "use_username_as_clientid",
      "websockets_log_level", "websockets_headers_size", "websockets_origin", "accept_protocol_versions",
      "enable_proxy_protocol", "proxy_protocol_v2_require_tls", "listener_allow_anonymous",
      "max_topic_alias_broker", "packet_buffer_size",
      "cafile", "capath", "certfile", "ciphers", "ciphers_tls1.3", "crlfile", "dhparamfile",
      "disable_client_cert_date_checks", "keyfile", "require_certificate", "tls_engine",
      "tls_engine_kpass_sha1", "tls_keyform", "tls_version", "use_identity_as_username",
      "use_subject_as_username", "psk_hint",
      // bridges
      "address", "addresses", "bridge_attempt_unsubscribe", "bridge_bind_address", "bridge_max_packet_size",
      "bridge_max_topic_alias", "bridge_outgoing_retain", "bridge_protocol_version", "bridge_receive_maximum",
      "bridge_session_expiry_interval", "bridge_tcp_keepalive", "bridge_tcp_user_timeout", "cleansession",
      "local_cleansession", "connection", "keepalive_interval", "idle_timeout", "local_clientid",
      "local_password", "local_username", "notifications", "notifications_local_only", "notification_topic",
      "remote_clientid", "clientid", "remote_password", "password", "remote_username", "username",
      "restart_timeout", "round_robin", "start_type", "threshold", "topic", "try_private",
      "bridge_reload_type", "bridge_alpn", "bridge_cafile", "bridge_capath", "bridge_certfile",
      "bridge_identity", "bridge_insecure", "bridge_keyfile", "bridge_psk", "bridge_require_ocsp",
      "bridge_tls_use_os_certs", "bridge_tls_version", "bridge_ciphers", "bridge_ciphers_tls1.3"};
  for (const char* name : mosquitto) EXPECT_NE(find_option(name), nullptr) << name;
}

TEST(ConfigOptionTable, IssueScopeOptionsAreSupported) {
  for (const char* name : {"listener", "port", "bind_address", "socket_domain", "max_connections",
                           "allow_anonymous", "allow_zero_length_clientid", "auto_id_prefix", "max_keepalive",
                           "max_packet_size", "message_size_limit", "max_inflight_messages", "max_inflight_bytes",
                           "max_queued_messages", "max_queued_bytes", "queue_qos0_messages", "max_qos",
                           "retain_available", "max_topic_alias", "persistent_client_expiration", "sys_interval",
                           "log_type", "log_dest", "log_timestamp", "log_timestamp_format", "connection_messages",
                           "pid_file", "per_listener_settings", "set_tcp_nodelay", "include_dir", "threads",
                           "log_level", "bridges_only",
                           // the durable store
                           "persistence", "retained_persistence", "persistence_location", "persistence_file",
                           "persistence_sync", "autosave_interval", "autosave_on_changes",
                           // bridges
                           "connection", "address", "addresses", "topic", "round_robin", "bridge_protocol_version",
                           "try_private", "cleansession", "local_cleansession", "keepalive_interval", "clientid",
                           "remote_clientid", "local_clientid", "username", "remote_username", "password",
                           "remote_password", "local_username", "local_password", "notifications",
                           "notification_topic", "notifications_local_only", "bridge_attempt_unsubscribe",
                           "bridge_outgoing_retain", "bridge_max_packet_size", "bridge_bind_address",
                           "restart_timeout", "start_type", "threshold", "idle_timeout", "bridge_cafile",
                           "bridge_capath", "bridge_certfile", "bridge_keyfile", "bridge_insecure",
                           "bridge_tls_version", "bridge_ciphers", "bridge_ciphers_tls1.3", "bridge_alpn",
                           "bridge_tls_use_os_certs", "bridge_identity", "bridge_psk",
                           "bridge_session_expiry_interval", "bridge_receive_maximum", "bridge_max_topic_alias",
                           "bridge_tcp_keepalive", "bridge_reload_type", "primary_retry_interval",
                           "primary_holddown"}) {
    const OptionDescriptor* d = find_option(name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_EQ(d->status, Status::kSupported) << name;
  }
}

TEST(ConfigOptionTable, ScopesAndSecurityFlag) {
  EXPECT_EQ(find_option("listener")->scope, Scope::kListener);
  EXPECT_EQ(find_option("max_qos")->scope, Scope::kListener);
  EXPECT_EQ(find_option("sys_interval")->scope, Scope::kGlobal);
  EXPECT_EQ(find_option("topic")->scope, Scope::kBridge);
  EXPECT_EQ(find_option("primary_holddown")->scope, Scope::kBridge);
  EXPECT_EQ(find_option("bridges_only")->scope, Scope::kGlobal);
  EXPECT_EQ(find_option("bridge_require_ocsp")->status, Status::kSupported);
  EXPECT_EQ(find_option("bridge_tcp_user_timeout")->status, Status::kSupported);
  EXPECT_TRUE(find_option("allow_anonymous")->per_listener_security);
  EXPECT_TRUE(find_option("password_file")->per_listener_security);
  EXPECT_FALSE(find_option("max_keepalive")->per_listener_security);
}

TEST(ConfigOptionTable, PrefixEntries) {
  EXPECT_EQ(find_option("plugin_opt_db_host")->name, "plugin_opt_*");
  EXPECT_EQ(find_option("auth_opt_x")->name, "auth_opt_*");
  EXPECT_EQ(find_option("plugin_opt_"), nullptr);
  EXPECT_EQ(find_option("nope"), nullptr);
}

TEST(ConfigOptionTable, MarkdownReferenceHasOneLinePerOption) {
  std::string md = options_reference_markdown();
  std::istringstream in(md);
  std::string line;
  size_t rows = 0;
  while (std::getline(in, line)) {
    if (line.rfind("| `", 0) == 0) ++rows;
  }
  EXPECT_EQ(rows, option_table().size());
  EXPECT_NE(md.find("| `max_qos` | listener | `0..2` | 2 | supported |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `allow_anonymous` | global, per listener | `true\\|false` |"), std::string::npos);
  EXPECT_NE(md.find("| `persistence` | global | `true\\|false` | false | supported |"), std::string::npos);
  EXPECT_NE(md.find("| `persistence_sync` | global | `commit \\| interval MS \\| off` | commit | supported |"),
            std::string::npos);
}

}  // namespace
}  // namespace petrel::config
