#pragma once
// Internal to src/client: the concrete Stream types. AsioStream adapts any Asio stream
// socket (TCP, Unix, ssl::stream); WsStream adapts a Beast WebSocket over one of those,
// sending each write as one binary message.
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>

#include "client/stream.h"
#include "client/tls_context.h"

namespace petrel::client::detail {

template <class S>
void close_lowest(S& s) {
  boost::system::error_code ec;
  boost::beast::get_lowest_layer(s).close(ec);
}

template <class S>
class AsioStream final : public Stream {
 public:
  explicit AsioStream(S s, std::shared_ptr<TlsContext> tls = {})
      : s_(std::move(s)), tls_(std::move(tls)) {}
  boost::asio::any_io_executor get_executor() override { return s_.get_executor(); }
  void async_read_some(boost::asio::mutable_buffer buf, IoHandler h) override {
    s_.async_read_some(buf, std::move(h));
  }
  void async_write(boost::asio::const_buffer buf, IoHandler h) override {
    boost::asio::async_write(s_, buf, std::move(h));
  }
  void close() override { close_lowest(s_); }
  S& next() { return s_; }

 private:
  S s_;
  std::shared_ptr<TlsContext> tls_;  // keeps the SSL_CTX alive as long as the stream
};

template <class S>
class WsStream final : public Stream {
 public:
  explicit WsStream(std::unique_ptr<boost::beast::websocket::stream<S>> ws,
                    std::shared_ptr<TlsContext> tls = {})
      : ws_(std::move(ws)), tls_(std::move(tls)) {
    ws_->binary(true);
  }
  boost::asio::any_io_executor get_executor() override { return ws_->get_executor(); }
  void async_read_some(boost::asio::mutable_buffer buf, IoHandler h) override {
    ws_->async_read_some(buf, std::move(h));
  }
  void async_write(boost::asio::const_buffer buf, IoHandler h) override {
    ws_->async_write(buf, std::move(h));
  }
  void close() override { close_lowest(*ws_); }

 private:
  std::unique_ptr<boost::beast::websocket::stream<S>> ws_;
  std::shared_ptr<TlsContext> tls_;
};

}  // namespace petrel::client::detail
