// TLS contexts: the OpenSSL SSL_CTX objects a listener and the upstream side share. A
// ServerContext can be replaced at run time (SIGHUP): reload() builds a new SSL_CTX and swaps it
// in only when it loads completely, and sessions already running keep the old one alive through
// their shared_ptr. Nothing here logs: failures come back as readable strings.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mcguard::tls {

// Server side: whether clients must show a certificate.
enum class VerifyPeer { kNone, kOptional, kRequire };

struct ServerOptions {
  std::string cert;     // PEM chain file, leaf first
  std::string key;      // PEM private key file
  std::string ca;       // PEM CA file for client certificates (and the acceptable-CA list)
  std::string ciphers;  // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's default
  VerifyPeer verify_client = VerifyPeer::kNone;
};

struct ClientOptions {
  std::string ca;           // empty: the system trust store
  std::string cert, key;    // both or neither: a client certificate for mutual TLS
  std::string server_name;  // empty: each peer's own host
  std::string ciphers;
};

// A server context that SIGHUP can replace. Thread-safe: workers call current() at each accept.
class ServerContext {
 public:
  static std::unique_ptr<ServerContext> create(const ServerOptions& options, std::string* error);
  // Re-reads the files; on failure keeps the old context and says why.
  bool reload(std::string* error);
  std::shared_ptr<SSL_CTX> current() const;
  const ServerOptions& options() const { return options_; }

 private:
  explicit ServerContext(ServerOptions options) : options_(std::move(options)) {}

  const ServerOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<SSL_CTX> context_;
};

// The client context towards upstreams, with a session cache so reconnects resume. Thread-safe:
// every worker's upstream connections share one.
class ClientContext {
 public:
  static std::unique_ptr<ClientContext> create(const ClientOptions& options, std::string* error);
  ~ClientContext();
  // Client cert/key/ca re-read (SIGHUP); failure keeps the old.
  bool reload(std::string* error);
  std::shared_ptr<SSL_CTX> current() const;
  const ClientOptions& options() const { return options_; }

  // The session cache, keyed by the caller's choice (e.g. "host:port"). take_session returns a
  // new reference (SSL_SESSION_free it) or null; store_session takes its own reference.
  SSL_SESSION* take_session(std::string_view key) const;
  void store_session(std::string_view key, SSL_SESSION* session);
  void forget_session(std::string_view key);

 private:
  explicit ClientContext(ClientOptions options) : options_(std::move(options)) {}

  const ClientOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<SSL_CTX> context_;
  std::unordered_map<std::string, SSL_SESSION*> sessions_;
};

// True when the kernel offers TLS offload (TCP_ULP "tls" on a loopback TCP pair); `why` says why
// not. Kernel TLS needs a socket BIO, so TlsStream (memory BIOs) cannot use it even when true.
bool kernel_tls_available(std::string* why);

}  // namespace mcguard::tls
