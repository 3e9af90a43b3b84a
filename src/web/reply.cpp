#include "web/reply.h"

namespace petrel::web {

std::string format_event(std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(event.size() + data.size() + 16);
  if (!event.empty()) {
    out += "event: ";
    for (char c : event) out += (c == '\r' || c == '\n') ? ' ' : c;
    out += '\n';
  }
  // Any of CRLF, CR or LF ends a line in the event-stream format.
  size_t start = 0;
  for (;;) {
    size_t end = data.find_first_of("\r\n", start);
    out += "data: ";
    out.append(data.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    out += '\n';
    if (end == std::string_view::npos) break;
    start = end + ((data[end] == '\r' && end + 1 < data.size() && data[end + 1] == '\n') ? 2 : 1);
  }
  out += '\n';
  return out;
}

bool EventStream::send(std::string_view event, std::string_view data) {
  if (!is_open()) return false;
  std::string bytes = format_event(event, data);
  const size_t queued = queued_.fetch_add(bytes.size(), std::memory_order_acq_rel) + bytes.size();
  if (queued > bound_) {
    queued_.fetch_sub(bytes.size(), std::memory_order_acq_rel);
    if (open_.exchange(false, std::memory_order_acq_rel)) target_->end_events(true);
    return false;
  }
  target_->event_bytes(std::move(bytes));
  return true;
}

void EventStream::on_close(std::function<void()> f) {
  {
    std::lock_guard lock(mu_);
    if (!closed_) {
      on_close_.push_back(std::move(f));
      return;
    }
  }
  f();
}

void EventStream::close() {
  if (open_.exchange(false, std::memory_order_acq_rel)) target_->end_events(false);
}

void EventStream::mark_closed() {
  open_.store(false, std::memory_order_release);
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    callbacks.swap(on_close_);
  }
  for (auto& f : callbacks) f();
}

Reply::~Reply() {
  if (!done_.load(std::memory_order_acquire)) target_->dropped();
}

void Reply::send(Response response) {
  if (done_.exchange(true, std::memory_order_acq_rel)) return;
  target_->send_response(std::move(response));
}

std::shared_ptr<EventStream> Reply::start_events() {
  auto stream = std::make_shared<EventStream>(target_, event_bound_);
  if (done_.exchange(true, std::memory_order_acq_rel)) {
    stream->mark_closed();
    return stream;
  }
  target_->start_events(stream);
  return stream;
}

}  // namespace petrel::web
