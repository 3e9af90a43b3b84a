#include "tools/common/runtime.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <sstream>

#include "client/tls_context.h"

namespace petrel::tools {

namespace {

std::string default_client_id(const Config& cfg) {
  if (!cfg.id.empty()) return cfg.id;
  if (!cfg.id_prefix.empty()) return cfg.id_prefix + std::to_string(getpid());
  // MQTT 3.1 needs a client id; 3.1.1 and 5.0 let the server assign one.
  if (cfg.version != protocol::Version::kV31) return {};
  static const char kChars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::random_device rd;
  std::string id = "petrel-";
  for (int i = 0; i < 16; ++i) id += kChars[rd() % (sizeof kChars - 1)];
  return id;
}

}  // namespace

client::TransportOptions transport_options(const Config& cfg) {
  client::TransportOptions t;
  if (!cfg.unix_path.empty()) {
    t.kind = client::TransportKind::kUnix;
    t.unix_path = cfg.unix_path;
  }
  t.host = cfg.host.empty() ? "localhost" : cfg.host;
  const bool tls = cfg.tls_enabled();
  t.port = uint16_t(cfg.port > 0 ? cfg.port : tls ? 8883 : 1883);
  t.bind_address = cfg.bind_address;
  t.nodelay = cfg.nodelay;
  t.proxy = cfg.proxy;
  t.websocket = cfg.ws;
  t.ws_path = cfg.ws_path;
  if (tls) {
    client::TlsOptions o;
    o.cafile = cfg.cafile;
    o.capath = cfg.capath;
    o.use_os_certs = cfg.use_os_certs;
    o.certfile = cfg.certfile;
    o.keyfile = cfg.keyfile;
    o.insecure = cfg.insecure;
    o.version = cfg.tls_version;
    o.ciphers = cfg.ciphers;
    o.alpn = cfg.tls_alpn;
    o.keylog_file = cfg.keylog;
    o.engine = cfg.tls_engine;
    o.key_from_engine = cfg.keyform == "engine";
    if (o.key_from_engine && !cfg.tls_engine_kpass.empty())
      o.engine_kpass_sha1 = client::hex_to_bytes(cfg.tls_engine_kpass).value_or(std::string());
    if (!cfg.psk_hex.empty()) {
      o.psk_identity = cfg.psk_identity;
      o.psk = client::psk_key_from_hex(cfg.psk_hex).value_or(std::string());
    }
    t.tls = std::move(o);
  }
  return t;
}

client::ClientOptions client_options(const Config& cfg) {
  client::ClientOptions o;
  o.version = cfg.version;
  o.client_id = default_client_id(cfg);
  o.clean_start = cfg.clean_session;
  o.keepalive = uint16_t(cfg.keepalive);
  o.username = cfg.username;
  o.password = cfg.password;
  o.max_inflight = uint16_t(cfg.max_inflight);
  const bool v5 = cfg.version == protocol::Version::kV5;
  if (v5) {
    o.connect_props = cfg.connect_props;
    if (cfg.session_expiry) o.connect_props.session_expiry_interval = *cfg.session_expiry;
    else if (!cfg.clean_session) o.connect_props.session_expiry_interval = 0xFFFFFFFFu;
  }
  if (!cfg.will_topic.empty()) {
    protocol::Will w;
    w.topic = cfg.will_topic;
    w.payload = cfg.will_payload.value_or(std::string());
    w.qos = uint8_t(cfg.will_qos);
    w.retain = cfg.will_retain;
    if (v5) w.props = cfg.will_props;
    o.will = std::move(w);
  }
  // Like mosquitto's clients: an established connection that drops is re-made after 1 s.
  o.reconnect.enabled = true;
  o.reconnect.initial_delay = std::chrono::seconds(1);
  o.reconnect.max_delay = std::chrono::seconds(1);
  return o;
}

std::optional<int> parse_or_exit(Tool tool, int argc, char** argv, Config& cfg) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const ParseResult r = parse_command_line(tool, args, cfg);
  if (r.status == ParseStatus::kHelp) {
    std::fputs(usage(tool).c_str(), stdout);
    return kExitError;  // mosquitto's clients exit 1 after --help too
  }
  if (r.status == ParseStatus::kError) {
    std::fprintf(stderr, "Error: %s\n", r.error.c_str());
    if (r.show_usage) std::fprintf(stderr, "Use '%s --help' to see usage.\n", tool_name(tool));
    return kExitError;
  }
  // --tls-engine names an engine OpenSSL has (checked even without TLS, as mosquitto does).
  if (!cfg.tls_engine.empty()) {
    std::string problem;
    if (!client::tls_engine_exists(cfg.tls_engine, problem)) {
      print_error(cfg, "Error: " + problem);
      return kExitError;
    }
  }
  // An -F format is checked before connecting, as mosquitto_sub and mosquitto_rr do.
  if (!cfg.format.empty()) {
    if (auto problem = client::check_format(cfg.format)) {
      std::fprintf(stderr, "Error: %s\nUse '%s --help' to see usage.\n", problem->c_str(), tool_name(tool));
      return kExitError;
    }
  }
  return std::nullopt;
}

