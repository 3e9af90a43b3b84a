#pragma once
// WorkerCore: the broker logic of one worker thread, with no I/O. The network layer hands
// it decoded CONNECTs and raw frames of established connections; it answers by appending
// encoded packets to each Link's output, posts cross-worker deliveries through the Hub
// (one batch per destination worker per loop turn), and reads time from the Clock.
// Sessions whose client id hashes to this worker live here, so takeover, persistent
// sessions and QoS state need no locks. The subscription trie and retained store are the
// only shared structures (Broker).
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "broker/broker.h"
#include "broker/load_avg.h"
#include "broker/security.h"
#include "broker/session.h"
#include "broker/session_index.h"
#include "broker/session_info.h"
#include "broker/trie_util.h"
#include "config/config.h"
#include "persist/store.h"
#include "protocol/codec.h"

namespace petrel::broker {

// A message being delivered, as views (into a frame buffer or a Message). serial
// identifies the message within this worker's loop turn for the encode-once cache
// (0 = not cacheable).
struct MsgView {
  std::string_view topic, props, payload;
  int64_t expiry_at_ms = 0;
  uint32_t expiry_interval = 0;
  uint64_t serial = 0;
  uint8_t qos = 0;
  bool retain = false;
  uint64_t origin = 0;
};

// One message for one session on another worker.
struct Delivery {
  MessageRef msg;
  SessionKey key = 0;
  uint8_t qos = 0;      // already min(message QoS, granted QoS)
  bool retain = false;  // retain flag to send
  std::vector<uint32_t> sub_ids;
};

class DurableHold;

class Hub {
 public:
  virtual ~Hub() = default;
  // Hand a batch of deliveries to another worker (one post). hold (may be null): the
  // sending worker's acknowledgements that wait until these deliveries are stored; the
  // receiving worker keeps it with the store batch that journals them (deliver_batch).
  virtual void send_batch(int worker, std::vector<Delivery>&& batch, std::shared_ptr<DurableHold> hold) = 0;
  // Any thread: tells worker that the changes of its turn `turn` are durable (ok) or
  // failed to store; the worker calls WorkerCore::turn_durable on its own thread.
  virtual void post_durable(int worker, uint64_t turn, bool ok) = 0;
};

// The acknowledgements one worker held back in one loop turn (persistence_sync commit):
// shared by every store batch that carries a change they wait for (the worker's own and
// those of the workers its deliveries went to). When the last reference goes, whichever
// thread drops it (a store callback, a worker), the home worker is told, failed or not.
class DurableHold {
 public:
  DurableHold(Hub& hub, int worker, uint64_t turn) : hub_(hub), worker_(worker), turn_(turn) {}
  ~DurableHold() { hub_.post_durable(worker_, turn_, !failed_.load(std::memory_order_acquire)); }
  DurableHold(const DurableHold&) = delete;
  DurableHold& operator=(const DurableHold&) = delete;
  void fail() { failed_.store(true, std::memory_order_release); }

 private:
  Hub& hub_;
  const int worker_;
  const uint64_t turn_;
  std::atomic<bool> failed_{false};
};

class WorkerCore {
 public:
  WorkerCore(Broker& broker, int index, Hub& hub, std::shared_ptr<const config::Config> cfg);
  ~WorkerCore();
  WorkerCore(const WorkerCore&) = delete;
  WorkerCore& operator=(const WorkerCore&) = delete;

  int index() const { return index_; }

  // The worker a CONNECT must be handled on: the home of its client id, or this worker
  // for an empty id (the assigned id will hash here).
  int home_worker(const protocol::Connect& c, int listener) const;

