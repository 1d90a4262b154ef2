// AdminServer: the HTTP listener for /metrics, /healthz and /readyz. It runs on
// one small thread of its own with its own epoll, so nothing it does (slow or
// hostile clients, a flood of bad requests) can stall a worker; it reads the
// workers' counters and nothing else. Each connection gets one response and is
// closed. Requests are bounded (kMaxRequestBytes), connections are bounded
// (kMaxClients: more are accepted and closed at once) and a client that does
// not finish its request or read its response within kClientTimeoutMs is
// dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/admin/http_request.h"

namespace mcguard::admin {

class AdminServer {
 public:
  static constexpr size_t kMaxRequestBytes = 4096;
  static constexpr size_t kMaxClients = 64;
  static constexpr int64_t kClientTimeoutMs = 5000;

  // Answers one request (method and path as sent); runs on the admin thread.
  using Handler = std::function<HttpResponse(std::string_view method, std::string_view path)>;
  // Runs on the admin thread about every `tick_ms` (e.g. upstream probes).
  using Tick = std::function<void(int64_t now_ms)>;

  // Binds and listens now (throws std::system_error); port 0 takes a free port.
  AdminServer(const std::string& host, uint16_t port, Handler handler, Tick tick = nullptr,
              int64_t tick_ms = 250);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  uint16_t port() const { return port_; }
  void start();
  void stop();  // from any thread; joins the admin thread

 private:
  struct Client {
    int fd = -1;
    std::string received;
    std::string response;  // once non-empty: being sent
    size_t sent = 0;
    int64_t deadline_ms = 0;
  };

  void run();
  void accept_all(int64_t now_ms);
  void on_readable(Client& client);
  void on_writable(Client& client);
  void respond(Client& client, const HttpResponse& response, bool head_only);
  void close_client(Client& client);
  void close_expired(int64_t now_ms);

  Handler handler_;
  Tick tick_;
  int64_t tick_ms_;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<Client> clients_;  // kMaxClients slots; fd -1 when free
  std::thread thread_;
};

}  // namespace mcguard::admin
