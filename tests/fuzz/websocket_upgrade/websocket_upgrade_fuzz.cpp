// libFuzzer target: the WebSocket opening handshake (net/websocket_handshake.h). The first
// byte picks the header limit, whether plain HTTP is served (http_dir) and whether
// websockets_origin is set; the rest is what the client sent. Checks: an accepted request
// answers 101 with the subprotocol it negotiated and the Sec-WebSocket-Accept of its key;
// a refusal is a complete HTTP response with a reason; `consumed` covers exactly the
// header block (parsing just those bytes gives the same answer); a request still incomplete
// is within the header limit; every prefix of the input is either still incomplete or
// decided the same way as the whole once its header block is complete.
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "net/websocket_handshake.h"

using namespace petrel::net::ws;
using petrel::fuzz::Bytes;
using Status = UpgradeResult::Status;

namespace {

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

bool same(const UpgradeResult& a, const UpgradeResult& b) {
  return a.status == b.status && a.consumed == b.consumed && a.response == b.response &&
         a.subprotocol == b.subprotocol && a.error == b.error && a.method == b.method && a.target == b.target;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  const uint8_t knobs = in.u8();
  static const size_t kLimits[] = {0, 64, 300, 4096};
  const size_t limit = kLimits[knobs & 3];
  const bool plain_http = knobs & 4;
  std::vector<std::string> origins;
  if (knobs & 8) origins = {"http://router.lan", "https://Example.COM"};
  const std::string_view request = in.rest();

  const UpgradeResult r = parse_upgrade_request(request, limit, origins, plain_http);
  const size_t effective = limit ? limit : kDefaultHeaderLimit;
  switch (r.status) {
    case Status::kNeedMore:
      FUZZ_CHECK(request.size() <= effective);
      FUZZ_CHECK(r.response.empty() && r.consumed == 0);
      break;
    case Status::kAccepted: {
      FUZZ_CHECK(r.consumed > 0 && r.consumed <= request.size());
      FUZZ_CHECK(lower(r.subprotocol) == "mqtt" || lower(r.subprotocol) == "mqttv3.1");
      FUZZ_CHECK(r.response.rfind("HTTP/1.1 101 ", 0) == 0);
      FUZZ_CHECK(r.response.find("\r\nSec-WebSocket-Protocol: " + r.subprotocol + "\r\n") != std::string::npos);
      FUZZ_CHECK(r.response.size() >= 4 && r.response.compare(r.response.size() - 4, 4, "\r\n\r\n") == 0);
      FUZZ_CHECK(request.substr(0, r.consumed).find("\r\n\r\n") != std::string_view::npos);
      // Only the header block counts: the same bytes alone give the same answer.
      FUZZ_CHECK(same(parse_upgrade_request(request.substr(0, r.consumed), limit, origins, plain_http), r));
      break;
    }
    case Status::kPlainHttp:
      FUZZ_CHECK(plain_http);
      FUZZ_CHECK(r.consumed > 0 && r.consumed <= request.size());
      FUZZ_CHECK(!r.method.empty());
      FUZZ_CHECK(same(parse_upgrade_request(request.substr(0, r.consumed), limit, origins, plain_http), r));
      break;
    case Status::kRejected:
      FUZZ_CHECK(!r.error.empty());
      FUZZ_CHECK(r.response.rfind("HTTP/1.1 4", 0) == 0);
      FUZZ_CHECK(r.response.find("\r\n\r\n") != std::string::npos);
      break;
  }
  // A prefix cut inside the request line or headers is at most "need more" or refused; it
  // is never accepted when the whole is refused (bytes arriving later cannot be ignored).
  if (request.size() > 1) {
    const size_t cut = request.size() / 2;
    const UpgradeResult p = parse_upgrade_request(request.substr(0, cut), limit, origins, plain_http);
    if (p.status == Status::kAccepted || p.status == Status::kPlainHttp) {
      FUZZ_CHECK(same(p, r));
    }
  }
  return 0;
}
