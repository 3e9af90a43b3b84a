#pragma once
// http_dir: the files a websockets listener serves over plain HTTP/1.1 to a request that is
// not a WebSocket upgrade (Mosquitto's option, for the page of a browser MQTT client).
// GET and HEAD only, one request per connection (the reply says Connection: close), no
// directory listings (a directory serves its index.html), nothing outside the directory:
// the request path is percent-decoded, split into segments, and refused if a segment is
// ".." or holds a NUL or '/' once decoded; the file found is then resolved with
// realpath() and must still lie under the directory's own real path, so a symbolic link
// inside it cannot point out. Pure except for the file system reads; the response head
// is built here and the body is read from `fd` by the transport as the socket drains.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace petrel::net {

class HttpFiles {
 public:
  // `dir` as configured. Fails (nullptr, `error` says why, naming the directory) when it
  // does not exist, is not a directory or cannot be read.
  static std::shared_ptr<const HttpFiles> open(const std::string& dir, std::string& error);

  struct Response {
    int status = 0;
    std::string head;     // status line and headers, ending with the blank line
    std::string body;     // small bodies (errors); empty when the body comes from fd
    int fd = -1;          // the file to send after head (GET of a file); the caller closes it
    uint64_t length = 0;  // bytes to send from fd
    std::string log;      // "GET /path 200 (1234 bytes)" for the connection's log line
  };
  // The reply to one request line's method and target (origin-form "/a/b?q").
  Response respond(std::string_view method, std::string_view target) const;

  const std::string& root() const { return root_; }

 private:
  explicit HttpFiles(std::string root) : root_(std::move(root)) {}
  std::string root_;  // realpath of the directory, without a trailing '/'
};

// The Content-Type for a file name, from its extension (application/octet-stream when
// unknown).
std::string_view content_type_for(std::string_view name);

}  // namespace petrel::net