  // A decoded CONNECT on its home worker. Returns the session, or nullptr when refused
  // (the CONNACK is written and the link is closing).
  Session* on_connect(Link& link, protocol::Connect&& c);
  // One frame (fixed header byte + body) of an established connection. Returns false
  // when the connection is closing (the core has written any DISCONNECT and called
  // link.close); the caller stops feeding frames.
  bool on_frame(Session* s, uint8_t header, std::string_view body);
  // The connection ended. graceful = the client sent DISCONNECT (no will unless 0x04).
  void on_link_closed(Session* s);
  // The link's output has drained: continue queued deliveries, then pending retained ones.
  void on_drained(Session* s);
  // Deliveries posted by another worker (hold: see Hub::send_batch).
  void deliver_batch(std::vector<Delivery>& batch, std::shared_ptr<DurableHold> hold = nullptr);
  // End of a loop turn: post the cross-worker batches built during it.
  void end_of_turn();
  // Timers: keepalive, will delay, session expiry, $SYS. Call a few times a second.
  void tick();
  void apply_config(std::shared_ptr<const config::Config> cfg);
  // Authentication and ACLs (nullptr: anonymous rules from the config only, no ACL).
  void apply_security(std::shared_ptr<const Security> security);
  // Publish a message originated by the broker ($SYS, log topic). Not for client traffic.
  void publish_internal(std::string_view topic, std::string_view payload, bool retain);
  // Ends a client's connection for a protocol error: DISCONNECT with reason (v5), will
  // published, link closed. Returns false (for the caller's frame loop).
  bool protocol_violation(Session* s, uint8_t reason, const std::string& why);
  // Close every connection (shutdown), v5 clients get DISCONNECT 0x8B.
  void shutdown_all();

  // ---- the durable store (core_persist.cpp) ----
  // Before the worker runs: journal persistent state into store (nullptr: memory only);
  // with hold_acks, hold QoS 1/2 acknowledgements until what they caused is durable.
  // open_batch_ms (persistence_sync interval): how long the journal may stay open across
  // turns (flush_journal); 0: submitted at the end of every turn.
  void set_store(persist::Store* store, bool hold_acks, int64_t open_batch_ms = 0);
  // Before the worker runs (any thread, while none runs): one stored session whose home
  // is this worker, offline. shared: message id -> message, so records of one stored
  // message share one Message again (across workers: only used while none runs).
  void restore_session(const persist::SessionRecord& r, std::unordered_map<uint64_t, MessageRef>& shared);
  // On this worker's thread: the changes of turn `turn` are durable (ok) or were refused;
  // sends (or, refused, answers 0x97 / withholds) its acknowledgements, in turn order.
  void turn_durable(uint64_t turn, bool ok);
  // Submits what this worker journaled and has not submitted yet (end_of_turn does it;
  // also after the worker stopped, before the store closes).
  // Submits the journal (this turn's changes) to the store. Under `persistence_sync
  // interval` with nothing waiting on it, end_of_turn leaves it open (force false) for up
  // to open_batch_ms_ or kOpenBatchOps; shutdown submits it whatever its age.
  void flush_journal(bool force = true);

  // ---- the admin (core_admin.cpp) ----
  // Disconnects every client of a listener that is being removed or restarted (v5:
  // DISCONNECT `reason`; wills follow the usual rules). Returns how many.
  size_t disconnect_listener(int listener, uint8_t reason);
  // Disconnects one client (v5: DISCONNECT 0x98 Administrative action); with
  // discard_session its session (also an offline one) is removed. False when unknown.
  bool disconnect_by_id(const std::string& client_id, bool discard_session);
  // After new security settings: checks every connected client again as if it
  // reconnected now and disconnects those now refused (0x86 / 0x87). Returns how many.
  // per_listener (optional): how many per listener index (grown as needed).
  size_t recheck_clients(std::vector<size_t>* per_listener = nullptr);
  // After the security settings changed: removes from every session's queue (offline
  // sessions' above all) the messages whose topic the new ACL does not let it read, as
  // routing would have; messages already in flight complete. Returns how many.
  size_t drop_unreadable_queued();
  void collect_clients(const ClientQuery& q, std::vector<ClientInfo>& out) const;
  // Messages waiting in this worker's sessions' queues and in flight (for /metrics).
  void queue_totals(uint64_t& queued, uint64_t& inflight) const;

