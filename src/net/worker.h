#pragma once
// Worker: one thread, one io_context, one WorkerCore. Owns the connections placed on it,
// a large read buffer they share, the flush list for the loop turn, and its acceptors
// (every worker accepts on every listener through SO_REUSEPORT).
#include <boost/asio/io_context.hpp>
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

  void start();   // spawn the thread
  void join();

  // Registry of live connections (owned here).
  void add(std::shared_ptr<Connection> c);
  void remove(Connection* c);
  void schedule_flush(Connection* c);
  void schedule_turn_end();  // cross-worker batches must go out even with nothing dirty
  // Accepted socket, or one handed over from another worker with its CONNECT.
  void adopt(boost::asio::ip::tcp::socket sock, int listener, std::string peer);
  void adopt_with_connect(int fd, bool v6, int listener, std::string peer,
                          protocol::Connect connect, std::string pending, int64_t accepted_ms);
  void shutdown();  // on this worker's thread: close every connection
  // Backpressure: a publisher stopped reading while the broker is backlogged.
  void park(std::shared_ptr<Connection> c) { parked_.push_back(std::move(c)); }
  void resume_parked();

 private:
  void turn_end();
  void arm_tick();
  void on_tick();

  Server& server_;
  int index_;
  boost::asio::io_context io_;
  broker::WorkerCore core_;
  std::vector<char> rbuf_;
  std::vector<std::shared_ptr<Connection>> conns_;
  std::vector<Connection*> dirty_;
  std::vector<std::shared_ptr<Connection>> parked_;
  bool turn_posted_ = false;
  boost::asio::steady_timer tick_;
  std::thread thread_;
};

}  // namespace petrel::net
