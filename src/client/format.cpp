#include "client/format.h"

#include <cstdio>
#include <cstring>

#include "client/json.h"
#include "protocol/properties.h"

namespace petrel::client {

namespace {

namespace pid = protocol::prop;

struct Spec {
  bool left = false;   // '-'
  bool zero = false;   // '0'
  int width = 0;
  int precision = -1;  // -1 = none
};

timespec now(const FormatOptions& o) {
  if (o.now) return o.now();
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

void pad(std::string& out, int n, char c) {
  if (n > 0) out.append(size_t(n), c);
}

// printf("%-W.Ps") / ("%W.Ps"): the 0 flag does not apply to strings.
void put_string(std::string& out, const Spec& s, std::string_view v) {
  if (s.precision >= 0 && v.size() > size_t(s.precision)) v = v.substr(0, size_t(s.precision));
  const int fill = s.width - int(v.size());
  if (!s.left) pad(out, fill, ' ');
  out += v;
  if (s.left) pad(out, fill, ' ');
}

// A number, or an absent one (printed as an empty, still padded, field).
void put_number(std::string& out, const Spec& s, std::optional<uint32_t> v) {
  const std::string digits = v ? std::to_string(*v) : std::string();
  const int fill = s.width - int(digits.size());
  if (!s.left) pad(out, fill, s.zero ? '0' : ' ');
  out += digits;
  if (s.left) pad(out, fill, ' ');
}

// The payload, raw (hex 0) or as lower/upper hex. Width limits the bytes printed (half of
// them for hex) exactly as mosquitto_sub does; with '-' and no width the field is padded
// with as many blanks as the payload has bytes.
void put_payload(std::string& out, const Spec& s, std::string_view payload, int hex) {
  int len = int(payload.size());
  int padlen;
  if (s.width > 0) {
    if (len > s.width) len = s.width;
    if (hex) {
      len /= 2;
      padlen = s.width - len * 2;
    } else {
      padlen = s.width - len;
    }
  } else {
    padlen = s.width - len;
  }
  if (!s.left) pad(out, padlen, s.zero ? '0' : ' ');
  static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
  const char* digits = hex == 2 ? upper : lower;
  for (int i = 0; i < len; ++i) {
    const auto b = (unsigned char)payload[size_t(i)];
    if (hex) {
      out += digits[b >> 4];
      out += digits[b & 15];
    } else {
      out += char(b);
    }
  }
  if (s.left) pad(out, padlen < 0 ? -padlen : padlen, ' ');
}

std::optional<uint32_t> number_prop(const Message& m, uint8_t id) {
  if (const Property* p = m.find(id)) return p->number;
  return std::nullopt;
}

std::string_view string_prop(const Message& m, uint8_t id) {
  const Property* p = m.find(id);
  if (!p) return {};
  std::string_view v = p->value;
  return v.substr(0, std::min(v.size(), std::strlen(v.data())));  // C string semantics
}

std::string strftime_local(const char* fmt, const timespec& ts) {
  tm t{};
  localtime_r(&ts.tv_sec, &t);
  char buf[512];
  const size_t n = std::strftime(buf, sizeof buf, fmt, &t);
  return std::string(buf, n);
}

std::string iso_time(const timespec& ts) { return strftime_local("%Y-%m-%dT%H:%M:%S%z", ts); }

void put_user_properties(std::string& out, const Message& m) {
  bool first = true;
  for (const auto& p : m.props) {
    if (p.id != pid::kUserProperty) continue;
    if (!first) out += ' ';
    first = false;
    out += p.key.c_str();
    out += ':';
    out += p.value.c_str();
  }
}

// One % code (after flags, width and precision).
void put_code(char code, const Spec& s, const Message& m, const FormatOptions& o, std::string& out,
              std::string& err) {
  switch (code) {
    case '%': out += '%'; break;
    case 'A': put_number(out, s, number_prop(m, pid::kTopicAlias)); break;
    case 'C': put_string(out, s, string_prop(m, pid::kContentType)); break;
    case 'D':
      if (const Property* p = m.find(pid::kCorrelationData)) out += p->value;
      break;
    case 'E': put_number(out, s, number_prop(m, pid::kMessageExpiryInterval)); break;
    case 'F': put_number(out, s, number_prop(m, pid::kPayloadFormatIndicator)); break;
    case 'I': put_string(out, s, iso_time(now(o))); break;
    case 'j':
    case 'J':
      if (!render_json(m, o, code == 'J', out))
        err += "Error: Message payload is not valid JSON on topic " + m.topic + ".\n";
      break;
    case 'l': put_number(out, s, uint32_t(m.payload.size())); break;
    case 'm': put_number(out, s, m.packet_id); break;
    case 'P': put_user_properties(out, m); break;
    case 'p': put_payload(out, s, m.payload, 0); break;
    case 'q': out += char('0' + m.qos); break;
    case 'R':  // unlike %C, an absent response topic prints nothing, not even padding
      if (m.find(pid::kResponseTopic)) put_string(out, s, string_prop(m, pid::kResponseTopic));
      break;
    case 'r': out += m.retain ? '1' : '0'; break;
    case 'S': put_number(out, s, number_prop(m, pid::kSubscriptionIdentifier)); break;
    case 't': put_string(out, s, m.topic); break;
    case 'U': {
      const timespec ts = now(o);
      char buf[48];
      std::snprintf(buf, sizeof buf, "%lld.%09ld", (long long)ts.tv_sec, ts.tv_nsec);
      out += buf;
      break;
    }
    case 'x': put_payload(out, s, m.payload, 1); break;
    case 'X': put_payload(out, s, m.payload, 2); break;
    default: break;
  }
}

bool valid_code(char c) { return c && std::strchr("%ACDEFIjJlmPpqRrStUxX", c) != nullptr; }

char escape_char(char c) {
  switch (c) {
    case '\\': return '\\';
    case '0': return '\0';
    case 'a': return '\a';
    case 'e': return '\x1b';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'v': return '\v';
    default: return 1;  // invalid
  }
}

// Parses flags, width and precision starting after '%'; returns the index of the code.
size_t parse_spec(std::string_view f, size_t i, Spec& s) {
  if (i < f.size() && f[i] == '-') s.left = true, ++i;
  else if (i < f.size() && f[i] == '0') s.zero = true, ++i;
  while (i < f.size() && f[i] >= '0' && f[i] <= '9') s.width = s.width * 10 + (f[i++] - '0');
  if (i < f.size() && f[i] == '.') {
    s.precision = 0;
    ++i;
    while (i < f.size() && f[i] >= '0' && f[i] <= '9') s.precision = s.precision * 10 + (f[i++] - '0');
  }
  return i;
}

}  // namespace

std::optional<std::string> check_format(std::string_view f) {
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '%') {
      Spec s;
      const size_t code = parse_spec(f, i + 1, s);
      if (code >= f.size()) return "Incomplete format specifier.";
      if (!valid_code(f[code])) return std::string("Invalid format specifier '") + f[code] + "'.";
      i = code;
    } else if (f[i] == '@') {
      if (i + 1 >= f.size()) return "Incomplete format specifier.";
      ++i;
    } else if (f[i] == '\\') {
      if (i + 1 >= f.size()) return "Incomplete escape specifier.";
      if (escape_char(f[i + 1]) == 1) return std::string("Invalid escape specifier '") + f[i + 1] + "'.";
      ++i;
    }
  }
  return std::nullopt;
}

