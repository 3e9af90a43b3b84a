// Options files, URLs, -D properties and the cross-flag checks.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "client/transport.h"
#include "protocol/topic.h"
#include "tools/common/options.h"

namespace petrel::tools {

namespace {

ParseResult err(std::string msg) { return {ParseStatus::kError, std::move(msg), true}; }

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// "-D publish user-property a b" splits on blanks; other lines are "flag rest-of-line".
std::vector<std::string> split_line(const std::string& line) {
  std::vector<std::string> out;
  const auto sp = line.find_first_of(" \t");
  const std::string flag = line.substr(0, sp);
  out.push_back(flag);
  if (sp == std::string::npos) return out;
  const std::string rest = trim(line.substr(sp));
  if (rest.empty()) return out;
  if (flag == "-D" || flag == "--property") {
    std::istringstream in(rest);
    for (std::string w; in >> w;) out.push_back(w);
  } else {
    out.push_back(rest);
  }
  return out;
}

std::string defaults_path(Tool t) {
  std::string base;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) base = x;
  else if (const char* h = std::getenv("HOME"); h && *h) base = std::string(h) + "/.config";
  else return {};
  return base + "/" + tool_name(t);
}

std::optional<long long> number(const std::string& s, long long max) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (*end != '\0' || v < 0 || v > max) return std::nullopt;
  return v;
}

}  // namespace

ParseResult load_options_file(const std::string& path, Config& cfg, bool optional, int depth) {
  std::ifstream in(path);
  if (!in) {
    if (optional) return {};
    return {ParseStatus::kError, "Unable to open options file \"" + path + "\".", false};
  }
  std::vector<std::string> args;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    for (auto& a : split_line(line)) args.push_back(std::move(a));
  }
  auto r = parse_args(args, cfg, depth);
  if (r.status == ParseStatus::kError) r.error = path + ": " + r.error;
  return r;
}

ParseResult parse_command_line(Tool tool, const std::vector<std::string>& args, Config& cfg) {
  cfg.tool = tool;
  if (tool == Tool::kRr) cfg.version = protocol::Version::kV5;
  if (const std::string path = defaults_path(tool); !path.empty()) {
    auto r = load_options_file(path, cfg, true, 0);
    if (r.status != ParseStatus::kOk) return r;
  }
  // Message-type flags in the defaults file do not clash with the command line's.
  const PubMode file_mode = cfg.pub_mode;
  const bool cli_sets_mode = [&] {
    for (const auto& a : args)
      if (a == "-m" || a == "-f" || a == "-s" || a == "-l" || a == "-n" || a == "--message" ||
          a == "--file" || a == "--stdin-file" || a == "--stdin-line" || a == "--null-message")
        return true;
    return false;
  }();
  if (cli_sets_mode) cfg.pub_mode = PubMode::kNone;
  auto r = parse_args(args, cfg, 0);
  if (r.status != ParseStatus::kOk) return r;
  if (!cli_sets_mode && cfg.pub_mode == PubMode::kNone) cfg.pub_mode = file_mode;
  return finish(cfg);
}

