#pragma once
// Stream: the one small interface every client transport implements (TCP, Unix socket,
// TLS, TLS-PSK, WebSocket over TCP or TLS). The MQTT client only reads, writes and closes;
// opening a transport (resolve, connect, handshakes) is transport.h's job. Unit tests
// substitute an in-memory stream.
//
// Rules: at most one read and one write outstanding at a time; handlers run on the
// stream's executor; after close() pending operations complete with an error.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <functional>
#include <memory>

namespace petrel::client {

using IoHandler = std::function<void(const boost::system::error_code&, std::size_t)>;

class Stream {
 public:
  virtual ~Stream() = default;
  virtual boost::asio::any_io_executor get_executor() = 0;
  // Reads what is available (at least one byte) into buf.
  virtual void async_read_some(boost::asio::mutable_buffer buf, IoHandler handler) = 0;
  // Writes all of buf.
  virtual void async_write(boost::asio::const_buffer buf, IoHandler handler) = 0;
  // Closes at once (no graceful TLS/WebSocket close): pending operations are aborted.
  virtual void close() = 0;
};

using StreamPtr = std::unique_ptr<Stream>;

}  // namespace petrel::client
