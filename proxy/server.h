// Server: the running proxy. It opens the listening sockets, builds the
// embedded tier and the workers, and answers `stats` from all of them. The
// constructor does everything that can fail at start-up (and throws); run()
// serves until stop() is called.
#pragma once

#include <atomic>
#include <ctime>
#include <memory>
#include <string_view>
#include <vector>

#include "proxy/config.h"
#include "proxy/tier/embedded.h"
#include "proxy/worker.h"

namespace mcguard {

class Server {
 public:
  explicit Server(const Settings& settings);
  ~Server();

  void start();
  void stop();
  void join();

  // The `stats` reply (memcached's lines plus mcguard's own).
  void render_stats(std::string_view args, ReplyQueue& reply) const;

 private:
  Settings settings_;
  std::unique_ptr<EmbeddedTier> tier_;
  std::atomic<uint32_t> open_connections_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  time_t started_ = 0;
};

// Opens a listening TCP socket with SO_REUSEPORT. Throws std::system_error.
int open_listener(const std::string& host, uint16_t port);

}  // namespace mcguard