ParseResult parse_url(const std::string& url, Config& cfg) {
  std::string rest;
  int default_port = 1883;
  if (url.rfind("mqtt://", 0) == 0) rest = url.substr(7);
  else if (url.rfind("mqtts://", 0) == 0) rest = url.substr(8), default_port = 8883, cfg.url_tls = true;
  else if (url.rfind("ws://", 0) == 0) rest = url.substr(5), default_port = 80, cfg.ws = true;
  else if (url.rfind("wss://", 0) == 0) rest = url.substr(6), default_port = 443, cfg.ws = true, cfg.url_tls = true;
  else return err("unsupported URL scheme.");
  const auto slash = rest.find('/');
  if (slash == std::string::npos) return err("Invalid URL for -L argument specified - topic missing.");
  std::string authority = rest.substr(0, slash);
  const std::string topic = rest.substr(slash + 1);
  if (const auto at = authority.rfind('@'); at != std::string::npos) {
    const std::string cred = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const auto colon = cred.find(':');
    cfg.username = cred.substr(0, colon);
    if (colon != std::string::npos) cfg.password = cred.substr(colon + 1);
  }
  std::string host = authority, port;
  if (!authority.empty() && authority[0] == '[') {  // [v6 literal]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) return err("Invalid URL for -L argument specified - bad IPv6 address.");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (const auto colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return err("Invalid URL for -L argument specified - host missing.");
  cfg.host = host;
  if (port.empty()) {
    cfg.port = default_port;
  } else {
    auto p = number(port, 65535);
    if (!p || *p == 0) return err("Invalid URL for -L argument specified - bad port.");
    cfg.port = int(*p);
  }
  if (!topic.empty()) {
    if (cfg.tool == Tool::kSub) cfg.topics.push_back(topic);
    else cfg.topics = {topic};
  }
  return {};
}

ParseResult finish(Config& cfg) {
  const char* tool = tool_name(cfg.tool);
  (void)tool;
  if (!cfg.clean_session && cfg.id.empty() && cfg.id_prefix.empty())
    return err("You must provide a client id if you are using the -c option.");
  if (cfg.will_payload && cfg.will_topic.empty()) return err("Will payload given, but no will topic given.");
  if (cfg.will_retain && cfg.will_topic.empty()) return err("Will retain given, but no will topic given.");
  if (cfg.certfile.empty() != cfg.keyfile.empty())
    return err("Both certfile and keyfile must be provided if one of them is set.");
  if (!cfg.psk_hex.empty() && cfg.psk_identity.empty()) return err("--psk-identity required if --psk used.");
  if (cfg.psk_hex.empty() && !cfg.psk_identity.empty()) return err("--psk required if --psk-identity used.");
  if (!cfg.psk_hex.empty() && !client::psk_key_from_hex(cfg.psk_hex))
    return err("Invalid --psk: the pre-shared key must be hexadecimal digits (no leading 0x).");
  if (!cfg.psk_hex.empty() && (!cfg.cafile.empty() || !cfg.capath.empty()))
    return err("Only one of --psk or --cafile/--capath may be used at once.");
  if (cfg.password && !cfg.username && cfg.version != protocol::Version::kV5)
    return err("Problem setting username and/or password: a password needs a username.");
  if (!cfg.unix_path.empty() && (cfg.ws || cfg.tls_enabled()))
    return err("--unix cannot be combined with TLS or WebSocket options.");
  if (cfg.proxy && !cfg.unix_path.empty()) return err("--proxy cannot be combined with --unix.");
  // TLS engines: the checks mosquitto makes after parsing, then --keyform engine's need
  // for an engine (mosquitto only finds out when the TLS handshake is set up). Whether
  // the engine exists is checked before connecting (parse_or_exit).
  if (!cfg.keyform.empty() && cfg.keyfile.empty()) return err("If keyform is set, keyfile must be also specified.");
  if (!cfg.tls_engine_kpass.empty() && (cfg.keyform.empty() || cfg.tls_engine.empty()))
    return err("when using tls-engine-kpass-sha1, both tls-engine and keyform must also be provided.");
  if (cfg.keyform == "engine" && cfg.tls_engine.empty())
    return err("--keyform engine needs --tls-engine: the key (--key) is loaded through that engine.");
  if (!cfg.tls_engine_kpass.empty() && (cfg.tls_engine_kpass.size() != 40 || !client::hex_to_bytes(cfg.tls_engine_kpass)))
    return {ParseStatus::kError, "Problem setting TLS engine key pass sha, is it a 40 character hex string?", false};
  if (cfg.port == 8883 && !cfg.no_tls && cfg.cafile.empty() && cfg.capath.empty() && cfg.psk_hex.empty())
    cfg.use_os_certs = true;  // as mosquitto: port 8883 alone means TLS with the system CAs
  if (cfg.url_tls && cfg.cafile.empty() && cfg.capath.empty() && cfg.psk_hex.empty()) cfg.use_os_certs = true;
  if (cfg.tool == Tool::kPub || cfg.tool == Tool::kRr) {
    if (cfg.topics.empty() || cfg.pub_mode == PubMode::kNone) {
      if (cfg.tool == Tool::kRr && cfg.topics.empty()) return err("You must specify a topic to publish the request on.");
      return err("Both topic and message must be supplied.");
    }
    if (!protocol::valid_topic_name(cfg.topics[0]))
      return err("Invalid publish topic '" + cfg.topics[0] + "', does it contain '+' or '#'?");
  }
  if (cfg.tool == Tool::kSub) {
    if (cfg.topics.empty()) return err("You must specify a topic to subscribe to.");
    for (const auto& t : cfg.topics)
      if (!protocol::valid_topic_filter(t))
        return err("Invalid subscription topic '" + t + "', are all '+' and '#' wildcards correct?");
    if (cfg.no_retain && cfg.retained_only) return err("Combining '-R' and '--retained-only' makes no sense.");
  }
  if (cfg.tool == Tool::kRr && cfg.response_topic.empty())
    return err("You must specify a response topic with -e.");
  if (cfg.tool == Tool::kPub && cfg.pub_mode == PubMode::kStdinLine && cfg.repeat_count > 1)
    return err("--repeat cannot be used with -l.");
  return {};
}

std::string usage(Tool t) {
  std::ostringstream o;
  const char* n = tool_name(t);
  o << n << " is a simple MQTT client (Petrel) compatible with mosquitto_"
    << (t == Tool::kPub ? "pub" : t == Tool::kSub ? "sub" : "rr") << ".\n\nUsage: " << n
    << " {[-h host] [--unix path] [-p port] [-u username] [-P password] -t topic | -L URL}\n";
  if (t == Tool::kPub)
    o << "                  {-f file | -l | -n | -m message | -s}\n"
         "                  [-q qos] [-r] [--repeat N] [--repeat-delay time] [-M max_inflight]\n";
  if (t == Tool::kSub)
    o << "                  [-C msg_count] [-E] [-R] [--retained-only] [--remove-retained]\n"
         "                  [-T filter_out] [-U topic] [-F format] [--pretty] [-v] [-N]\n"
         "                  [-W timeout_secs] [--random-filter chance] [--retain-as-published]\n";
  if (t == Tool::kRr)
    o << "                  -e response-topic {-f file | -n | -m message | -s}\n"
         "                  [-F format] [--pretty] [-v] [-N] [-R] [-W timeout_secs]\n";
  o << "                  [-c] [-k keepalive] [-q qos] [-x session-expiry] [-V 31|311|5]\n"
       "                  [-A bind_address] [--nodelay] [-i id] [-I id_prefix] [-d] [--quiet]\n"
       "                  [--will-topic topic [--will-payload payload] [--will-qos qos] [--will-retain]]\n"
       "                  [{--cafile file | --capath dir} [--cert file] [--key file]\n"
       "                    [--ciphers ciphers] [--insecure] [--tls-alpn protocol]\n"
       "                    [--tls-version version] [--tls-use-os-certs] [--tls-keylog file]\n"
       "                    [--tls-engine engine [--keyform pem|engine] [--tls-engine-kpass-sha1 sha1]]]\n"
       "                  [--psk hex-key --psk-identity identity [--ciphers ciphers]]\n"
       "                  [--ws] [--no-tls] [--proxy socks-url] [-o options-file]\n"
       "                  [-D command identifier value]\n"
       "       "
    << n << " --help\n\n"
       " --proxy : SOCKS5 proxy URL of the form socks5h://[username[:password]@]host[:port]\n"
       "           (port 1080 by default; the proxy resolves host names). Authentication:\n"
       "           none, or username/password when a username is given; write %, : and @\n"
       "           in them as %25, %3A and %40.\n"
       " --tls-engine : an OpenSSL engine id (see `openssl engine`): the engine is loaded for the\n"
       "                TLS connection and used for everything it implements.\n"
       " --keyform : pem (the default: --key is a PEM key file) or engine (--key is a key id that\n"
       "             --tls-engine loads, e.g. a token's key).\n"
       " --tls-engine-kpass-sha1 : with --keyform engine, the SHA1 of the key's password as 40 hex\n"
       "                           digits, handed to engines that accept it (e.g. TPM engines).\n\n"
       "Options, defaults file (~/.config/" << n
    << ") and exit codes follow Mosquitto's; see docs for the full list.\n";
  return o.str();
}

}  // namespace petrel::tools
