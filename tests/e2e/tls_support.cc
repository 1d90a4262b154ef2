#include "tls_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mcguard::e2e {
namespace {

// ---- certificates ----

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "";
  if (unsigned long code = ERR_get_error(); code != 0)
    ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error("test certificates: " + what +
                           (reason[0] ? std::string(": ") + reason : ""));
}

Key make_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) fail("EC key generation");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) fail(std::string("extension ") + value);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// A certificate for `key`, signed by `issuer_key` (self-signed when `issuer` is null). `san`
// empty: a CA certificate; otherwise a leaf for servers and clients with that subjectAltName.
Cert make_certificate(const std::string& common_name, EVP_PKEY* key, X509* issuer,
                      EVP_PKEY* issuer_key, const std::string& san) {
  Cert cert(X509_new());
  if (!cert) fail("X509_new");
  X509_set_version(cert.get(), 2);  // v3
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;  // a positive serial number
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7 * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  X509_set_pubkey(cert.get(), key);
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (san.empty()) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
    add_extension(cert.get(), signer, NID_subject_alt_name, san.c_str());
    add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  }
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    fail("signing " + common_name);
  }
  return cert;
}

void write_certificate(const std::string& path, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) throw std::runtime_error("test certificates: cannot write " + path);
  const bool written = PEM_write_X509(file, cert) == 1;
  std::fclose(file);
  if (!written) fail("writing " + path);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  // Created 0600 from the start: mcguard refuses key files others can read.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  FILE* file = fd < 0 ? nullptr : ::fdopen(fd, "w");
  if (file == nullptr) throw std::runtime_error("test certificates: cannot write " + path);
  const bool written = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(file);
  if (!written) fail("writing " + path);
}

constexpr const char* kServerNames = "DNS:localhost,IP:127.0.0.1,IP:::1";

// ---- client ----

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int remaining(int64_t deadline_ms) {
  const int64_t left = deadline_ms - now_ms();
  return left <= 0 ? 0 : static_cast<int>(left);
}

std::string ssl_reason(SSL* ssl, int ssl_error) {
  const unsigned long code = ERR_get_error();
  std::string text;
  if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof reason);
    text = reason;
    if (ssl != nullptr && ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      text += std::string(" (") + X509_verify_cert_error_string(SSL_get_verify_result(ssl)) + ")";
    }
  } else if (ssl_error == SSL_ERROR_SYSCALL) {
    text = "connection closed without close_notify";
  } else if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    text = "close_notify";
  } else {
    text = "TLS error " + std::to_string(ssl_error);
  }
  ERR_clear_error();
  return text;
}

}  // namespace

TestCertificates::~TestCertificates() {
  std::error_code ignored;
  if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
}

std::unique_ptr<TestCertificates> make_test_certificates() {
  auto certs = std::make_unique<TestCertificates>();
  char pattern[] = "/tmp/mcguard-tls-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("test certificates: mkdtemp failed");
  certs->dir = pattern;
  const auto path = [&](const char* name) { return certs->dir + "/" + name; };

  Key ca_key = make_key();
  Cert ca = make_certificate("mcguard-test-ca", ca_key.get(), nullptr, nullptr, "");
  Key other_ca_key = make_key();
  Cert other_ca =
      make_certificate("mcguard-untrusted-ca", other_ca_key.get(), nullptr, nullptr, "");
  certs->ca_cert = path("ca.pem");
  write_certificate(certs->ca_cert, ca.get());
  certs->untrusted_ca_cert = path("untrusted-ca.pem");
  write_certificate(certs->untrusted_ca_cert, other_ca.get());

  // One leaf: a key and a certificate signed by `issuer`, written as <stem>.pem / <stem>-key.pem.
  const auto leaf = [&](const char* stem, const std::string& common_name, X509* issuer,
                        EVP_PKEY* issuer_key, const std::string& san, std::string* cert_path,
                        std::string* key_path) {
    Key key = make_key();
    Cert cert = make_certificate(common_name, key.get(), issuer, issuer_key, san);
    *cert_path = path((std::string(stem) + ".pem").c_str());
    *key_path = path((std::string(stem) + "-key.pem").c_str());
    write_certificate(*cert_path, cert.get());
    write_key(*key_path, key.get());
  };
  leaf("server", kServerCommonName, ca.get(), ca_key.get(), kServerNames, &certs->server_cert,
       &certs->server_key);
  leaf("server2", kServer2CommonName, ca.get(), ca_key.get(), kServerNames, &certs->server_cert2,
       &certs->server_key2);
  leaf("client", kClientCommonName, ca.get(), ca_key.get(), "DNS:mcguard-test-client",
       &certs->client_cert, &certs->client_key);
  leaf("untrusted-server", kServerCommonName, other_ca.get(), other_ca_key.get(), kServerNames,
       &certs->untrusted_server_cert, &certs->untrusted_server_key);
  leaf("wrong-name", "mcguard-wrong-name", ca.get(), ca_key.get(), "DNS:other.example",
       &certs->wrong_name_cert, &certs->wrong_name_key);
  return certs;
}

// ---- TlsTestClient ----

