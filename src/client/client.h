#pragma once
// petrel::client::Client — an asynchronous MQTT 3.1 / 3.1.1 / 5.0 client on Boost.Asio and
// Petrel's own codec. Used by petrel_pub / petrel_sub / petrel_rr, and meant for the
// broker's bridges, which will run it inside a worker's io_context: it owns no thread, no
// global state and makes no blocking call (DNS goes through Asio's async resolver).
//
// Model: callbacks (struct Handlers plus a completion handler per request). Everything runs
// on the executor given to create() and no public call invokes a handler synchronously.
// Not thread-safe: call it from that executor only. Errors are values (Result /
// ClientError), never exceptions.
//
//   auto c = Client::create(io.get_executor(), make_stream_factory(ex, transport), opts, {
//       .on_connect = [&](const ConnackInfo&) { c->subscribe({{"a/#", 1}}, {}, {}); },
//       .on_message = [&](const Message& m) { ... },
//   });
//   c->connect();
//   c->publish({.topic = "a/b", .payload = "hi", .qos = 1}, [](const PublishResult&) {});
//   io.run();
//
// What it does for the caller:
//  - QoS 1 and 2 in both directions: packet identifiers, PUBACK/PUBREC/PUBREL/PUBCOMP,
//    an in-flight window (min of max_inflight and the server's Receive Maximum; further
//    publishes queue), exactly-once delivery of inbound QoS 2 (delivered on PUBREL, as
//    libmosquitto does); or, with manual_ack, inbound messages acknowledged only when the
//    owner says so (bridges: once the other side has them);
//  - keepalive: PINGREQ after `keepalive` seconds without sending, connection lost when
//    no PINGRESP arrives within another keepalive period (the server's Server Keep Alive
//    overrides ours);
//  - optional reconnect with exponential backoff. On a resumed session (session present)
//    unacknowledged PUBLISHes are re-sent with DUP set and PUBRELs re-sent; without one
//    they are re-sent as new messages. Publishes made while disconnected are queued;
//  - v5: inbound topic aliases are resolved; Message::props keeps the properties in wire
//    order; publishes above the server's Maximum QoS are downgraded to it.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "client/message.h"
#include "client/transport.h"
#include "common/result.h"
#include "protocol/framer.h"
#include "protocol/packets.h"

