// Helpers for the operations tests (ops_*_test.cc): an mcguard with its admin
// listener on a free port, plain HTTP requests to it, `stats` as a map, and
// deadline-bound polling.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "harness.h"

namespace mcguard::e2e {

struct HttpReply {
  int status = 0;  // 0: no well-formed reply
  std::string head;
  std::string body;
};

// Sends `request` as is to 127.0.0.1:`port` and reads until the server closes.
HttpReply http_exchange(uint16_t port, std::string_view request,
                        milliseconds timeout = milliseconds(5000));
HttpReply http_get(uint16_t port, std::string_view path, milliseconds timeout = milliseconds(5000));

// Starts mcguard with `options` and its admin listener on a free port
// (returned in *admin_port). Retries on another port if that one was taken.
std::unique_ptr<ServerProcess> start_with_admin(McguardOptions options, uint16_t* admin_port,
                                                std::string* error);

// `stats` (or `stats settings`) on `client`: name -> value.
std::map<std::string, std::string> stats_of(Client& client, std::string_view args = "");
long long stat_number(Client& client, const std::string& name, std::string_view args = "");

// A file holding `text` under /tmp, removed when the object goes.
class TempFile {
 public:
  explicit TempFile(std::string_view text);
  ~TempFile();
  void rewrite(std::string_view text);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Polls `condition` until it holds or `timeout` passes.
template <typename F>
bool poll_until(F&& condition, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));  // poll interval of a deadline-bound wait
  }
}

// One storage command and its reply line (e.g. "STORED\r\n").
std::string set_value(Client& client, std::string_view key, size_t size,
                      milliseconds timeout = milliseconds(10000));

// Whether Debian's prometheus package put promtool where these tests look.
bool have_promtool();
// `promtool check metrics` (format and naming conventions) passes on `page`.
void expect_promtool_accepts(const std::string& page);

}  // namespace mcguard::e2e