  size_t session_count() const { return by_id_.size(); }
  // Deliveries waiting in this turn's batches for other workers (the network layer stops
  // reading publishers for the rest of the turn when this gets large).
  size_t outgoing_count() const { return outgoing_count_; }
  const config::Config& config() const { return *cfg_; }

  // Writes the CONNACK refusal for a CONNECT that did not decode (version guessed from
  // the bytes) and closes the link. Used by the network layer before a session exists.
  static void refuse_undecodable_connect(Link& link, uint8_t header, std::string_view body,
                                         const Error& err);

 private:
  struct Target {  // one matched subscription for the message being routed
    SessionKey key;
    uint8_t qos;
    bool retain_as_published;
    bool no_local;
    bool durable;  // the subscriber's session is journaled
    uint32_t sub_id;
  };
  // Fills targets_ with topic's matches sorted by session: from this worker's cache
  // while the trie's generation is unchanged, else from the trie (then cached when no
  // shared group took part, since those pick a member per message).
  void match_targets(std::string_view topic, Session* from);

  // connect / session lifecycle (core_connect.cpp)
  // reserved: the session was counted by Broker::reserve_session already.
  Session* new_session(const std::string& client_id, bool reserved = false);
  Session* lookup_by_id(const std::string& id) const;
  void destroy_session(Session* s);
  // Writes the refusing CONNACK, closes the link (after delay_ms); returns nullptr.
  Session* refuse(Link& link, const protocol::Connect& c, uint8_t v5_reason, const char* why,
              int delay_ms = 0);
  bool acl_denies(const Session* s, std::string_view topic, Access access) const {
    return security_ && security_->has_acl() && s->listener != kInternalListener &&
           !security_->allowed(s->listener, s->client_id, s->username, topic, access);
  }
  const config::Listener* listener_config(int listener) const;
  // The publisher identity a retained message from s keeps (null for none: the broker, a
  // bridge's trusted connection).
  RetainSourcePtr retain_source_of(Session* s);
  // check_retain_source: the retained message's publisher may no longer publish on its
  // topic, so it is not sent to a new subscriber (it stays retained).
  bool retain_source_denied(const RetainedMessage& r) const {
    return r.source && cfg_->check_retain_source && security_ && security_->has_acl() &&
           !security_->allowed(r.source->listener, r.source->client_id, r.source->username, r.topic,
                               Access::kWrite);
  }
  void takeover(Session* old);
  void end_connection(Session* s, bool publish_will);
  void schedule_or_publish_will(Session* s);
  // The CONNACK accepting a connection on link (v3 leaves the properties out).
  protocol::Connack success_connack(const Link& link, const std::string& client_id, bool assigned,
                                    uint16_t server_keepalive, bool session_present) const;
  void write_connack(Session* s, bool session_present, bool assigned, uint16_t server_keepalive);
  std::string assign_client_id(const std::string& prefix);
  uint8_t listener_max_qos(const Link& link) const;
  const config::SecuritySettings& security_for(const Link& link) const;
  // allow_anonymous / auto_id_prefix for the link's listener (listener_allow_anonymous and
  // listener_auto_id_prefix over the security settings).
  bool anonymous_allowed(const Link& link) const;
  const std::string& auto_id_prefix(const Link& link) const;

