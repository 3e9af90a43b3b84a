#pragma once
// WebSocketTransport: MQTT over WebSockets (`protocol websockets`), on plain TCP (ws) or
// on TLS (wss). Composition: it holds an inner byte transport — a TlsTransport, or none
// for the raw socket — and adds the HTTP/1.1 upgrade (websocket_handshake.h) and RFC 6455
// framing (websocket_frame.h). Incoming binary/continuation frame payloads are unmasked in
// place in the caller's buffer, so MQTT bytes reach the connection as one stream whatever
// the framing; ping gets a pong, close gets a close reply and ends the stream; anything
// else the client must not send closes the connection with a close frame and a reason.
// Outgoing MQTT bytes become unmasked binary frames, queued here until the socket takes
// them (bounded: write() accepts nothing while kOutputHighWater bytes wait).
//
// Owns the inner transport, the request bytes until the upgrade completes, the decoder
// state (at most a 14-byte header and a 125-byte control payload) and pending output,
// which is freed when drained.
//
// With http_dir (`files`), a request that is not an upgrade is answered from the
// directory instead (http_files.h): the reply head goes out, then the file in chunks of
// kFileChunk as the socket takes them (so a large file costs no more memory than a small
// one), then the write side is shut; the connection ends when the client closes, and its
// log line says what was served. One request per connection.
#include <memory>
#include <string>
#include <vector>

#include "net/http_files.h"
#include "net/transport.h"
#include "net/websocket_frame.h"

namespace petrel::net {

class WebSocketTransport final : public Transport {
 public:
  // Pending output above which write() takes no more bytes.
  static constexpr size_t kOutputHighWater = 64 * 1024;

  // inner: nullptr for plain TCP. header_limit: websockets_headers_size (0 = default).
  // origins: websockets_origin (null or empty: any Origin), shared by the listener.
  WebSocketTransport(std::unique_ptr<Transport> inner, size_t header_limit,
                     std::shared_ptr<const std::vector<std::string>> origins = nullptr,
                     std::shared_ptr<const HttpFiles> files = nullptr);
  ~WebSocketTransport() override;
  WebSocketTransport(const WebSocketTransport&) = delete;
  WebSocketTransport& operator=(const WebSocketTransport&) = delete;
  // Bytes of a served file read per refill of the output.
  static constexpr size_t kFileChunk = 64 * 1024;

  IoResult read(int fd, char* buf, size_t cap) override;
  IoResult write(int fd, const char* data, size_t len) override;
  bool has_pending_output() const override;
  bool established() const override;
  const PeerIdentity& identity() const override;
  const std::string& error() const override { return error_; }
  void shutdown(int fd) override;
  std::string_view name() const override { return inner_ ? "wss" : "ws"; }

  const std::string& subprotocol() const { return subprotocol_; }

 private:
  enum class State { kUpgrade, kOpen, kClosing, kFailed, kServing };

  IoResult inner_read(int fd, char* buf, size_t cap);
  IoResult inner_write(int fd, const char* data, size_t len);
  IoResult read_upgrade(int fd, char* buf, size_t cap);
  IoResult read_frames(int fd, char* buf, size_t cap);
  // Decodes in[consumed, len) to out[produced, cap) (in place when out == in), handling
  // control frames; false when the stream ended (close frame or protocol error).
  bool decode(int fd, const char* in, size_t len, char* out, size_t cap, size_t& consumed, size_t& produced);
  bool flush_output(int fd);  // false on a socket error (or a served file that cannot be read)
  bool write_out(int fd);     // writes out_ until the socket is full; false on a socket error
  IoResult serve(int fd, std::string_view method, std::string_view target);
  IoResult read_serving(int fd, char* buf, size_t cap);
  bool refill_from_file();
  void close_file();
  IoResult fail(int fd, uint16_t close_code, std::string why);

  std::unique_ptr<Transport> inner_;
  size_t header_limit_;
  std::shared_ptr<const std::vector<std::string>> origins_;
  State state_ = State::kUpgrade;
  bool upgraded_ = false;         // the 101 went out (established, whatever happens next)
  IoStatus end_ = IoStatus::kOk;  // kClosed/kError to report once the bytes before it are out
  std::string request_;           // upgrade request bytes received so far
  std::string leftover_;          // bytes after the request (early frames)
  std::string subprotocol_;
  ws::FrameDecoder decoder_;
  std::string out_;               // frames not yet taken by the socket
  size_t out_off_ = 0;
  std::string error_;
  // http_dir
  std::shared_ptr<const HttpFiles> files_;
  int file_fd_ = -1;              // the file being sent (kServing), -1 when none is left
  uint64_t file_left_ = 0;        // its bytes not yet read into out_
  bool sent_all_ = false;         // the whole reply went out and the write side was shut
  size_t ignored_ = 0;            // bytes the client sent after its request
  std::string http_log_;          // "GET /x 200 (n bytes)"
};

}  // namespace petrel::net
