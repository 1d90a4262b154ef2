#include "proxy/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "proxy/tls/tls_stream.h"

namespace mcguard::tls {
namespace {

using ContextPointer = std::shared_ptr<SSL_CTX>;

// "what: OpenSSL's reason for the first error", and the thread's error queue emptied so the
// next session on this thread does not inherit it.
std::string openssl_failure(const std::string& what) {
  const unsigned long code = ERR_get_error();
  std::string text = what;
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof(reason));
    text += ": ";
    text += reason;
  }
  ERR_clear_error();
  return text;
}

bool fail(std::string* error, const std::string& text) {
  if (error != nullptr) *error = text;
  return false;
}

// What both sides share: TLS 1.2 or newer, no renegotiation, kernel offload requested (it engages
// only on socket BIOs), record buffers freed whenever a session is idle, and partial writes from
// buffers that may move between retries (write_plain resumes from the caller's iovecs).
ContextPointer new_context(const SSL_METHOD* method, const std::string& ciphers,
                           std::string* error) {
  ERR_clear_error();
  ContextPointer context(SSL_CTX_new(method), SSL_CTX_free);
  if (!context) {
    fail(error, openssl_failure("SSL_CTX_new"));
    return nullptr;
  }
  SSL_CTX* raw = context.get();
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_ENABLE_KTLS | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(raw, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (!ciphers.empty() && SSL_CTX_set_cipher_list(raw, ciphers.c_str()) != 1) {
    fail(error, openssl_failure("invalid TLS cipher list \"" + ciphers + "\""));
    return nullptr;
  }
  return context;
}

// Loads a certificate chain and its key, and checks that they belong together.
bool load_identity(SSL_CTX* context, const std::string& cert, const std::string& key,
                   std::string* error) {
  if (SSL_CTX_use_certificate_chain_file(context, cert.c_str()) != 1) {
    return fail(error, openssl_failure("cannot load TLS certificate " + cert));
  }
  if (SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_error()) == X509_R_KEY_VALUES_MISMATCH) {
      return fail(error, openssl_failure("TLS key " + key + " does not match certificate " + cert));
    }
    return fail(error, openssl_failure("cannot load TLS key " + key));
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return fail(error, openssl_failure("TLS key " + key + " does not match certificate " + cert));
  }
  return true;
}

// OpenSSL fills a certificate's extension cache lazily, on first use, and two handshakes that
// first verify against the same shared certificate at once race on it (ThreadSanitizer reports
// it; openssl/openssl#25202). Filling the caches here, before any worker shares the context,
// closes that window for every certificate loaded from our files.
void fill_certificate_caches(SSL_CTX* context) {
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(context));
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    if (X509* cert = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i))) {
      X509_check_purpose(cert, -1, 0);
    }
  }
  if (X509* own = SSL_CTX_get0_certificate(context)) X509_check_purpose(own, -1, 0);
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(context, &chain) == 1) {
    for (int i = 0; i < sk_X509_num(chain); ++i) X509_check_purpose(sk_X509_value(chain, i), -1, 0);
  }
}