  // inbound packets (core_inbound.cpp)
  bool handle_publish(Session* s, uint8_t header, std::string_view body);
  // $CONTROL/broker/v1 (enable_control_api): answers on $CONTROL/broker/v1/response
  // (core_control.cpp).
  void handle_control(Session* s, std::string_view payload);
  bool handle_ack(Session* s, const protocol::Ack& a);
  bool handle_subscribe(Session* s, protocol::Subscribe& sub);
  bool handle_unsubscribe(Session* s, protocol::Unsubscribe& u);
  bool handle_disconnect(Session* s, const protocol::Disconnect& d);
  // Appends pkt, leaving out its reason string and user properties when they would make
  // it exceed the client's Maximum Packet Size [MQTT-3.4.2-2], [MQTT-3.14.2-3].
  template <class P>
  void append_within_max(Session* s, P& pkt);
  // Ends a client's connection from the broker's side: DISCONNECT with reason (v5, with
  // the reason string when given and wanted), the will if publish_will, the link closed
  // after its output. May destroy s.
  void sweep_expired_retained(int64_t now);
  void check_memory();  // worker 0's tick: memory_limit
  void disconnect_client(Session* s, uint8_t reason, const std::string* why, bool publish_will);
  void send_reason_string_ack(Session* s, protocol::PacketType t, uint16_t id, uint8_t reason,
                              const char* why);
  // An acknowledgement of a client's QoS 1/2 flow: sent now, or held until this turn's
  // changes are durable (hold_acks_ and must_hold, or anything held already: acks keep
  // their order).
  void ack_or_hold(Session* s, protocol::PacketType t, uint16_t id, uint8_t reason, const char* why,
                   bool must_hold);

  // the durable store's journal (core_persist.cpp); each does nothing unless s->durable
  persist::SessionHeader header_of(const Session* s) const;
  persist::SessionRecord record_of(const Session* s) const;
  std::shared_ptr<const persist::MessageRecord> message_record(const Message& m);
  persist::SharedMessage shared_message(const Message& m);
  // The session's durability follows its expiry (after CONNECT): starts or stops journaling it.
  void journal_connect(Session* s);
  void journal_not_durable(Session* s);  // a stored session now ends with its connection
  void journal_header(Session* s);
  void journal_subscription(Session* s, const SessionSub& sub);
  void journal_unsubscription(Session* s, const std::string& filter);
  void journal_append(Session* s, const MessageRef& m, uint64_t seq, uint8_t qos, bool retain,
                      const std::vector<uint32_t>& sub_ids, uint16_t packet_id, bool sent);
  void journal_sent(Session* s, uint64_t seq, uint16_t packet_id, bool released);
  void journal_remove(Session* s, uint64_t seq);
  void journal_qos2(Session* s, uint16_t packet_id, bool add);
  void journal_retained(std::string_view topic, const RetainedMessage* r);
  // Sets (durable) every subscription's journaled flag in the trie after s->durable changed.
  void mark_subscriptions_durable(Session* s);
  bool holding() const { return turn_hold_ != nullptr || !held_.empty(); }
  // Held for the store: creates this turn's hold on first use.
  struct HeldTurn;
  HeldTurn& hold_turn();
  // Moves s's output from `from` on into this turn's hold (a QoS 2 PUBLISH or a PUBREL to
  // a durable session waits until the state it puts the client in is stored).
  void hold_output(Session* s, size_t from);
  // Under commit, output to a stored session that must wait for the store (a QoS 2
  // PUBLISH, a SUBACK / UNSUBACK that changed its subscriptions) goes out once its change
  // is stored; anything else to that client waits behind what is held, keeping the order.
  // Inline: every delivery passes here.
  void hold_behind(Session* s, size_t from, bool must) {
    if (hold_acks_ && s->durable && (must || s->held_out > 0)) hold_output(s, from);
  }
  bool would_store(const protocol::Publish& p, std::string_view topic, Session* from);
  // Messages of failed batches still queued: the publisher was refused, they are dropped.
  void drop_refused();
  int64_t next_probe_ms_ = 0;
  uint64_t probes_ = 0;
  // Remembers that this batch changes s (a failed batch rewrites the sessions it touched).
  void touched(Session* s);
  // What failed batches touched: those sessions are written again whole, those retained
  // topics as memory holds them, once the store writes again.
  void resync_failed();
  int64_t wall_of(int64_t mono_ms) const;  // monotonic ms -> unix seconds (0 stays 0)

