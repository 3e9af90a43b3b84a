// Worker: opening connections (non-blocking connect, optional source address, TLS
// handshake), CONNECT, SUBSCRIBE and the final DISCONNECT.
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tls.h"
#include "worker.h"

namespace petrel::bench {

std::string Worker::peer() const {
  if (target_.addr.ss_family == AF_INET6) return "[" + target_.host + "]:" + std::to_string(opt_.port);
  return target_.host + ":" + std::to_string(opt_.port);
}

void Worker::start_connects() {
  if (phase_ < Phase::kConnect || phase_ >= Phase::kDisconnect) return;
  while (connecting_ < opt_.connect_window && next_connect_ < clients_.size()) {
    Client& c = *clients_[next_connect_++];
    ++connecting_;
    if (!open_socket(c)) {
      if (c.state == ConnState::kNew) --connecting_;  // lose() did not run
      return;
    }
  }
}

bool Worker::open_socket(Client& c) {
  int fd = ::socket(target_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ctl_.fail(std::string("socket(): ") + std::strerror(errno) +
              (errno == EMFILE ? " (the process file-descriptor limit is too low)" : ""));
    return false;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (c.local_addr) {  // spread over 127.0.0.x: each source address has its own port range
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in la{};
    la.sin_family = AF_INET;
    la.sin_addr.s_addr = htonl(c.local_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&la), sizeof la) < 0) {
      ctl_.fail("bind to source address " + std::string(inet_ntoa(la.sin_addr)) + ": " + std::strerror(errno));
      ::close(fd);
      return false;
    }
  }
  c.fd = fd;
  c.state = ConnState::kTcpConnecting;
  c.connect_ns = mono_ns();
  if (!c_.first_connect_ns) c_.first_connect_ns = c.connect_ns;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = c.slot;
  if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    lose(c, std::string("epoll_ctl: ") + std::strerror(errno));
    return false;
  }
  sockaddr_storage to = target_.addr;
  if (opt_.sub_port && c.role == Role::kSubscriber) {  // the second broker (--sub-port)
    if (to.ss_family == AF_INET6) reinterpret_cast<sockaddr_in6*>(&to)->sin6_port = htons(opt_.sub_port);
    else reinterpret_cast<sockaddr_in*>(&to)->sin_port = htons(opt_.sub_port);
  }
  int r = ::connect(fd, reinterpret_cast<const sockaddr*>(&to), target_.len);
  if (r < 0 && errno != EINPROGRESS) {
    lose(c, std::string("cannot connect: ") + std::strerror(errno));
    return false;
  }
  return true;
}

void Worker::on_connect_event(Client& c, uint32_t events) {
  if (c.state == ConnState::kTcpConnecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) return lose(c, std::string("cannot connect: ") + std::strerror(err));
    if (!tls_) return send_connect(c);
    c.ssl = tls_->attach(c.fd, target_.host);
    if (!c.ssl) return lose(c, "cannot create a TLS session");
    c.state = ConnState::kTlsHandshake;
  }
  std::string err;
  switch (tls_handshake(c.ssl, err)) {
    case TlsStep::kDone: return send_connect(c);
    case TlsStep::kWantIo: return;
    case TlsStep::kFailed: return lose(c, err);
  }
}

void Worker::send_connect(Client& c) {
  std::string tmp;
  append_connect(tmp, c.id, opt_.version, opt_.keepalive, c.persistent ? opt_.session_expiry : 0,
                 c.sub ? opt_.topic_alias_max : 0);
  c.out.append(tmp);
  c.state = ConnState::kWaitConnack;
  flush(c);
}

void Worker::subscribe(Client& c) {
  std::string tmp;
  append_subscribe(tmp, 1, c.sub->filter, opt_.qos, opt_.version);
  c.out.append(tmp);
  c.suback_pending = true;
  if (c.sub->deferred && !c_.subscribe_ns) c_.subscribe_ns = mono_ns();
  mark_dirty(c);
}

void Worker::disconnect_all() {
  std::string bye;
  append_disconnect(bye, opt_.version);
  for (auto& c : clients_) {
    if (c->fd < 0 || c->state != ConnState::kReady) continue;
    c->out.append(bye);
    flush(*c);
  }
}

}  // namespace petrel::bench
