// TLS helpers for the end-to-end (and unit) tests: a throwaway CA with server and client
// certificates written to a fresh temporary directory, and a blocking TLS client with deadlines
// in the style of the harness's plain Client. Nothing here needs the mcguard binary; the
// certificates are made with the OpenSSL API (EC P-256 keys), never with the openssl CLI.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mcguard::e2e {

// A throwaway CA and certificates in a fresh temporary directory (removed by the destructor).
// Every field is a file path.
struct TestCertificates {
  std::string dir;
  std::string ca_cert;                    // PEM, CN=mcguard-test-ca
  std::string server_cert, server_key;    // by the CA; SAN DNS:localhost, IP:127.0.0.1, IP:::1
  std::string server_cert2, server_key2;  // another server certificate by the CA, CN differs
  std::string client_cert, client_key;    // by the CA, CN=mcguard-test-client
  std::string untrusted_ca_cert;          // another CA, trusted by nobody
  std::string untrusted_server_cert, untrusted_server_key;  // by the untrusted CA; same SANs
  // A server certificate by the CA whose only SAN is DNS:other.example (name mismatch tests).
  std::string wrong_name_cert, wrong_name_key;
  ~TestCertificates();
};

// Keys are written mode 0600. Throws std::runtime_error on failure.
std::unique_ptr<TestCertificates> make_test_certificates();

// The common names the certificates carry (peer_subject() contains "CN=<name>").
inline constexpr const char* kServerCommonName = "mcguard-test-server";
inline constexpr const char* kServer2CommonName = "mcguard-test-server-2";
inline constexpr const char* kClientCommonName = "mcguard-test-client";

// A blocking TLS client for one connection to 127.0.0.1:port. No call blocks past the deadline
// it is given. Verification, when a CA is given, checks the certificate's IP SAN 127.0.0.1.
// Note TLS 1.3: the server judges a client certificate after the client's handshake is done,
// so a refused client connects and then sees its first read report closed().
class TlsTestClient {
 public:
  // `ca` empty: no verification. `cert`/`key`: a client certificate to show. Null with
  // *error set when the TCP connect or the handshake fails within `timeout_ms`.
  static std::unique_ptr<TlsTestClient> connect(uint16_t port, const std::string& ca,
                                                const std::string& cert = "",
                                                const std::string& key = "",
                                                std::string* error = nullptr,
                                                int timeout_ms = 5000);
  ~TlsTestClient();
  TlsTestClient(const TlsTestClient&) = delete;
  TlsTestClient& operator=(const TlsTestClient&) = delete;

  // Writes every byte (reading whatever arrives meanwhile, so a server that answers while the
  // request is still going out cannot deadlock us). False on error, close or deadline.
  bool send_all(std::string_view bytes, int timeout_ms = 10000);
  // Everything up to and including `terminator`; on close or deadline, everything received
  // (check closed() / timed_out()). Bytes past the terminator stay for the next read.
  std::string read_until(std::string_view terminator, int timeout_ms = 5000);
  std::string read_exactly(size_t n, int timeout_ms = 5000);
  // True when the peer ends the session (close_notify, EOF or a fatal alert) within the time.
  bool wait_for_close(int timeout_ms = 5000);

  // Subject of the server's certificate, one line ("/CN=mcguard-test-server").
  std::string peer_subject() const;
  bool session_reused() const;
  bool closed() const { return closed_; }
  bool timed_out() const { return timed_out_; }
  // OpenSSL's reason for the last failure (handshake, read or write), if any.
  const std::string& last_error() const { return last_error_; }
  int fd() const { return fd_; }
  // Sends close_notify and closes the socket.
  void close();

 private:
  TlsTestClient() = default;
  // One attempt to read more into pending_: false on close or deadline (flags set).
  bool receive_more(int64_t deadline_ms);
  // Waits for the socket direction OpenSSL asked for; false past the deadline.
  bool wait_for(int ssl_error, int64_t deadline_ms);

  int fd_ = -1;
  SSL_CTX* context_ = nullptr;
  SSL* ssl_ = nullptr;
  std::string pending_;
  bool closed_ = false;
  bool timed_out_ = false;
  std::string last_error_;
};

}  // namespace mcguard::e2e
