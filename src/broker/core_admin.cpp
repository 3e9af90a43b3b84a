// WorkerCore: what the admin (and a live configuration change) asks of one worker's
// sessions: listing them, disconnecting one, the clients of a listener that goes away or
// restarts, and the connected clients that new security settings refuse. All of it runs
// on the worker's own thread (the server posts it here), so no session state is shared.
#include <algorithm>
#include <cctype>

#include "broker/worker_core.h"
#include "protocol/reason_codes.h"

namespace petrel::broker {

namespace rc = protocol::rc;

namespace {

bool contains_nocase(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

const char* protocol_name(protocol::Version v) {
  switch (v) {
    case protocol::Version::kV31: return "3.1";
    case protocol::Version::kV311: return "3.1.1";
    case protocol::Version::kV5: return "5.0";
  }
  return "3.1.1";
}

}  // namespace

size_t WorkerCore::disconnect_listener(int listener, uint8_t reason) {
  std::vector<Session*> victims;
  for (auto& slot : slots_) {
    Session* s = slot.get();
    if (s && s->online() && !s->closing && s->listener == listener) victims.push_back(s);
  }
  for (Session* s : victims) {
    PETREL_LOG(broker_.log(), kLogNotice, "Client {} disconnected: its listener is restarting or was removed.",
               s->client_id);
    disconnect_client(s, reason, nullptr, true);
  }
  return victims.size();
}

bool WorkerCore::disconnect_by_id(const std::string& client_id, bool discard_session) {
  Session* s = by_id_.find(client_id);
  if (!s) return false;
  if (s->online() && !s->closing) {
    PETREL_LOG(broker_.log(), kLogNotice, "Client {} disconnected by the admin.", s->client_id);
    static const std::string why = "disconnected by the administrator";
    if (discard_session) s->expiry_interval = 0;  // the session ends with the connection
    disconnect_client(s, rc::kAdministrativeAction, &why, true);
    s = by_id_.find(client_id);
    if (s && !s->online() && discard_session) destroy_session(s);
    return true;
  }
  if (!s->online() && discard_session) {
    PETREL_LOG(broker_.log(), kLogNotice, "Session of client {} removed by the admin.", s->client_id);
    destroy_session(s);
  }
  return true;
}

size_t WorkerCore::recheck_clients(std::vector<size_t>* per_listener) {
  std::vector<std::pair<Session*, uint8_t>> refused;
  for (auto& slot : slots_) {
    Session* s = slot.get();
    if (!s || !s->online() || s->closing || s->listener < 0) continue;  // the broker's own
    const Link& link = *s->link;
    uint8_t r = 0;
    if (security_) {
      ClientIdentity id;
      id.listener = s->listener;
      id.client_id = s->client_id;
      // The username as the client sent it; on a listener that takes it from the
      // certificate or PSK identity, authenticate() derives it again from that.
      const config::Listener* l = listener_config(s->listener);
      const bool from_identity = l && (l->use_identity_as_username || l->use_subject_as_username);
      if (!s->username.empty() && !from_identity) id.username = s->username;
      if (s->has_password) id.password = s->password;
      id.peer = link.peer();
      id.cert_cn = link.cert_cn();
      id.cert_subject = link.cert_subject();
      id.psk_identity = link.psk_identity();
      std::string identity_name;
      r = security_->authenticate(id, identity_name);
    } else if (s->username.empty() && !anonymous_allowed(link)) {
      r = rc::kNotAuthorized;
    }
    if (r != 0) refused.emplace_back(s, r);
  }
  for (auto [s, r] : refused) {
    if (per_listener && s->listener >= 0) {
      if (per_listener->size() <= static_cast<size_t>(s->listener)) per_listener->resize(s->listener + 1, 0);
      ++(*per_listener)[s->listener];
    }
    PETREL_LOG(broker_.log(), kLogNotice, "Client {} from {} disconnected: the new security settings refuse it.",
               s->client_id, s->link->peer());
    static const std::string why = "no longer authorised after a configuration change";
    disconnect_client(s, r, &why, true);
  }
  return refused.size();
}

size_t WorkerCore::drop_unreadable_queued() {
  if (!security_ || !security_->has_acl()) return 0;
  size_t dropped = 0;
  for (auto& slot : slots_) {
    Session* s = slot.get();
    if (!s || s->queue.empty() || s->listener < 0) continue;  // the broker's own sessions
    bool any = false;
    for (size_t i = 0; i < s->queue.size() && !any; ++i)
      any = acl_denies(s, s->queue[i].msg->topic(), Access::kRead);
    if (!any) continue;  // the common case: the queue stays as it is
    Ring<QueuedMsg> kept;
    const size_t before = s->queue.size();
    while (!s->queue.empty()) {
      QueuedMsg& q = s->queue.front();
      if (acl_denies(s, q.msg->topic(), Access::kRead)) {
        s->queued_bytes -= q.msg->payload().size();
        journal_remove(s, q.store_seq);
      } else {
        kept.push_back(std::move(q));
      }
      s->queue.pop_front();
    }
    s->queue.swap(kept);
    if (size_t n = before - s->queue.size(); n > 0) {
      dropped += n;
      stats_.pub_dropped.add(n);
      PETREL_LOG(broker_.log(), kLogNotice,
                 "Client {}: {} queued message{} dropped, the new ACL does not let it read them.",
                 s->client_id, n, n == 1 ? "" : "s");
    }
  }
  return dropped;
}

void WorkerCore::collect_clients(const ClientQuery& q, std::vector<ClientInfo>& out) const {
  const int64_t now = broker_.clock().now_ms();
  size_t taken = 0;
  for (const auto& slot : slots_) {
    const Session* s = slot.get();
    if (!s || taken >= q.limit) continue;
    const bool online = s->online();
    if ((online && !q.connected) || (!online && !q.offline)) continue;
    const bool internal = s->listener == kInternalListener || s->listener == kAdminListener;
    if (internal && !q.include_internal) continue;
    const std::string address = online ? s->link->peer() : std::string();
    if (!contains_nocase(s->client_id, q.search) && !contains_nocase(s->username, q.search) &&
        !contains_nocase(address, q.search))
      continue;
    ClientInfo c;
    c.client_id = s->client_id;
    c.username = s->username;
    c.address = address;
    c.listener = s->listener;
    c.connected = online;
    c.internal = internal;
    c.protocol = protocol_name(s->version);
    c.keepalive = s->keepalive;
    c.clean = s->clean;
    c.expiry_interval = s->expiry_interval;
    c.connected_since = s->connected_wall_s;
    if (!online && s->expire_at_ms) c.expires_in = std::max<int64_t>(0, (s->expire_at_ms - now) / 1000);
    c.queued = s->queue.size();
    c.inflight = s->inflight.size();
    for (const auto& sub : s->subs) {
      c.subscriptions.push_back({sub.filter, sub.opts.qos, sub.opts.no_local, sub.opts.retain_as_published,
                                 sub.opts.retain_handling, sub.opts.subscription_id});
    }
    out.push_back(std::move(c));
    ++taken;
  }
}

void WorkerCore::queue_totals(uint64_t& queued, uint64_t& inflight) const {
  for (const auto& slot : slots_) {
    if (!slot) continue;
    queued += slot->queue.size();
    inflight += slot->inflight.size();
  }
}

}  // namespace petrel::broker