void render_format(std::string_view f, const Message& m, const FormatOptions& o, std::string& out,
                   std::string& err) {
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '%' && i + 1 < f.size()) {
      Spec s;
      i = parse_spec(f, i + 1, s);
      if (i < f.size()) put_code(f[i], s, m, o, out, err);
    } else if (c == '@' && i + 1 < f.size()) {
      const char t = f[++i];
      if (t == '@') {
        out += '@';
      } else if (t == 'N') {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%09ld", now(o).tv_nsec);
        out += buf;
      } else {
        const char fmt[3] = {'%', t, '\0'};
        out += strftime_local(fmt, now(o));
      }
    } else if (c == '\\' && i + 1 < f.size()) {
      out += escape_char(f[++i]);
    } else {
      out += c;
    }
  }
}

void render_plain(const Message& m, bool verbose, bool eol, std::string& out) {
  if (m.payload.empty()) {
    // mosquitto_sub: "topic (null)" only with -v and a newline; otherwise nothing at all.
    if (verbose && eol) out += m.topic + " (null)\n";
    return;
  }
  if (verbose) out += m.topic + " ";
  out += m.payload;
  if (eol) out += '\n';
}

bool render_json(const Message& m, const FormatOptions& o, bool parse_payload, std::string& out) {
  const timespec ts = now(o);
  std::string tst = strftime_local("%Y-%m-%dT%H:%M:%S", ts);
  char frac[32];
  std::snprintf(frac, sizeof frac, ".%06ldZ", ts.tv_nsec / 1000);
  tst += frac;
  tst += strftime_local("%z", ts);

  json::Value root = json::Value::object();
  root.add("tst", json::Value::str(std::move(tst)));
  root.add("topic", json::Value::str(m.topic));
  root.add("qos", json::Value::num(m.qos));
  root.add("retain", json::Value::num(m.retain ? 1 : 0));
  root.add("payloadlen", json::Value::num(double(m.payload.size())));
  if (m.qos > 0) root.add("mid", json::Value::num(m.packet_id));
  if (o.v5 && !m.props.empty()) {
    json::Value& props = root.add("properties", json::Value::object());
    size_t users = SIZE_MAX;  // index: props.items may reallocate
    for (const auto& p : m.props) {
      switch (p.id) {
        case pid::kPayloadFormatIndicator: props.add("payload-format-indicator", json::Value::num(p.number)); break;
        case pid::kMessageExpiryInterval: props.add("message-expiry-interval", json::Value::num(p.number)); break;
        case pid::kContentType: props.add("content-type", json::Value::str(p.value)); break;
        case pid::kResponseTopic: props.add("response-topic", json::Value::str(p.value)); break;
        case pid::kCorrelationData: props.add("correlation-data", json::Value::str(p.value)); break;
        case pid::kSubscriptionIdentifier: props.add("subscription-identifier", json::Value::num(p.number)); break;
        case pid::kTopicAlias: props.add("topic-alias", json::Value::num(p.number)); break;
        case pid::kUserProperty:
          if (users == SIZE_MAX) {
            users = props.items.size();
            props.add("user-properties", json::Value::object());
          }
          props.items[users].second.add(p.key, json::Value::str(p.value));
          break;
        default: break;
      }
    }
  }
  if (m.payload.empty()) {
    root.add("payload", json::Value::null());
  } else if (!parse_payload) {
    root.add("payload", json::Value::str(m.payload));
  } else {
    auto parsed = json::parse(m.payload);
    if (!parsed) return false;
    root.add("payload", std::move(*parsed));
  }
  json::print(root, o.pretty, out);
  return true;
}

}  // namespace petrel::client
