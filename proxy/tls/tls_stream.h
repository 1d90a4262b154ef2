// TlsStream: one TLS session over memory, implementing mcguard::Transport. Ciphertext moves
// through pool buffers (one for the wire in, one for the wire out) taken only while bytes are
// there, so an idle session holds no pool buffer; plaintext is encrypted straight from the
// caller's iovecs. It makes no system call. Because its BIO is memory, not a socket, kernel TLS
// offload (SSL_OP_ENABLE_KTLS) can never engage on it: encryption stays in userspace.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "pool/buffer_pool.h"
#include "proxy/core/transport.h"
#include "proxy/tls/tls_context.h"

namespace mcguard::tls {

class TlsStream final : public Transport {
 public:
  // Server side of a connection accepted on a tls: listener. Null only when OpenSSL cannot
  // allocate a session.
  static std::unique_ptr<TlsStream> accept(BufferPool& pool, std::shared_ptr<SSL_CTX> context);
  // Client side towards an upstream `host` (an IP literal or a DNS name; verified against the
  // certificate's IP or DNS SAN, or against ClientOptions::server_name when set, which is also
  // the SNI; no SNI for IP literals). Resumes the session last cached under `session_key`
  // (e.g. "host:port") and caches new sessions (TLS 1.3 tickets arrive after the handshake).
  // `context` must outlive the stream. The ClientHello is queued at once when a pool buffer is
  // free (otherwise by the first read_plain).
  static std::unique_ptr<TlsStream> connect(BufferPool& pool, ClientContext& context,
                                            std::string_view host, std::string_view session_key);
  ~TlsStream() override;
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  bool session_reused() const;
  // Subject of the peer's certificate (one line), empty when none was shown.
  std::string peer_subject() const;
  // The server name the client asked for (SNI), empty when none (server side).
  std::string requested_server_name() const;
  // Queues a close_notify alert (our side ends the session cleanly); send wire_output after.
  void send_close_notify();

  // Transport
  std::span<char> wire_receive_space() override;
  void wire_received(size_t n) override;
  size_t put_wire(const char* bytes, size_t n) override;
  bool has_wire_output() const override;
  size_t wire_output(iovec* out, size_t max_iov) override;
  void wire_sent(size_t n) override;
  size_t read_plain(char* into, size_t capacity) override;
  bool has_plain_input() const override;
  size_t write_plain(const iovec* iov, size_t count) override;
  Status status() const override { return status_; }
  bool handshake_done() const override { return handshake_done_; }
  const std::string& failure() const override { return failure_; }

  // The custom BIO's side (called from its C callbacks).
  int bio_read(char* out, int n);
  int bio_write(const char* in, int n);
  // OpenSSL's new-session callback on client contexts: caches the session under the stream's key.
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

 private:
  TlsStream(BufferPool& pool, std::shared_ptr<SSL_CTX> context);
  bool init(std::string* error);
  bool drive_handshake();
  void fail_from_ssl(int ssl_error);
  void release_empty_buffers();

  BufferPool& pool_;
  std::shared_ptr<SSL_CTX> context_;  // keeps a replaced server context alive for this session
  SSL* ssl_ = nullptr;
  ClientContext* client_ = nullptr;  // client side: where new sessions are cached
  std::string session_key_;

  // Ciphertext received, not yet consumed by OpenSSL: [in_begin_, in_end_) of in_buffer_.
  uint32_t in_buffer_ = BufferPool::kNoBuffer;
  uint32_t in_begin_ = 0, in_end_ = 0;
  // Ciphertext to send: [out_sent_, out_end_) of out_buffer_; appended only after out_end_.
  uint32_t out_buffer_ = BufferPool::kNoBuffer;
  uint32_t out_sent_ = 0, out_end_ = 0;

  Status status_ = Status::kOpen;
  bool handshake_done_ = false;
  std::string failure_;
};

}  // namespace mcguard::tls
