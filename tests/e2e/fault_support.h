// Support for the fault-injection, hostile-client and isolation suites.
// ScriptedUpstream is a tiny memcached (get, set, delete, mn) on a loopback port
// that misbehaves on purpose whenever a get asks for a key starting with
// kFaultKeyPrefix: it stalls or closes in the middle of that key's value,
// sends it a byte at a time or the reply late, sends replies nobody asked for,
// announces the value shorter than it sends, or resets the connection. Other keys are served
// correctly, so the suite can tell a fault's victims from bystanders.
// mcguard_stat reads one counter of mcguard's `stats`.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "harness.h"

namespace mcguard::e2e {

inline constexpr std::string_view kFaultKeyPrefix = "fault";
// Bytes a reply nobody asked for carries; no client may ever receive them.
inline constexpr std::string_view kGhostMarker = "GHOST-REPLY";

class ScriptedUpstream {
 public:
  enum class Fault {
    kStallMidReply,     // half the reply, then silence with the connection open
    kCloseMidReply,     // half the reply, then close
    kSlowBytes,         // the right reply, one byte per millisecond
    kDelayed,           // the right reply, 300 ms late (a slow network)
    kUnsolicitedAfter,  // the right reply, then a VALUE/END nobody asked for
    kUnsolicitedFirst,  // a VALUE for another key, then the right reply
    kValueTooLong,      // a VALUE line announcing fewer bytes than follow
    kReset,             // no reply: the connection is reset (RST)
  };
  static const char* fault_name(Fault fault);

  // Listens on a free loopback port; nullptr and `error` when it cannot.
  static std::unique_ptr<ScriptedUpstream> start(Fault fault, std::string* error);
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;
  ~ScriptedUpstream();

  uint16_t port() const { return port_; }
  // Faults carried out so far (one per triggering get).
  int faults_injected() const { return faults_.load(); }
  int connections_accepted() const { return accepted_.load(); }

 private:
  ScriptedUpstream(Fault fault, int listen_fd, uint16_t port);
  void accept_loop();
  void serve(int fd);
  // Answers one get; false when the connection is finished (closed or reset).
  bool answer_get(int fd, const std::vector<std::string>& keys);
  // The reply to a get of `keys`, and where in it the first fault key's VALUE
  // block lies ([fault_begin, fault_end); empty at its place when it missed).
  // A fault strikes that block, as a slow or broken value would: mcguard may
  // put other clients' keys on the same line, and their values around it are
  // served as memcached would serve them.
  std::string value_reply(const std::vector<std::string>& keys, size_t* fault_begin,
                          size_t* fault_end);

  Fault fault_;
  int listen_fd_;
  uint16_t port_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> faults_{0};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;  // guards store_, fds_, threads_
  std::map<std::string, std::string, std::less<>> store_;
  std::vector<int> fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// The value of `name` in mcguard's `stats` asked on `admin`; -1 when missing.
long long mcguard_stat(Client& admin, std::string_view name);

}  // namespace mcguard::e2e
