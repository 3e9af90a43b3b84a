// WorkerCore: timers (keepalive, will delay, session expiry) and shutdown.
#include "broker/worker_core.h"
#include "common/heap.h"
#include "protocol/reason_codes.h"

namespace petrel::broker {

namespace rc = protocol::rc;

void WorkerCore::tick() {
  const int64_t now = broker_.clock().now_ms();
  for (size_t i = 0; i < slots_.size(); ++i) {
    Session* s = slots_[i].get();
    if (!s) continue;
    s->inflight.trim();
    s->queue.trim();
    if (s->online()) {
      // [MQTT-3.1.2-24]: close after one and a half keepalive periods of silence.
      if (s->keepalive && !s->closing && now - s->last_rx_ms > int64_t(s->keepalive) * 1500) {
        PETREL_LOG(broker_.log(), kLogNotice, "Client {} has exceeded timeout, disconnecting.", s->client_id);
        disconnect_client(s, rc::kKeepAliveTimeout, nullptr, true);
      }
      continue;
    }
    if (s->delayed_will && now >= s->will_at_ms) {
      auto w = std::move(s->delayed_will);
      publish_will(s, *w);
      if (!(s->expire_at_ms && now >= s->expire_at_ms)) journal_header(s);
    }
    if (s->expire_at_ms && now >= s->expire_at_ms) remove_expired_session(s);
  }
  if (index_ == 0 && cfg_->sys_interval > 0 && now >= next_sys_ms_) {
    next_sys_ms_ = now + int64_t(cfg_->sys_interval) * 1000;
    publish_sys();
  }
  if (index_ == 0) check_memory();
  if (index_ == 0 && cfg_->retain_expiry_interval > 0) {
    if (next_retain_sweep_ms_ == 0 || now >= next_retain_sweep_ms_) {
      if (next_retain_sweep_ms_ != 0) sweep_expired_retained(now);
      next_retain_sweep_ms_ = now + int64_t(cfg_->retain_expiry_interval) * 60'000;
    }
  } else {
    next_retain_sweep_ms_ = 0;
  }
}

void WorkerCore::check_memory() {
  const uint64_t limit = cfg_->memory_limit;
  if (limit == 0) {
    if (broker_.memory_over()) broker_.set_memory_over(false);
    return;
  }
  const uint64_t heap = heap_in_use();
  broker_.note_heap(heap);
  const bool over = broker_.memory_over();
  if (!over && heap > limit) {
    broker_.set_memory_over(true);
    PETREL_LOG(broker_.log(), kLogWarning,
               "Warning: heap at {} bytes is over memory_limit {}: refusing new messages and connections "
               "until it is back under {}.", heap, limit, limit - limit / 20);
  } else if (over && heap <= limit - limit / 20) {
    broker_.set_memory_over(false);
    heap_trim();  // let the resident size follow the heap down
    PETREL_LOG(broker_.log(), kLogNotice, "Heap at {} bytes, back under memory_limit {}: accepting again.", heap,
               limit);
  }
}

void WorkerCore::sweep_expired_retained(int64_t now) {
  const std::vector<std::string> topics = broker_.retained().expire(now);
  if (topics.empty()) return;
  // Out of the durable store too (the lazy removal on access leaves that to the next load).
  if (store_) {
    for (const std::string& t : topics) journal_retained(t, nullptr);
  }
  PETREL_LOG(broker_.log(), kLogInfo, "Removed {} expired retained message{} (retain_expiry_interval).",
             topics.size(), topics.size() == 1 ? "" : "s");
}

void WorkerCore::remove_expired_session(Session* s) {
  PETREL_LOG(broker_.log(), kLogNotice, "Expiring client {}.", s->client_id);
  stats_.clients_expired.add();
  destroy_session(s);
}

void WorkerCore::disconnect_client(Session* s, uint8_t reason, const std::string* why,
                                   bool publish_will) {
  Link* link = s->link;
  if (s->is_v5()) {
    protocol::Disconnect d;
    d.reason = reason;
    if (why && s->problem_info) d.props.reason_string = *why;
    append_within_max(s, d);
    link->mark_dirty();
  }
  s->closing = true;
  end_connection(s, publish_will);  // may destroy s
  link->close(true);
}

void WorkerCore::shutdown_all() {
  for (auto& slot : slots_) {
    Session* s = slot.get();
    if (!s || !s->online()) continue;
    disconnect_client(s, rc::kServerShuttingDown, nullptr, false);
  }
}

}  // namespace petrel::broker
