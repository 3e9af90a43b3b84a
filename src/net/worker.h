#pragma once
// Worker: one thread, one io_context, one WorkerCore. Client sockets live in the worker's
// own edge-triggered epoll set, which Asio watches as a single descriptor (Asio keeps the
// timers, cross-thread posts and signals); this costs no per-socket Asio state or
// per-wait allocation. The worker owns its connections, the read buffer they share, the
// flush list of the loop turn and the read-again list of connections with unread data.
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "broker/worker_core.h"
#include "net/connection.h"

namespace petrel::net {

class Server;

class Worker {
 public:
  Worker(Server& server, int index, std::shared_ptr<const config::Config> cfg);
  ~Worker();

  boost::asio::io_context& io() { return io_; }
  broker::WorkerCore& core() { return core_; }
  Server& server() { return server_; }
  int index() const { return index_; }
  char* read_buffer() { return rbuf_.data(); }
  size_t read_buffer_size() const { return rbuf_.size(); }
  uint32_t max_packet_size() const { return core_.config().max_packet_size; }

  void start();  // spawn the thread
  void join();

  // epoll registration of a connection's socket.
  bool watch(int fd, Connection* c);
  void unwatch(int fd);
  // Registry: connections are owned here; removal defers the delete to the turn end, so
  // events already fetched for it in this turn stay safe.
  void remove(Connection* c, bool release_admission);
  void schedule_flush(Connection* c);
  void schedule_turn_end();  // cross-worker batches must go out even with nothing dirty
  void read_again(Connection* c);  // unread data left (edge-triggered): next turn
  // Accepted socket, or one handed over from another worker with its CONNECT.
  void adopt(int fd, int listener, std::string peer, std::unique_ptr<Transport> transport);
  void adopt_with_connect(int fd, int listener, std::string peer, protocol::Connect connect,
                          std::string pending, std::unique_ptr<Transport> transport);
  void shutdown();  // on this worker's thread: close every connection
  // A listener goes away or restarts: its clients get DISCONNECT `reason` (v5) and its
  // connections that have not sent CONNECT yet are closed. Returns how many clients.
  size_t close_listener(int listener, uint8_t reason);
  // Backpressure: a publisher stopped reading while the broker is backlogged.
  void park(Connection* c) { parked_.push_back(c); }
  void resume_parked();

 private:
  void arm_epoll();
  void on_epoll();
  int poll_events();  // one non-blocking epoll_wait, its events handled
  void turn_end();
  void arm_tick();
  void on_tick();
  Connection* add(std::unique_ptr<Connection> c);

  Server& server_;
  int index_;
  boost::asio::io_context io_;
  broker::WorkerCore core_;
  std::vector<char> rbuf_;
  int epfd_ = -1;
  boost::asio::posix::stream_descriptor epdesc_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<std::unique_ptr<Connection>> graveyard_;
  std::vector<Connection*> dirty_;
  std::vector<Connection*> again_;      // collecting during this turn
  std::vector<Connection*> again_run_;  // scheduled for the next turn
  bool again_posted_ = false;
  std::vector<Connection*> parked_;
  bool turn_posted_ = false;
  boost::asio::steady_timer tick_;
  std::thread thread_;
};

}  // namespace petrel::net