std::unique_ptr<TlsTestClient> TlsTestClient::connect(uint16_t port, const std::string& ca,
                                                      const std::string& cert,
                                                      const std::string& key, std::string* error,
                                                      int timeout_ms) {
  // OpenSSL writes to the socket with write(): a server that closed must give
  // this process an error, not SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  const int64_t deadline = now_ms() + timeout_ms;
  std::unique_ptr<TlsTestClient> client(new TlsTestClient());
  const auto refuse = [&](const std::string& why) -> std::unique_ptr<TlsTestClient> {
    if (error != nullptr) *error = why;
    return nullptr;
  };
  ERR_clear_error();
  client->context_ = SSL_CTX_new(TLS_client_method());
  if (client->context_ == nullptr) return refuse(ssl_reason(nullptr, 0));
  if (!ca.empty()) {
    SSL_CTX_set_verify(client->context_, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_load_verify_locations(client->context_, ca.c_str(), nullptr) != 1) {
      return refuse("cannot load CA " + ca + ": " + ssl_reason(nullptr, 0));
    }
  }
  if (!cert.empty() &&
      (SSL_CTX_use_certificate_chain_file(client->context_, cert.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(client->context_, key.c_str(), SSL_FILETYPE_PEM) != 1)) {
    return refuse("cannot load client certificate " + cert + ": " + ssl_reason(nullptr, 0));
  }

  client->fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (client->fd_ < 0) return refuse("socket failed");
  const int one = 1;
  ::setsockopt(client->fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(client->fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno != EINPROGRESS) return refuse("connect failed");
    pollfd p{client->fd_, POLLOUT, 0};
    int socket_error = 0;
    socklen_t length = sizeof socket_error;
    if (::poll(&p, 1, remaining(deadline)) != 1 ||
        ::getsockopt(client->fd_, SOL_SOCKET, SO_ERROR, &socket_error, &length) != 0 ||
        socket_error != 0) {
      return refuse("connect to port " + std::to_string(port) + " failed");
    }
  }

  client->ssl_ = SSL_new(client->context_);
  SSL_set_fd(client->ssl_, client->fd_);
  if (!ca.empty()) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(client->ssl_), "127.0.0.1");
  while (true) {
    ERR_clear_error();
    const int result = SSL_connect(client->ssl_);
    if (result == 1) break;
    const int ssl_error = SSL_get_error(client->ssl_, result);
    if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE) {
      return refuse("TLS handshake failed: " + ssl_reason(client->ssl_, ssl_error));
    }
    if (!client->wait_for(ssl_error, deadline)) return refuse("TLS handshake timed out");
  }
  return client;
}

TlsTestClient::~TlsTestClient() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (context_ != nullptr) SSL_CTX_free(context_);
  if (fd_ >= 0) ::close(fd_);
}

void TlsTestClient::close() {
  if (ssl_ != nullptr && !closed_) SSL_shutdown(ssl_);  // best effort: one close_notify
  ERR_clear_error();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

bool TlsTestClient::wait_for(int ssl_error, int64_t deadline_ms) {
  pollfd p{fd_, static_cast<short>(ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
  while (true) {
    const int ready = ::poll(&p, 1, remaining(deadline_ms));
    if (ready < 0 && errno == EINTR) continue;
    return ready == 1;
  }
}

bool TlsTestClient::receive_more(int64_t deadline_ms) {
  char buffer[64 * 1024];
  while (!closed_) {
    ERR_clear_error();
    size_t got = 0;
    const int result = SSL_read_ex(ssl_, buffer, sizeof buffer, &got);
    if (result == 1) {
      pending_.append(buffer, got);
      return true;
    }
    const int ssl_error = SSL_get_error(ssl_, result);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
      if (!wait_for(ssl_error, deadline_ms)) {
        timed_out_ = true;
        return false;
      }
      continue;
    }
    last_error_ = ssl_reason(ssl_, ssl_error);
    closed_ = true;
  }
  return false;
}

bool TlsTestClient::send_all(std::string_view bytes, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  while (!bytes.empty() && !closed_) {
    ERR_clear_error();
    size_t written = 0;
    const int result = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &written);
    if (result == 1) {
      bytes.remove_prefix(written);
      continue;
    }
    const int ssl_error = SSL_get_error(ssl_, result);
    if (ssl_error != SSL_ERROR_WANT_READ && ssl_error != SSL_ERROR_WANT_WRITE) {
      last_error_ = ssl_reason(ssl_, ssl_error);
      closed_ = true;
      return false;
    }
    // Blocked: take in whatever the server sent meanwhile, then retry the same write.
    pollfd p{fd_, static_cast<short>(POLLIN | (ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : 0)),
             0};
    if (::poll(&p, 1, remaining(deadline)) <= 0) {
      timed_out_ = true;
      return false;
    }
    if ((p.revents & POLLIN) != 0 && ssl_error == SSL_ERROR_WANT_WRITE) {
      char buffer[64 * 1024];
      size_t got = 0;
      ERR_clear_error();
      if (SSL_read_ex(ssl_, buffer, sizeof buffer, &got) == 1) pending_.append(buffer, got);
      ERR_clear_error();
    }
  }
  return bytes.empty();
}

std::string TlsTestClient::read_until(std::string_view terminator, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  timed_out_ = false;
  while (true) {
    if (const size_t at = pending_.find(terminator); at != std::string::npos) {
      std::string result = pending_.substr(0, at + terminator.size());
      pending_.erase(0, at + terminator.size());
      return result;
    }
    if (!receive_more(deadline)) return std::exchange(pending_, {});
  }
}

std::string TlsTestClient::read_exactly(size_t n, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  timed_out_ = false;
  while (pending_.size() < n) {
    if (!receive_more(deadline)) return std::exchange(pending_, {});
  }
  std::string result = pending_.substr(0, n);
  pending_.erase(0, n);
  return result;
}

bool TlsTestClient::wait_for_close(int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  timed_out_ = false;
  while (receive_more(deadline)) {
  }
  return closed_;
}

std::string TlsTestClient::peer_subject() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr) return {};
  char line[512];
  X509_NAME_oneline(X509_get_subject_name(cert), line, sizeof line);
  return line;
}

bool TlsTestClient::session_reused() const { return SSL_session_reused(ssl_) == 1; }

}  // namespace mcguard::e2e
