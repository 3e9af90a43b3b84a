#pragma once
// Worker: one thread's event loop and the connections it owns for the whole run.
//
// One edge-triggered epoll set; every socket is registered once for IN|OUT. Reads go into
// one large per-thread buffer (a connection keeps only its trailing partial packet);
// every complete packet is framed with try_frame and decoded with the codec. Publishers
// copy a pre-encoded PUBLISH template batch by batch, patching sequence word, timestamp and
// packet id, and write until the socket refuses (EAGAIN -> wait for EPOLLOUT, never drop).
// Other output (acks, PUBREL, pings) is appended to the connection's buffer and written once
// per loop turn. Only this thread touches its clients, histograms and trackers; the main
// thread sees the Counters published at the end of each turn and reads the rest after join.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "byte_buffer.h"
#include "control.h"
#include "options.h"
#include "plan.h"
#include "stats.h"
#include "wire.h"

typedef struct ssl_st SSL;

namespace petrel::protocol {
struct Publish;
struct Ack;
struct Connack;
struct Suback;
}  // namespace petrel::protocol

namespace petrel::bench {

class TlsContext;

struct Target {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string host;  // for TLS verification / SNI
};

enum class ConnState : uint8_t { kNew, kTcpConnecting, kTlsHandshake, kWaitConnack, kReady, kClosed };

struct PublisherState {
  uint32_t index = 0;
  PacketTemplate tmpl;
  uint64_t generated = 0;  // next sequence number
  uint64_t acked = 0;
  uint32_t inflight = 0;
  uint32_t window = 0;             // --inflight, or less when a v5 broker's Receive Maximum says so
  uint16_t next_pid = 1;
  // QoS 1/2, indexed by packet id (ids cycle through 1..pid_span): 0 free, 1 awaits
  // PUBACK/PUBREC, 2 awaits PUBCOMP; and when each was sent (the ack latency).
  std::vector<uint8_t> pid_state;
  std::vector<int64_t> pid_sent_ns;
  uint16_t pid_span = 0;
  int64_t start_ns = 0;            // origin of the --rate schedule; 0 = not publishing
  uint64_t limit = ~uint64_t(0);   // retained: messages to publish in the current stage
  std::string topic;               // retained: base of topic/<i>
  uint8_t qos = 0;
};

struct SubscriberState {
  std::string filter;
  uint32_t stream = 0;
  uint32_t expect = kAnyPublisher;
  bool deferred = false;                     // retained: subscribe in kRetainSubscribe
  uint32_t tracker = ~0u;                    // expect != any: its one tracker
  uint32_t last_publisher = ~0u, last_tracker = ~0u;  // runs of one publisher skip the lookup
  std::vector<uint32_t> by_publisher;        // expect == any: tracker per publisher
  uint8_t granted = 0;
  // The topic of the last PUBLISH that passed the codec's full decode (MQTT 3.x): a
  // delivery on the same topic only needs its fixed fields checked (Worker::parse).
  std::string checked_topic;
  // MQTT 5 topic aliases the broker set on this connection (index = alias; empty = unset).
  std::vector<std::string> aliases;
};

struct Client {
  int fd = -1;
  uint32_t slot = 0;
  ConnState state = ConnState::kNew;
  Role role = Role::kIdle;
  bool blocked = false, dirty = false, pending_read = false, suback_pending = false;
  bool persistent = false;  // CONNECT keeps the session (ClientSpec::persistent)
  uint32_t local_addr = 0;
  std::string id;
  std::string in;  // an incomplete packet carried over to the next read
  ByteBuffer out;
  int64_t connect_ns = 0;
  SSL* ssl = nullptr;
  std::unique_ptr<PublisherState> pub;
  std::unique_ptr<SubscriberState> sub;
};

// Totals a worker hands back after run(), beyond the published Counters.
struct WorkerResult {
  Counters counters;
  uint64_t unsent = 0;         // publishes still in our own buffers at the end
  uint64_t misrouted = 0;      // deliveries from a publisher this subscriber should not hear
  uint64_t foreign = 0;        // deliveries without our payload stamp
  uint64_t bad_acks = 0;       // acks for packet ids not in flight
  uint64_t rejected = 0;       // v5 acks with a failure reason code
  uint64_t downgraded = 0;     // subscriptions granted a lower QoS than asked
  uint64_t closed = 0;         // connections lost before the end
  uint64_t window_capped = 0;  // publishers whose window a v5 Receive Maximum made smaller
  uint64_t publish_packets = 0, publish_bytes = 0;  // every PUBLISH subscribers read, whole packets
  uint64_t aliased = 0;        // of those, sent with a topic alias instead of the topic
};

class Worker {
 public:
  Worker(uint32_t id, const Options& o, const Plan& plan, Control& ctl, SharedCounters& shared,
         const Target& target, const TlsContext* tls);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void add_client(const ClientSpec& spec);
  void run();

