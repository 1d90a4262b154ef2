// ConnectionRegistry: the open client connections of one worker, listed for
// `stats conns` from another thread. A connection adds its record when it is
// made and removes it when destroyed, both under the registry's mutex (never
// on the request path); while serving it only stores, relaxed, when it last
// took a command and what state its input is in. The reader holds the mutex,
// so a record it visits cannot be destroyed meanwhile.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace mcguard {

// memcached's connection states, as `stats conns` names them.
enum class ConnectionState : uint8_t {
  kNewCommand,  // no command yet
  kWaiting,     // between commands
  kRead,        // part of a command line has arrived
  kParseCommand,
  kReadValue,  // memcached's conn_nread: a value is arriving
  kSwallow,    // a refused value is being discarded
};
const char* connection_state_name(ConnectionState state);

struct ConnectionRecord {
  ConnectionRecord(int fd, const std::string* peer, int64_t now_ms)
      : fd(fd), peer(peer), last_command_ms(now_ms) {}
  ConnectionRecord(const ConnectionRecord&) = delete;
  ConnectionRecord& operator=(const ConnectionRecord&) = delete;

  void took_command(int64_t now_ms) { last_command_ms.store(now_ms, std::memory_order_relaxed); }
  void set_state(ConnectionState s) { state.store(s, std::memory_order_relaxed); }

  const int fd;
  std::atomic<ConnectionState> state{ConnectionState::kNewCommand};  // beside fd: no padding
  const std::string* const peer;         // "host:port", owned by the connection, never changed
  std::atomic<int64_t> last_command_ms;  // monotonic (CLOCK_MONOTONIC_COARSE) ms
  ConnectionRecord* prev = nullptr;      // the registry's list, under its mutex
  ConnectionRecord* next = nullptr;
};

class ConnectionRegistry {
 public:
  void add(ConnectionRecord* record);
  void remove(ConnectionRecord* record);
  // Calls `visit` for every record, oldest first, under the mutex.
  void for_each(const std::function<void(const ConnectionRecord&)>& visit) const;

 private:
  mutable std::mutex mutex_;
  ConnectionRecord* head_ = nullptr;
  ConnectionRecord* tail_ = nullptr;
};

}  // namespace mcguard
