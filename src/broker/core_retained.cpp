// WorkerCore: a SUBSCRIBE's retained messages, sent in bounded chunks as the connection
// drains (docs/DESIGN.md, rule 1).
#include <algorithm>

#include "broker/worker_core.h"

namespace petrel::broker {

namespace {
// A subscription's retained messages go out in chunks of at most this many messages or
// bytes of output (whichever comes first), the next chunk only once the connection's
// output is back under kRetainedResumeBytes (on_drained, or an acknowledgement that frees
// the in-flight window). 256 KiB plus the resume mark stays below the 512 KiB at which
// the network layer holds publishers back and far below the 4 MiB at which QoS 0 is
// dropped, so a retained set of any size neither throttles publishers nor loses
// messages; 1,000 messages keep a worker's turn to well under a millisecond of encoding.
constexpr size_t kRetainedChunkMessages = 1000;
constexpr size_t kRetainedChunkBytes = 256u << 10;
constexpr size_t kRetainedResumeBytes = 64u << 10;
// Entries looked at per chunk, sent or skipped (superseded, denied, expired): bounds a
// chunk's work when little of it produces output.
constexpr size_t kRetainedChunkVisits = 4 * kRetainedChunkMessages;
}  // namespace

void WorkerCore::deliver_retained(Session* s, const std::string& filter, const SubOptions& opts) {
  // A subscription that replaces one whose retained messages are still going out starts
  // them over with its new options [MQTT-3.8.4-3]; the rest waits behind earlier ones.
  cancel_retained(s, filter);
  PendingRetained p;
  p.filter = filter;
  p.opts = opts;
  if (opts.subscription_id) p.sub_ids.push_back(opts.subscription_id);
  s->retained_pending.push_back(std::move(p));
  if (s->queue.empty()) send_retained_chunk(s);
}

void WorkerCore::cancel_retained(Session* s, std::string_view filter) {
  auto& v = s->retained_pending;
  v.erase(std::remove_if(v.begin(), v.end(), [&](const PendingRetained& p) { return p.filter == filter; }),
          v.end());
}

void WorkerCore::send_retained_chunk(Session* s) {
  if (!s->online() || s->closing || s->retained_pending.empty()) return;
  // Output still waiting from earlier: on_drained brings us back.
  if (s->link->pending_bytes() > kRetainedResumeBytes) return;
  std::string& out = s->link->out();
  const size_t base = out.size();
  size_t sent = 0, visits = 0;
  auto& pending = s->retained_pending;
  while (!pending.empty()) {
    PendingRetained& p = pending.front();
    if (!p.started) {
      // Taken now rather than at SUBSCRIBE, so a second subscription waiting behind a
      // first holds no list and gets what is retained when its turn comes.
      p.left = broker_.retained().snapshot(p.filter, broker_.clock().now_ms());
      // Sent from the back (each sent entry is popped): reversed once, so the messages go
      // out in the store's match order, as they did before chunking.
      std::reverse(p.left.begin(), p.left.end());
      p.started = true;
    }
    while (!p.left.empty()) {
      if (sent >= kRetainedChunkMessages || visits >= kRetainedChunkVisits ||
          out.size() - base >= kRetainedChunkBytes) {
        // More to send. The connection reports when this chunk has drained; a chunk
        // that wrote nothing gets a flush of nothing, which reports at once.
        if (out.size() == base) s->link->mark_dirty();
        if (p.left.capacity() > 4096 && p.left.size() < p.left.capacity() / 4) p.left.shrink_to_fit();
        return;
      }
      ++visits;
      const RetainedMessage& r = *p.left.back();
      // Replaced or cleared since the list was taken: this subscription has had the newer
      // message (or the clear) live, or will have it; the old one is not sent after it.
      // Nor is one whose publisher has lost its write access since (check_retain_source).
      if (r.is_superseded() || retain_source_denied(r)) {
        p.left.pop_back();
        continue;
      }
      const uint8_t qos = cfg_->upgrade_outgoing_qos ? p.opts.qos : std::min(r.qos, p.opts.qos);
      // QoS 1/2 wait here while the in-flight window is full or messages are queued
      // (pump_queue continues), instead of filling the queue up to its limit.
      if (qos > 0 && (window_full(s, r.payload.size()) || !s->queue.empty())) return;
      const MsgView v{r.topic, r.forward_props, r.payload, r.expiry_at_ms, r.expiry_interval,
                      0, r.qos, true, 0};
      MessageRef msg;  // created only when a QoS 1/2 flow keeps it
      deliver_local(s, v, msg, qos, true, p.sub_ids);  // [MQTT-3.3.1-8]
      ++sent;
      p.left.pop_back();
    }
    pending.erase(pending.begin());
  }
}

}  // namespace petrel::broker