  // Valid after run() returned.
  const Histogram& latency() const { return latency_; }
  const Histogram& connect_latency() const { return connect_latency_; }
  const Histogram& ack_latency() const { return ack_latency_; }
  std::vector<SeqTracker>& trackers() { return trackers_; }
  const WorkerResult& result() const { return result_; }

 private:
  // worker.cpp: the loop, reading, writing
  void enter_phase(Phase p);
  void turn(int timeout_ms);
  void on_event(uint64_t tag, uint32_t events);
  void handle_read(Client& c);
  size_t parse(Client& c, const char* buf, size_t len);
  ssize_t io_recv(Client& c, char* buf, size_t n);
  ssize_t io_send(Client& c, const char* p, size_t n);
  void flush(Client& c);
  void mark_dirty(Client& c);
  void flush_dirty();
  void lose(Client& c, const std::string& why);
  void close_all();
  int next_timeout() const;
  // worker_connect.cpp: connecting, TLS, CONNECT/SUBSCRIBE/DISCONNECT
  void start_connects();
  bool open_socket(Client& c);
  void on_connect_event(Client& c, uint32_t events);
  void send_connect(Client& c);
  void subscribe(Client& c);
  void disconnect_all();
  std::string peer() const;
  // worker_mqtt.cpp: incoming packets
  bool quick_publish(const SubscriberState& s, uint8_t header, std::string_view body,
                     protocol::Publish& p) const;
  void on_packet(Client& c, uint8_t header, std::string_view body);
  void on_connack(Client& c, const protocol::Connack& a);
  void on_suback(Client& c, const protocol::Suback& a);
  void on_publish(Client& c, const protocol::Publish& p);
  bool resolve_alias(Client& c, protocol::Publish& p);
  void on_ack(Client& c, const protocol::Ack& a);
  uint32_t tracker_for(Client& c, uint32_t publisher);
  void flush_latency();
  void append_ack(Client& c, const PacketTemplate& t, uint16_t packet_id);
  // worker_publish.cpp: generating load
  void start_publishing(bool retained_stage);
  void pump_all();
  void pump(Client& c);
  uint64_t budget(const Client& c) const;
  void generate(Client& c, uint64_t n);
  void generate_retained(Client& c, uint64_t n);
  uint16_t take_packet_id(PublisherState& p);
  void send_pings();
  uint64_t count_unsent() const;

  uint32_t id_;
  const Options& opt_;
  const Plan& plan_;
  Control& ctl_;
  SharedCounters& shared_;
  Target target_;
  const TlsContext* tls_;
  int ep_ = -1, wake_fd_ = -1;

  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<uint32_t> publishers_, dirty_, pending_, pending_tmp_;
  std::vector<char> rbuf_;
  size_t read_size_ = 0;  // bytes per recv(): one read holds hundreds of publishes
  std::string scratch_;  // decode_publish's buffer for non-contiguous v5 properties
  PacketTemplate puback_, pubrec_, pubrel_, pubcomp_;
  uint64_t max_batch_ = 1;  // publishes per generated batch

  Phase phase_ = Phase::kInit;
  bool measuring_ = false, hot_ = false;
  int64_t now_ = 0;
  uint32_t next_connect_ = 0, connecting_ = 0;
  int64_t ping_origin_ = 0;
  uint64_t ping_cursor_ = 0, pinged_ = 0;
  std::vector<uint32_t> group_by_publisher_;  // $share group: tracker per publisher

  Counters c_;
  WorkerResult result_;
  Histogram latency_, connect_latency_, ack_latency_;
  uint64_t run_latency_ = 0, run_count_ = 0;  // equal latencies not yet recorded
  std::vector<SeqTracker> trackers_;
};

int64_t mono_ns();

}  // namespace petrel::bench