  // routing and delivery (core_route.cpp)
  // Stores/clears the retained copy, matches topic and delivers (locally, or into this
  // turn's batch for other workers). origin = publisher's session key (0 = the broker),
  // for no-local. Returns the number of sessions it went to.
  size_t route(const protocol::Publish& p, std::string_view topic, uint64_t origin, Session* from = nullptr);
  // Delivers to one local session; msg is created from v on first need and shared. With
  // last, the session takes msg itself (it is left empty) rather than another reference.
  void deliver_local(Session* s, const MsgView& v, MessageRef& msg, uint8_t qos, bool retain,
                     const std::vector<uint32_t>& sub_ids, bool last = false);
  static const MessageRef& materialize(const MsgView& v, MessageRef& msg);
  // A reference to the message (created on first need): msg's own when last, else a copy.
  static MessageRef share(const MsgView& v, MessageRef& msg, bool last);
  static MsgView view_of(const Message& m);
  // Encodes one PUBLISH into s's output; false when it was dropped (expired, too large).
  bool send_publish(Session* s, const MsgView& v, uint8_t qos, bool retain, uint16_t packet_id,
                    bool dup, const std::vector<uint32_t>& sub_ids);
  void enqueue(Session* s, MessageRef msg, uint8_t qos, bool retain,
               const std::vector<uint32_t>& sub_ids);
  void pump_queue(Session* s);
  uint16_t next_packet_id(Session* s);
  bool window_full(const Session* s, size_t payload) const;
  void inflight_erase(Session* s, size_t i);
  bool congested(const Session* s) const;
  void resend_inflight(Session* s);
  // Queues the retained messages matching a new subscription for s and sends the first
  // chunk if the connection has room; the rest follow as it drains (on_drained, or
  // pump_queue after an acknowledgement).
  void deliver_retained(Session* s, const std::string& filter, const SubOptions& opts);
  // Sends one bounded chunk of s's pending retained deliveries, if its output is low.
  void send_retained_chunk(Session* s);
  // Drops the pending retained delivery of filter (unsubscribed, or subscribed again).
  void cancel_retained(Session* s, std::string_view filter);
  Session* lookup(SessionKey k) const;

  // timers and $SYS (core_timers.cpp, sys_topics.cpp)
  void publish_sys();
  void remove_expired_session(Session* s);
  void publish_will(Session* s, protocol::Will& w);

  Broker& broker_;
  WorkerStats& stats_;
  int index_;
  Hub& hub_;
  std::shared_ptr<const config::Config> cfg_;
  std::shared_ptr<const Security> security_;

  std::vector<std::unique_ptr<Session>> slots_;
  std::vector<uint32_t> gens_;
  std::vector<uint32_t> free_slots_;
  SessionIndex by_id_;

  std::vector<std::vector<Delivery>> outgoing_;  // per destination worker
  size_t outgoing_count_ = 0;
  std::vector<Target> targets_;                  // scratch for route()
  trie_detail::LevelMap<std::vector<Target>> route_cache_;  // topic -> sorted matches
  uint64_t route_gen_ = 0;
  uint64_t route_epoch_ = 1;  // changes whenever route_cache_ entries may move (hints)
  std::vector<uint32_t> scratch_ids_;
  std::string publish_scratch_;  // decode_publish: properties that arrived interleaved
  std::string mount_scratch_;    // handle_publish: mount_point + topic (reused, no allocation per message)
  uint64_t id_counter_ = 0;

  // Encode-once cache: the last message's PUBLISH per (v3/v5, QoS) layout.
  struct Encoded {
    std::string bytes;
    size_t pid_off = 0;
    bool valid = false;
  };
  Encoded cache_[6];
  uint64_t cache_serial_ = 0;
  uint64_t serial_ = 0;
  const Message* last_batch_msg_ = nullptr;

  int64_t next_sys_ms_ = 0;
  int64_t next_retain_sweep_ms_ = 0;  // 0: no sweep scheduled (retain_expiry_interval off)
  LoadAvg load_;

