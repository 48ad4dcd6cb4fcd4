// HTTP over a raw loopback socket, for tests that must send exactly the bytes they mean (odd
// methods, unnormalised paths, "OPTIONS *", a body dripped byte by byte) and see every header of
// the answer. One request per connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

namespace cir::testing {

struct RawReply {
  int status = 0;  // 0: no status line arrived
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string raw;
};

// A connected socket to 127.0.0.1:port, or -1.
inline int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Appends what `fd` has within `deadline`; false when the deadline passed or the peer closed.
inline bool ReadSome(int fd, std::chrono::steady_clock::time_point deadline, std::string& out) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buffer[16384];
  const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
  if (n <= 0) return false;
  out.append(buffer, static_cast<std::size_t>(n));
  return true;
}

// Reads until the peer closes or `timeout` passes.
inline std::string ReadAll(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!ReadSome(fd, deadline, out)) break;
  }
  return out;
}

// Reads one answer: until its headers and Content-Length bytes of body are in (or the peer
// closes, or `timeout` passes). Unlike ReadAll it does not wait for the close, so it times the
// answer, not how long the server then drains the rest of a request body.
inline std::string ReadReply(int fd, std::chrono::milliseconds timeout) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto end = out.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::string head = out.substr(0, end);
      std::transform(head.begin(), head.end(), head.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      const auto at = head.find("\r\ncontent-length:");
      if (at != std::string::npos &&
          out.size() >= end + 4 + std::strtoull(head.c_str() + at + 17, nullptr, 10)) {
        return out;
      }
    }
    if (!ReadSome(fd, deadline, out)) break;
  }
  return out;
}

inline RawReply ParseReply(const std::string& raw) {
  RawReply reply;
  reply.raw = raw;
  const auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return reply;
  reply.status = std::atoi(raw.c_str() + 9);
  std::size_t line = raw.find("\r\n") + 2;
  while (line < end) {
    const auto eol = raw.find("\r\n", line);
    const std::string header = raw.substr(line, eol - line);
    const auto colon = header.find(':');
    if (colon != std::string::npos) {
      std::string name = header.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string value = header.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      reply.headers[name] = value;
    }
    line = eol + 2;
  }
  reply.body = raw.substr(end + 4);
  return reply;
}

// Sends `request` as is and reads the whole answer.
inline RawReply Exchange(int port, const std::string& request,
                         std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return {};
  SendAll(fd, request);
  RawReply reply = ParseReply(ReadAll(fd, timeout));
  ::close(fd);
  return reply;
}

// "METHOD target HTTP/1.1" with a Host header and `extra` header lines ("Name: value\r\n").
inline std::string Request(const std::string& method, const std::string& target,
                           const std::string& extra = "", const std::string& body = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra;
  if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + body;
}

}  // namespace cir::testing