ContextPointer build_server(const ServerOptions& options, std::string* error) {
  if (options.cert.empty() || options.key.empty()) {
    fail(error, "a TLS listener needs both a certificate and a key");
    return nullptr;
  }
  ContextPointer context = new_context(TLS_server_method(), options.ciphers, error);
  if (!context) return nullptr;
  SSL_CTX* raw = context.get();
  // Without an id context OpenSSL refuses to resume sessions once client verification is on.
  static constexpr unsigned char kSessionContext[] = "mcguard";
  SSL_CTX_set_session_id_context(raw, kSessionContext, sizeof(kSessionContext) - 1);
  if (!load_identity(raw, options.cert, options.key, error)) return nullptr;
  if (!options.ca.empty()) {
    if (SSL_CTX_load_verify_locations(raw, options.ca.c_str(), nullptr) != 1) {
      fail(error, openssl_failure("cannot load TLS CA " + options.ca));
      return nullptr;
    }
    // Tells clients which issuers are acceptable, so one with several certificates picks right.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.ca.c_str());
    if (names == nullptr) {
      fail(error, openssl_failure("no CA names in " + options.ca));
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(raw, names);
  } else if (options.verify_client != VerifyPeer::kNone) {
    fail(error, "verifying client certificates needs a CA file");
    return nullptr;
  }
  switch (options.verify_client) {
    case VerifyPeer::kNone:
      SSL_CTX_set_verify(raw, SSL_VERIFY_NONE, nullptr);
      break;
    case VerifyPeer::kOptional:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
      break;
    case VerifyPeer::kRequire:
      SSL_CTX_set_verify(raw, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  fill_certificate_caches(raw);
  ERR_clear_error();
  return context;
}

ContextPointer build_client(const ClientOptions& options, std::string* error) {
  if (options.cert.empty() != options.key.empty()) {
    fail(error, "a TLS client certificate needs both a certificate and a key");
    return nullptr;
  }
  ContextPointer context = new_context(TLS_client_method(), options.ciphers, error);
  if (!context) return nullptr;
  SSL_CTX* raw = context.get();
  // Upstream certificates are always verified: there is no fall-back to an unchecked session.
  SSL_CTX_set_verify(raw, SSL_VERIFY_PEER, nullptr);
  if (options.ca.empty()) {
    if (SSL_CTX_set_default_verify_paths(raw) != 1) {
      fail(error, openssl_failure("cannot load the system trust store"));
      return nullptr;
    }
  } else if (SSL_CTX_load_verify_locations(raw, options.ca.c_str(), nullptr) != 1) {
    fail(error, openssl_failure("cannot load TLS CA " + options.ca));
    return nullptr;
  }
  if (!options.cert.empty() && !load_identity(raw, options.cert, options.key, error)) {
    return nullptr;
  }
  // Sessions are kept by ClientContext under the caller's key, not in OpenSSL's own cache,
  // which is keyed by session id and cannot say which upstream a session belongs to.
  SSL_CTX_set_session_cache_mode(raw, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(raw, &TlsStream::on_new_session);
  fill_certificate_caches(raw);  // the system store's lazily loaded certificates excepted
  ERR_clear_error();
  return context;
}

}  // namespace

std::unique_ptr<ServerContext> ServerContext::create(const ServerOptions& options,
                                                     std::string* error) {
  ContextPointer context = build_server(options, error);
  if (!context) return nullptr;
  std::unique_ptr<ServerContext> server(new ServerContext(options));
  server->context_ = std::move(context);
  return server;
}

bool ServerContext::reload(std::string* error) {
  ContextPointer context = build_server(options_, error);
  if (!context) return false;
  std::lock_guard lock(mutex_);
  context_.swap(context);
  return true;  // the old context is freed here unless a session still holds it
}

std::shared_ptr<SSL_CTX> ServerContext::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

std::unique_ptr<ClientContext> ClientContext::create(const ClientOptions& options,
                                                     std::string* error) {
  ContextPointer context = build_client(options, error);
  if (!context) return nullptr;
  std::unique_ptr<ClientContext> client(new ClientContext(options));
  client->context_ = std::move(context);
  return client;
}

ClientContext::~ClientContext() {
  for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
}

bool ClientContext::reload(std::string* error) {
  ContextPointer context = build_client(options_, error);
  if (!context) return false;
  std::lock_guard lock(mutex_);
  context_.swap(context);
  // A resumed session skips certificate verification, so sessions made under the old trust
  // settings must not outlive them.
  for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
  sessions_.clear();
  return true;
}

std::shared_ptr<SSL_CTX> ClientContext::current() const {
  std::lock_guard lock(mutex_);
  return context_;
}

SSL_SESSION* ClientContext::take_session(std::string_view key) const {
  std::lock_guard lock(mutex_);
  const auto found = sessions_.find(std::string(key));
  if (found == sessions_.end()) return nullptr;
  if (SSL_SESSION_is_resumable(found->second) != 1) return nullptr;
  SSL_SESSION_up_ref(found->second);
  return found->second;
}

void ClientContext::store_session(std::string_view key, SSL_SESSION* session) {
  SSL_SESSION_up_ref(session);
  SSL_SESSION* old = nullptr;
  {
    std::lock_guard lock(mutex_);
    SSL_SESSION*& slot = sessions_[std::string(key)];
    old = slot;
    slot = session;
  }
  if (old != nullptr) SSL_SESSION_free(old);
}

void ClientContext::forget_session(std::string_view key) {
  SSL_SESSION* old = nullptr;
  {
    std::lock_guard lock(mutex_);
    const auto found = sessions_.find(std::string(key));
    if (found == sessions_.end()) return;
    old = found->second;
    sessions_.erase(found);
  }
  SSL_SESSION_free(old);
}

}  // namespace mcguard::tls
