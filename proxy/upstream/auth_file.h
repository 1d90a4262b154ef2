// Upstream credentials: the user and password mcguard presents to memcached's
// ASCII authentication (memcached -Y), read from a file in -Y's own format,
// one "user:password" line (only the first line counts). The file is refused
// unless only its owner may read it, as ssh refuses a private key.
// CredentialsBox hands the current credentials to every worker; SIGHUP
// replaces them, and connections opened after that use the new ones.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace mcguard {

struct UpstreamCredentials {
  std::string user;
  std::string password;
  // The request that authenticates a connection: a set of any key whose data
  // is "user password" (memcached answers STORED, or CLIENT_ERROR
  // authentication failure). Its exptime is -1: stored nowhere if the server
  // does not authenticate.
  std::string request;
};

// Reads `path`; nullopt with `error` (one line naming the file) when it cannot
// be read, may be read by group or others, is empty, or its first line has no
// ':' or an empty user.
std::optional<UpstreamCredentials> read_auth_file(const std::string& path, std::string* error);

// The credentials in force. Thread-safe: workers load() when they open a
// connection, the main thread publish()es at SIGHUP.
class CredentialsBox {
 public:
  std::shared_ptr<const UpstreamCredentials> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void publish(UpstreamCredentials credentials) {
    auto fresh = std::make_shared<const UpstreamCredentials>(std::move(credentials));
    std::lock_guard lock(mutex_);
    current_ = std::move(fresh);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const UpstreamCredentials> current_;  // null: no authentication
};

}  // namespace mcguard