void print_error(const Config& cfg, const std::string& line) {
  if (cfg.quiet) return;
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

int report_connect_failure(const Config& cfg, const client::ClientError& e) {
  using client::ErrorKind;
  if (e.kind == ErrorKind::kRefused) {
    print_error(cfg, "Connection error: " + e.message);
    return e.reason;
  }
  std::string where;
  if (e.kind == ErrorKind::kTransport && e.transport_kind == client::TransportErrorKind::kConnect &&
      !cfg.host.empty())
    where = " (" + (cfg.unix_path.empty() ? cfg.host : cfg.unix_path) + ")";
  print_error(cfg, "Error: " + e.message + where);
  if (e.kind == ErrorKind::kTransport) {
    // SOCKS5 failures exit as mosquitto_pub's do: MOSQ_ERR_AUTH, MOSQ_ERR_NO_CONN and
    // MOSQ_ERR_PROXY; an unreachable proxy is 1 like an unreachable broker.
    switch (e.transport_kind) {
      case client::TransportErrorKind::kProxyRefused: return kExitProxyRefused;
      case client::TransportErrorKind::kProxyNoRoute: return kExitProxyNoRoute;
      case client::TransportErrorKind::kProxy: return kExitProxy;
      default: break;
    }
  }
  return kExitError;
}

void write_stdout(const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  std::fflush(stdout);
}

std::optional<std::string> load_payload(const Config& cfg, std::string& error) {
  switch (cfg.pub_mode) {
    case PubMode::kMessage: return cfg.message;
    case PubMode::kNull: return std::string();
    case PubMode::kFile: {
      std::ifstream in(cfg.file, std::ios::binary);
      if (!in) {
        error = "Error: Unable to open file \"" + cfg.file + "\".";
        return std::nullopt;
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      if (in.bad()) {
        error = "Error: Unable to read file \"" + cfg.file + "\".";
        return std::nullopt;
      }
      std::string data = ss.str();
      if (data.size() > 268435455u) {
        error = "Error: File \"" + cfg.file + "\" must be less than 268435455 bytes.";
        return std::nullopt;
      }
      return data;
    }
    case PubMode::kStdinFile: {
      std::string data((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
      return data;
    }
    default: return std::string();
  }
}

client::OutMessage make_message(const Config& cfg, std::string payload) {
  client::OutMessage m;
  m.topic = cfg.topics.empty() ? std::string() : cfg.topics[0];
  m.payload = std::move(payload);
  m.qos = uint8_t(cfg.qos);
  m.retain = cfg.retain;
  if (cfg.version == protocol::Version::kV5) m.props = cfg.publish_props;
  return m;
}

std::function<void(const std::string&)> debug_logger(const Config& cfg) {
  if (!cfg.debug) return {};
  return [](const std::string& line) { write_stdout(line + "\n"); };
}

void print_message(const Config& cfg, const client::Message& m) {
  std::string out, err;
  if (!cfg.format.empty()) {
    client::FormatOptions fo;
    fo.pretty = cfg.pretty;
    fo.v5 = cfg.version == protocol::Version::kV5;
    client::render_format(cfg.format, m, fo, out, err);
    if (cfg.eol) out += '\n';
  } else {
    client::render_plain(m, cfg.verbose, cfg.eol, out);
  }
  if (!err.empty() && !cfg.quiet) std::fputs(err.c_str(), stderr);
  write_stdout(out);
}

}  // namespace petrel::tools