namespace petrel::client {

struct ReconnectPolicy {
  bool enabled = false;
  // The owner reconnects (calls connect() again after on_connect_failed /
  // on_connection_lost) with its own policy; the client keeps its in-flight and queued
  // messages between connections, as with `enabled`. Bridges use this for failover.
  bool manual = false;
  std::chrono::milliseconds initial_delay{1000};
  std::chrono::milliseconds max_delay{30000};
};

struct ClientOptions {
  protocol::Version version = protocol::Version::kV311;
  std::string client_id;  // may be empty (3.1.1/5.0: the server assigns one)
  bool clean_start = true;
  uint16_t keepalive = 60;  // seconds, 0 = off
  bool bridge = false;      // 3.1/3.1.1: set the bridge bit of the protocol level (try_private)
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<protocol::Will> will;
  protocol::Properties connect_props;  // v5 CONNECT properties
  uint16_t max_inflight = 20;          // outgoing QoS 1/2 window; 0 = the server's limit
  // Received QoS 1/2 messages are delivered as their PUBLISH arrives (QoS 2 too) and
  // acknowledged (PUBACK, PUBREC) only when the owner calls ack() on the same connection,
  // e.g. once it has passed the message on. What is not acknowledged when a connection
  // ends is the server's to send again (a resumed session): a re-sent QoS 2 message is
  // delivered again unless it was acknowledged.
  bool manual_ack = false;
  ReconnectPolicy reconnect;
  std::chrono::milliseconds connect_timeout{30000};  // transport + CONNACK
};

enum class ErrorKind {
  kTransport,         // resolve / connect / TLS / WebSocket failure (see transport_kind)
  kRefused,           // CONNACK with a non-zero code (reason)
  kProtocol,          // malformed or unexpected packet from the server
  kTimeout,           // no CONNACK or no PINGRESP in time
  kConnectionLost,    // the stream failed or was closed by the peer
  kServerDisconnect,  // v5 DISCONNECT from the server (reason)
};

struct ClientError {
  ErrorKind kind = ErrorKind::kConnectionLost;
  uint8_t reason = 0;  // CONNACK / DISCONNECT reason code (3.x: the CONNACK return code)
  TransportErrorKind transport_kind = TransportErrorKind::kConnect;
  std::string message;  // one line
};

struct ConnackInfo {
  bool session_present = false;
  protocol::Properties props;  // v5 CONNACK properties
};

struct OutMessage {
  std::string topic;
  std::string payload;
  uint8_t qos = 0;
  bool retain = false;
  protocol::Properties props;  // v5 PUBLISH properties (forwardable ones and message expiry)
};

struct PublishResult {
  uint16_t packet_id = 0;
  uint8_t reason = 0;  // v5 PUBACK/PUBREC reason code; 0 on success
};

struct Handlers {
  std::function<void(const ConnackInfo&)> on_connect;         // after each accepted CONNACK
  std::function<void(const ClientError&)> on_connect_failed;  // an attempt failed or was refused
  std::function<void(const Message&)> on_message;
  std::function<void(const ClientError&)> on_connection_lost;  // not called after disconnect()
  std::function<void(const std::string&)> on_log;  // debug trace, like mosquitto's -d
};

using PublishHandler = std::function<void(const PublishResult&)>;
using SubackHandler = std::function<void(const protocol::Suback&)>;
using UnsubackHandler = std::function<void(const protocol::Unsuback&)>;

class Client : public std::enable_shared_from_this<Client> {
 public:
  static std::shared_ptr<Client> create(boost::asio::any_io_executor ex, StreamFactory factory,
                                        ClientOptions opts, Handlers handlers);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Starts connecting (no-op unless idle).
  void connect();
  // Queues a message; returns its packet identifier (also assigned for QoS 0, as a message
  // id for logs). done runs when QoS 0 is written, QoS 1 acknowledged, QoS 2 completed.
  Result<uint16_t> publish(OutMessage msg, PublishHandler done = {});
  // Sends SUBSCRIBE / UNSUBSCRIBE now (must be connected); done on SUBACK / UNSUBACK.
  // Requests pending when the connection drops are forgotten (done is not called).
  Result<uint16_t> subscribe(std::vector<protocol::SubscribeTopic> topics,
                             protocol::Properties props, SubackHandler done = {});
  Result<uint16_t> unsubscribe(std::vector<std::string> filters, protocol::Properties props,
                               UnsubackHandler done = {});
  // Sends DISCONNECT (when connected), closes, stops reconnecting; done runs afterwards.
  void disconnect(uint8_t reason = 0, protocol::Properties props = {},
                  std::function<void()> done = {});
  // Closes the network connection without DISCONNECT (the server publishes the will).
  void abort();
  // Sends DISCONNECT (when connected) and closes, but keeps in-flight and queued messages
  // and stays usable: connect() opens a new connection (with the factory's current
  // choice of address) and resumes the flows. done runs once closed.
  void hang_up(std::function<void()> done = {});

  // manual_ack: acknowledges a received QoS 1/2 message (its packet_id, qos, connection);
  // nothing when that connection has ended.
  void ack(uint16_t packet_id, uint8_t qos, uint64_t connection);
  // The current connection's number (Message::connection of what arrives on it).
  uint64_t connection() const { return gen_; }

  bool is_connected() const { return state_ == State::kConnected; }
  // Outgoing QoS 1/2 messages not yet completed, and messages not yet sent.
  size_t inflight() const { return inflight_.size(); }
  size_t queued() const { return queue_.size(); }
  // The client id in use (the server-assigned one when it sent one).
  const std::string& client_id() const { return client_id_; }
  protocol::Version version() const { return opts_.version; }