  // ---- the durable store ----
  persist::Store* store_ = nullptr;
  bool hold_acks_ = false;
  bool store_backlogged_ = false;  // kInterval and the store fell behind: acks held (ack_or_hold)
  persist::Batch batch_;                                  // this turn's changes
  std::vector<std::shared_ptr<DurableHold>> batch_holds_; // other workers' holds on batch_
  std::shared_ptr<DurableHold> turn_hold_;                // this turn's, once an ack is held
  std::vector<uint8_t> hold_to_;                          // per worker: deliveries it must store
  bool route_durable_ = false;                            // the message being routed was journaled
  uint64_t turn_seq_ = 0;
  struct HeldAck {
    SessionKey key;
    uint64_t conn_id;
    uint16_t packet_id;
    protocol::PacketType type;
    uint8_t reason;
    const char* why;
    std::string bytes;  // a held PUBLISH or PUBREL to the client, encoded (type unused)
  };
  struct HeldTurn {
    uint64_t turn = 0;
    std::vector<HeldAck> acks;
    bool done = false;
    bool ok = true;
  };
  std::deque<HeldTurn> held_;                             // oldest first
  uint64_t record_id_ = 0;                                // message_record's one-entry cache (store id)
  std::shared_ptr<const persist::MessageRecord> record_;
  bool store_failed_logged_ = false;
  uint64_t batch_no_ = 1;                                 // numbers this worker's batches
  std::vector<std::string> batch_clients_;                // durable sessions batch_ changes
  std::vector<std::string> batch_topics_;                 // retained topics batch_ changes
  std::vector<std::pair<SessionKey, uint64_t>> batch_appends_;  // records batch_ appends
  // Appends in batch_ whose message is not copied into a persist::MessageRecord yet: that
  // happens when the batch is submitted, for those whose record still exists then. One
  // removed before (acknowledged, expired) cancels its append, and an update of its state
  // changes the append in place: such a record is never submitted at all. Under
  // `persistence_sync interval` the batch stays open across turns for this (flush_journal)
  // so that a message acknowledged within open_batch_ms_ never costs the store anything.
  int64_t open_batch_ms_ = 0;                        // an open batch is submitted at this age
  static constexpr size_t kOpenBatchOps = 32768;     // or with this many operations, cancelled
                                                     // ones included (each an Op, 232 bytes)
  struct OpenAppend {
    size_t op;        // index in batch_
    MessageRef msg;   // null: cancelled
  };
  struct OpenKey {
    SessionKey key;
    uint64_t seq;
    bool operator==(const OpenKey&) const = default;
  };
  struct OpenKeyHash {
    size_t operator()(const OpenKey& k) const { return std::hash<uint64_t>()(k.key * 0x9E3779B97F4A7C15ull ^ k.seq); }
  };
  struct OpenRef {
    size_t index;     // in open_appends_
    uint32_t epoch;   // the session's journal_epoch when appended
  };
  std::vector<OpenAppend> open_appends_;
  std::unordered_map<OpenKey, OpenRef, OpenKeyHash> open_index_;
  size_t cancelled_ops_ = 0;      // ops of batch_ cancelled (dropped at submission)
  int64_t batch_opened_ms_ = 0;   // when batch_ was first left open (0: not yet)
  // The open append of s's record seq, if it can still be changed or cancelled.
  OpenAppend* open_append(Session* s, uint64_t seq, bool take);
  // Filled by store callbacks (the store thread) when a batch failed; drained here.
  struct FailedChanges {
    std::mutex mu;
    std::vector<std::string> clients, topics;
    std::vector<std::pair<SessionKey, uint64_t>> appends;  // (session, store_seq)
    std::atomic<bool> any{false};
  };
  std::shared_ptr<FailedChanges> failed_ = std::make_shared<FailedChanges>();
};

}  // namespace petrel::broker
