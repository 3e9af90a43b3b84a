#pragma once
// Reply and EventStream: how a handler answers, from any thread and at any time.
//
// A handler gets a shared_ptr<Reply> and calls send() exactly once, on its own thread or
// later; the Reply hands the Response to its ReplyTarget, which for a real connection
// posts it to the server's io_context. A Reply dropped without an answer still answers:
// 500, so a forgotten path never leaves a client hanging. start_events() instead turns
// the reply into a server-sent event stream (text/event-stream) that the handler feeds
// from any thread; its bytes in flight are bounded, so a client that stops reading is
// disconnected instead of growing memory.
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "web/request.h"

namespace petrel::web {

class EventStream;

// Where a Reply's output goes. The server implements it per request (posting to its
// thread); tests of the dispatch can implement it directly. Every call may come from any
// thread.
class ReplyTarget {
 public:
  virtual ~ReplyTarget() = default;
  virtual void send_response(Response response) = 0;
  // The Reply was dropped without an answer.
  virtual void dropped() = 0;
  virtual void start_events(std::shared_ptr<EventStream> stream) = 0;
  // Bytes of one formatted event, counted in the stream's bound until written.
  virtual void event_bytes(std::string bytes) = 0;
  // Ends the stream: at once (abort, the bound was passed) or once what is queued is written.
  virtual void end_events(bool abort) = 0;
};

class EventStream {
 public:
  EventStream(std::shared_ptr<ReplyTarget> target, size_t bound) : target_(std::move(target)), bound_(bound) {}

  // Queues one event ("event: NAME" when not empty, one "data:" line per line of data).
  // False when the stream is closed, or when this event would pass the bound: then the
  // stream is closed and the client disconnected.
  bool send(std::string_view event, std::string_view data);
  bool is_open() const { return open_.load(std::memory_order_acquire); }
  // f runs on the server thread when the stream ends (client gone, bound passed, server
  // stopping); at once on the calling thread when it has already ended.
  void on_close(std::function<void()> f);
  // Ends the stream from the server side, after what is queued.
  void close();

  // For the connection carrying the stream (server thread): bytes reached the socket.
  void written(size_t n) { queued_.fetch_sub(n, std::memory_order_acq_rel); }
  // For the connection carrying the stream (server thread): the stream is over.
  void mark_closed();

 private:
  std::shared_ptr<ReplyTarget> target_;
  const size_t bound_;
  std::atomic<bool> open_{true};
  std::atomic<size_t> queued_{0};
  std::mutex mu_;
  bool closed_ = false;  // mark_closed ran (guarded by mu_)
  std::vector<std::function<void()>> on_close_;
};

class Reply {
 public:
  // event_bound: bytes an event stream may have in flight before its client is cut.
  Reply(std::shared_ptr<ReplyTarget> target, size_t event_bound)
      : target_(std::move(target)), event_bound_(event_bound) {}
  ~Reply();
  Reply(const Reply&) = delete;
  Reply& operator=(const Reply&) = delete;

  // The answer; only the first call (of send and start_events) counts.
  void send(Response response);
  // Turns the reply into an event stream (status 200, text/event-stream). After send(),
  // returns a stream that is already closed.
  std::shared_ptr<EventStream> start_events();
  bool answered() const { return done_.load(std::memory_order_acquire); }

 private:
  std::shared_ptr<ReplyTarget> target_;
  const size_t event_bound_;
  std::atomic<bool> done_{false};
};

// The bytes of one event as the wire carries them. CR and LF in the event name become
// spaces (they would end the field); data is split into one "data:" line per line.
std::string format_event(std::string_view event, std::string_view data);

}  // namespace petrel::web