 private:
  enum class State { kIdle, kOpening, kWaitConnack, kConnected, kDisconnecting, kClosed };
  enum class Flow { kQueued, kWaitAck, kWaitRec, kWaitComp };
  struct Outgoing {
    uint16_t id = 0;
    OutMessage msg;
    std::string forward_props;  // encoded once
    Flow flow = Flow::kQueued;
    PublishHandler done;
  };
  struct PendingQos2 {
    std::optional<Message> message;
    bool acked = true;  // manual_ack: PUBREC sent (false: delivered, the owner's ack awaited)
  };

  Client(boost::asio::any_io_executor ex, StreamFactory factory, ClientOptions opts, Handlers h);

  // connection (client.cpp)
  void start_attempt();
  void on_stream(StreamPtr stream, const TransportError* error);
  void send_connect();
  void start_read();
  void on_read(const boost::system::error_code& ec, size_t n);
  void handle_connack(const protocol::Connack& c);
  void lost(ClientError err);
  void teardown();
  void schedule_reconnect();
  void arm_keepalive();
  void on_keepalive();
  void send(std::string bytes, std::function<void()> on_written = {});
  void kick_write();
  void write_failed(const boost::system::error_code& ec);
  void log(const std::string& line) const;
  std::string id_for_log() const;

  // packets and flows (client_flows.cpp)
  void handle_packet(uint8_t header, std::string_view body);
  void handle_publish(uint8_t header, std::string_view body);
  void handle_ack(const protocol::Ack& a);
  void deliver(const Message& m);
  void resume_flows(bool session_present);
  void pump_queue();
  void send_publish(Outgoing& o, bool dup, std::function<void()> on_written = {});
  void send_ack(protocol::PacketType type, uint16_t id, uint8_t reason = 0);
  void complete(uint16_t id, uint8_t reason);
  uint16_t allocate_id();
  size_t window() const;

  boost::asio::any_io_executor ex_;
  StreamFactory factory_;
  ClientOptions opts_;
  Handlers h_;
  State state_ = State::kIdle;
  uint64_t gen_ = 0;  // bumped per connection: late callbacks of an old one are ignored
  StreamPtr stream_;
  protocol::StreamFramer framer_;
  std::string publish_scratch_;
  std::vector<char> rbuf_;
  std::string out_, wbuf_;
  std::vector<std::function<void()>> out_done_, wbuf_done_;
  bool writing_ = false;
  bool reading_ = false;
  // A write failed while a read was outstanding: the read reports what the peer sent
  // (a TLS alert, a refusing CONNACK, a DISCONNECT reason) instead of this error, unless
  // drain_timer_ fires first.
  std::optional<std::string> write_error_;
  std::string client_id_;

  boost::asio::steady_timer keepalive_timer_, reconnect_timer_, connect_timer_, drain_timer_;
  uint16_t keepalive_ = 0;
  std::chrono::steady_clock::time_point last_out_;
  bool ping_outstanding_ = false;
  std::chrono::steady_clock::time_point ping_sent_;
  std::chrono::milliseconds backoff_{0};

  uint16_t next_id_ = 0;
  std::set<uint16_t> used_ids_;
  std::deque<Outgoing> queue_;
  std::deque<Outgoing> inflight_;
  uint16_t server_receive_max_ = 65535;
  uint8_t server_max_qos_ = 2;
  std::map<uint16_t, SubackHandler> pending_subs_;
  std::map<uint16_t, UnsubackHandler> pending_unsubs_;
  std::map<uint16_t, PendingQos2> incoming_qos2_;
  std::map<uint16_t, std::string> aliases_in_;
  std::function<void()> disconnect_done_;
  bool idle_after_disconnect_ = false;  // hang_up(): back to kIdle instead of kClosed
};

// Readable text for a CONNACK code ("Connection Refused: not authorised.", "Not authorized").
std::string connack_string(protocol::Version v, uint8_t code);

}  // namespace petrel::client
