#include "fault_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

namespace mcguard::e2e {
namespace {

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

std::vector<std::string> words_of(std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

}  // namespace

const char* ScriptedUpstream::fault_name(Fault fault) {
  switch (fault) {
    case Fault::kStallMidReply:
      return "StallMidReply";
    case Fault::kCloseMidReply:
      return "CloseMidReply";
    case Fault::kSlowBytes:
      return "SlowBytes";
    case Fault::kDelayed:
      return "Delayed";
    case Fault::kUnsolicitedAfter:
      return "UnsolicitedAfter";
    case Fault::kUnsolicitedFirst:
      return "UnsolicitedFirst";
    case Fault::kValueTooLong:
      return "ValueTooLong";
    case Fault::kReset:
      return "Reset";
  }
  return "?";
}

std::unique_ptr<ScriptedUpstream> ScriptedUpstream::start(Fault fault, std::string* error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return nullptr;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *error = std::string("listening: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  std::unique_ptr<ScriptedUpstream> upstream(new ScriptedUpstream(fault, fd, ntohs(addr.sin_port)));
  upstream->acceptor_ = std::thread([raw = upstream.get()] { raw->accept_loop(); });
  return upstream;
}

ScriptedUpstream::ScriptedUpstream(Fault fault, int listen_fd, uint16_t port)
    : fault_(fault), listen_fd_(listen_fd), port_(port) {}

ScriptedUpstream::~ScriptedUpstream() {
  stopping_ = true;
  // shutdown() wakes the blocked accept() and recv() calls.
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  ::close(listen_fd_);
}

void ScriptedUpstream::accept_loop() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;
    }
    ++accepted_;
    std::lock_guard lock(mutex_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void ScriptedUpstream::serve(int fd) {
  std::string in;
  char buf[16384];
  bool open = true;
  while (open && !stopping_) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      break;
    }
    in.append(buf, static_cast<size_t>(n));
    while (open) {
      const size_t eol = in.find("\r\n");
      if (eol == std::string::npos) break;
      const std::vector<std::string> words = words_of(std::string_view(in).substr(0, eol));
      size_t used = eol + 2;
      if (!words.empty() && words[0] == "set" && words.size() >= 5) {
        const size_t length = std::stoul(words[4]);
        if (in.size() < used + length + 2) break;  // the data block is not all here yet
        {
          std::lock_guard lock(mutex_);
          store_[words[1]] = in.substr(used, length);
        }
        used += length + 2;
        if (words.back() != "noreply") send_all(fd, "STORED\r\n");
      } else if (!words.empty() && (words[0] == "get" || words[0] == "gets")) {
        open = answer_get(fd, std::vector<std::string>(words.begin() + 1, words.end()));
      } else if (!words.empty() && words[0] == "delete" && words.size() >= 2) {
        size_t erased;
        {
          std::lock_guard lock(mutex_);
          erased = store_.erase(words[1]);
        }
        if (words.back() != "noreply") send_all(fd, erased ? "DELETED\r\n" : "NOT_FOUND\r\n");
      } else if (!words.empty() && words[0] == "mn") {
        send_all(fd, "MN\r\n");
      } else {
        send_all(fd, "ERROR\r\n");
      }
      in.erase(0, used);
    }
  }
  std::lock_guard lock(mutex_);
  std::erase(fds_, fd);
  ::close(fd);
}

std::string ScriptedUpstream::value_reply(const std::vector<std::string>& keys, size_t* fault_begin,
                                          size_t* fault_end) {
  std::string out;
  *fault_begin = *fault_end = std::string::npos;
  std::lock_guard lock(mutex_);
  for (const auto& key : keys) {
    const bool fault = *fault_begin == std::string::npos && key.starts_with(kFaultKeyPrefix);
    if (fault) *fault_begin = out.size();
    const auto it = store_.find(key);
    if (it != store_.end()) {
      out +=
          "VALUE " + key + " 0 " + std::to_string(it->second.size()) + "\r\n" + it->second + "\r\n";
    }
    if (fault) *fault_end = out.size();
  }
  return out + "END\r\n";
}

bool ScriptedUpstream::answer_get(int fd, const std::vector<std::string>& keys) {
  size_t begin = 0;
  size_t end = 0;
  const std::string reply = value_reply(keys, &begin, &end);
  if (begin == std::string::npos) {
    send_all(fd, reply);
    return true;
  }
  ++faults_;
  const std::string ghost = "VALUE ghost 0 " + std::to_string(kGhostMarker.size()) + "\r\n" +
                            std::string(kGhostMarker) + "\r\nEND\r\n";
  switch (fault_) {
    case Fault::kStallMidReply:
      send_all(fd, reply.substr(0, begin + (end - begin) / 2));
      // Silence from now on: requests keep arriving and are read, never answered.
      // (Answering them would put their replies where the rest of this value
      // belongs: a stream no one can tell from a valid reply.)
      for (char sink[4096]; !stopping_ && ::recv(fd, sink, sizeof sink, 0) > 0;) {
      }
      return false;
    case Fault::kCloseMidReply:
      send_all(fd, reply.substr(0, begin + (end - begin) / 2));
      return false;
    case Fault::kSlowBytes:
      send_all(fd, reply.substr(0, begin));
      for (char c : reply.substr(begin, end - begin)) {
        send_all(fd, std::string_view(&c, 1));
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the fault: a trickle
      }
      send_all(fd, reply.substr(end));
      return true;
    case Fault::kDelayed:
      std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the fault: a late reply
      send_all(fd, reply);
      return true;
    case Fault::kUnsolicitedAfter:
      send_all(fd, reply);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // lands between requests
      send_all(fd, ghost);
      return true;
    case Fault::kUnsolicitedFirst:
      send_all(fd, ghost.substr(0, ghost.size() - 5) + reply);
      return true;
    case Fault::kValueTooLong: {
      if (end > begin) {
        // "VALUE k 0 N": announce N, send N + 7 bytes.
        const size_t eol = reply.find("\r\n", begin) + 2;
        send_all(fd, reply.substr(0, eol) + std::string(kGhostMarker) + reply.substr(eol));
      } else {
        const auto fault_key = std::find_if(keys.begin(), keys.end(), [](const std::string& k) {
          return k.starts_with(kFaultKeyPrefix);
        });
        send_all(fd, reply.substr(0, begin) + "VALUE " + *fault_key + " 0 1\r\n" +
                         std::string(kGhostMarker) + "\r\nEND\r\n");
      }
      return true;
    }
    case Fault::kReset: {
      linger reset{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      return false;
    }
  }
  return true;
}

long long mcguard_stat(Client& admin, std::string_view name) {
  if (!admin.send("stats\r\n", milliseconds(3000))) return -1;
  ReadResult r = admin.read_until(
      [](std::string_view got) {
        if (got.starts_with("END\r\n")) return size_t{5};
        const size_t end = got.find("\r\nEND\r\n");
        return end == std::string_view::npos ? size_t{0} : end + 7;
      },
      milliseconds(3000));
  const std::string wanted = "STAT " + std::string(name) + " ";
  const size_t at = r.bytes.find(wanted);
  if (at == std::string::npos) return -1;
  return std::atoll(r.bytes.c_str() + at + wanted.size());
}

}  // namespace mcguard::e2e
