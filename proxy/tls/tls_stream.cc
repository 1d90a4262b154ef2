#include "proxy/tls/tls_stream.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>

#include "proxy/tls/tls_bio.h"

namespace mcguard::tls {
namespace {

// The SSL ex_data slot that leads OpenSSL's callbacks back to the stream.
int stream_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

bool is_ip_literal(const std::string& host) {
  unsigned char address[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), address) == 1;
}

// "[::1]" as written in HOST:PORT forms is "::1" to the certificate check.
std::string bare_host(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::string(host);
}

}  // namespace

TlsStream::TlsStream(BufferPool& pool, std::shared_ptr<SSL_CTX> context)
    : pool_(pool), context_(std::move(context)) {}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) {
    // OpenSSL marks the session of a connection freed without close_notify as not resumable.
    // Upstream connections mostly end that way (a restart, an idle close), and a reconnect
    // should still resume, so a session that never failed is declared cleanly ended.
    if (status_ != Status::kFailed && handshake_done_) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN);
    SSL_free(ssl_);  // frees the BIO too; it touches no buffer on the way
  }
  if (in_buffer_ != BufferPool::kNoBuffer) pool_.release(in_buffer_);
  if (out_buffer_ != BufferPool::kNoBuffer) pool_.release(out_buffer_);
}

bool TlsStream::init(std::string* error) {
  ERR_clear_error();
  ssl_ = SSL_new(context_.get());
  BIO* bio = ssl_ == nullptr ? nullptr : make_stream_bio(this);
  if (bio == nullptr) {
    *error = "cannot allocate a TLS session";
    ERR_clear_error();
    return false;
  }
  SSL_set_bio(ssl_, bio, bio);  // one reference serves as both ends
  SSL_set_ex_data(ssl_, stream_index(), this);
  return true;
}

std::unique_ptr<TlsStream> TlsStream::accept(BufferPool& pool, std::shared_ptr<SSL_CTX> context) {
  std::unique_ptr<TlsStream> stream(new TlsStream(pool, std::move(context)));
  std::string error;
  if (!stream->context_ || !stream->init(&error)) return nullptr;
  SSL_set_accept_state(stream->ssl_);
  return stream;
}

std::unique_ptr<TlsStream> TlsStream::connect(BufferPool& pool, ClientContext& context,
                                              std::string_view host, std::string_view session_key) {
  std::unique_ptr<TlsStream> stream(new TlsStream(pool, context.current()));
  std::string error;
  if (!stream->context_ || !stream->init(&error)) return nullptr;
  stream->client_ = &context;
  stream->session_key_ = std::string(session_key);
  SSL* ssl = stream->ssl_;

  // The name the certificate must carry: the configured override, else the upstream's host.
  const std::string& configured = context.options().server_name;
  const std::string expected = configured.empty() ? bare_host(host) : configured;
  bool named = false;
  if (is_ip_literal(expected)) {
    named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), expected.c_str()) == 1;
  } else {
    // SNI carries DNS names only (RFC 6066), never addresses.
    named = SSL_set1_host(ssl, expected.c_str()) == 1 &&
            SSL_set_tlsext_host_name(ssl, expected.c_str()) == 1;
  }
  if (!named) {
    // An empty or malformed name must not become "verify nothing": refuse the stream.
    ERR_clear_error();
    return nullptr;
  }
  if (SSL_SESSION* session = context.take_session(session_key)) {
    SSL_set_session(ssl, session);
    SSL_SESSION_free(session);
  }
  SSL_set_connect_state(ssl);
  stream->drive_handshake();  // queues the ClientHello now when a buffer is free
  return stream;
}

int TlsStream::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* stream = static_cast<TlsStream*>(SSL_get_ex_data(ssl, stream_index()));
  if (stream != nullptr && stream->client_ != nullptr && !stream->session_key_.empty()) {
    stream->client_->store_session(stream->session_key_, session);
  }
  return 0;  // OpenSSL keeps (and drops) its own reference; the cache took one of its own
}

bool TlsStream::session_reused() const { return SSL_session_reused(ssl_) == 1; }

std::string TlsStream::peer_subject() const {
  X509* certificate = SSL_get0_peer_certificate(ssl_);
  if (certificate == nullptr) return {};
  char line[512];
  X509_NAME_oneline(X509_get_subject_name(certificate), line, sizeof(line));
  return line;
}

std::string TlsStream::requested_server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string() : std::string(name);
}

void TlsStream::send_close_notify() {
  if (status_ != Status::kOpen || !handshake_done_) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // 0: sent, the peer's reply is not awaited; a full buffer retries nothing
  ERR_clear_error();
}

// --- wire side, receiving ---

std::span<char> TlsStream::wire_receive_space() {
  if (in_buffer_ == BufferPool::kNoBuffer) {
    in_buffer_ = pool_.acquire();
    if (in_buffer_ == BufferPool::kNoBuffer) return {};
    in_begin_ = in_end_ = 0;
  }
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
  } else if (in_end_ == pool_.buffer_size() && in_begin_ > 0) {
    // Received bytes are ours alone (nothing outside points at them), so they may move.
    std::memmove(pool_.data(in_buffer_), pool_.data(in_buffer_) + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  return {pool_.data(in_buffer_) + in_end_, pool_.buffer_size() - in_end_};
}

void TlsStream::wire_received(size_t n) {
  in_end_ += static_cast<uint32_t>(n);
  release_empty_buffers();  // a receive that brought nothing must not leave a buffer held
}

size_t TlsStream::put_wire(const char* bytes, size_t n) {
  size_t taken = 0;
  while (taken < n) {
    const std::span<char> space = wire_receive_space();
    if (space.empty()) break;
    const size_t step = std::min(space.size(), n - taken);
    std::memcpy(space.data(), bytes + taken, step);
    wire_received(step);
    taken += step;
  }
  release_empty_buffers();
  return taken;
}

int TlsStream::bio_read(char* out, int n) {
  if (in_buffer_ == BufferPool::kNoBuffer || in_begin_ == in_end_) return 0;
  const uint32_t step = std::min<uint32_t>(static_cast<uint32_t>(n), in_end_ - in_begin_);
  std::memcpy(out, pool_.data(in_buffer_) + in_begin_, step);
  in_begin_ += step;
  release_empty_buffers();
  return static_cast<int>(step);
}

// --- wire side, sending ---

bool TlsStream::has_wire_output() const { return out_sent_ < out_end_; }

size_t TlsStream::wire_output(iovec* out, size_t max_iov) {
  if (max_iov == 0 || out_sent_ == out_end_) return 0;
  out[0].iov_base = pool_.data(out_buffer_) + out_sent_;
  out[0].iov_len = out_end_ - out_sent_;
  return 1;
}

void TlsStream::wire_sent(size_t n) {
  out_sent_ += static_cast<uint32_t>(std::min<size_t>(n, out_end_ - out_sent_));
  release_empty_buffers();
}

int TlsStream::bio_write(const char* in, int n) {
  if (out_buffer_ == BufferPool::kNoBuffer) {
    out_buffer_ = pool_.acquire();
    if (out_buffer_ == BufferPool::kNoBuffer) return 0;
    out_sent_ = out_end_ = 0;
  }
  // Append only: bytes already handed out by wire_output may be in flight and must not move.
  const uint32_t room = pool_.buffer_size() - out_end_;
  const uint32_t step = std::min<uint32_t>(room, static_cast<uint32_t>(n));
  if (step == 0) return 0;
  std::memcpy(pool_.data(out_buffer_) + out_end_, in, step);
  out_end_ += step;
  return static_cast<int>(step);
}

void TlsStream::release_empty_buffers() {
  if (in_buffer_ != BufferPool::kNoBuffer && in_begin_ == in_end_) {
    pool_.release(in_buffer_);
    in_buffer_ = BufferPool::kNoBuffer;
    in_begin_ = in_end_ = 0;
  }
  if (out_buffer_ != BufferPool::kNoBuffer && out_sent_ == out_end_) {
    pool_.release(out_buffer_);
    out_buffer_ = BufferPool::kNoBuffer;
    out_sent_ = out_end_ = 0;
  }
}

// --- plain side ---

bool TlsStream::drive_handshake() {
  if (handshake_done_) return true;
  if (status_ != Status::kOpen) return false;
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_);
  if (result == 1) {
    handshake_done_ = true;
    return true;
  }
  const int error = SSL_get_error(ssl_, result);
  if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) fail_from_ssl(error);
  return false;
}

void TlsStream::fail_from_ssl(int ssl_error) {
  status_ = Status::kFailed;
  const unsigned long code = ERR_peek_error();
  const long verify = SSL_get_verify_result(ssl_);
  if (ERR_GET_REASON(code) == SSL_R_CERTIFICATE_VERIFY_FAILED && verify != X509_V_OK) {
    failure_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
  } else if (code != 0) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof(reason));
    failure_ = reason;
  } else if (ssl_error == SSL_ERROR_SYSCALL) {
    failure_ = "TLS stream ended without close_notify";
  } else {
    failure_ = "TLS error " + std::to_string(ssl_error);
  }
  ERR_clear_error();  // the queue is per thread: the next session must start clean
  // Undecryptable input is worthless; any alert OpenSSL queued stays in the wire output.
  in_begin_ = in_end_;
  release_empty_buffers();
}

size_t TlsStream::read_plain(char* into, size_t capacity) {
  if (status_ != Status::kOpen) return 0;
  if (!drive_handshake()) {
    release_empty_buffers();
    return 0;
  }
  if (capacity == 0) return 0;
  ERR_clear_error();
  size_t got = 0;
  const int result = SSL_read_ex(ssl_, into, capacity, &got);
  if (result == 1) {
    release_empty_buffers();
    return got;
  }
  const int error = SSL_get_error(ssl_, result);
  switch (error) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
      break;
    case SSL_ERROR_ZERO_RETURN:
      status_ = Status::kClosed;
      break;
    default:
      fail_from_ssl(error);
      break;
  }
  release_empty_buffers();
  return 0;
}

bool TlsStream::has_plain_input() const {
  if (status_ != Status::kOpen) return false;
  return SSL_pending(ssl_) > 0 || in_begin_ < in_end_;
}

size_t TlsStream::write_plain(const iovec* iov, size_t count) {
  if (status_ != Status::kOpen || !drive_handshake()) return 0;
  size_t taken = 0;
  for (size_t i = 0; i < count; ++i) {
    const char* base = static_cast<const char*>(iov[i].iov_base);
    size_t done = 0;
    while (done < iov[i].iov_len) {
      // Encrypts straight from the caller's memory; a record the wire output could take only in
      // part stays in OpenSSL, and the caller's retry from the same bytes completes it.
      ERR_clear_error();
      size_t written = 0;
      const int result = SSL_write_ex(ssl_, base + done, iov[i].iov_len - done, &written);
      if (result != 1) {
        const int error = SSL_get_error(ssl_, result);
        if (error != SSL_ERROR_WANT_WRITE && error != SSL_ERROR_WANT_READ) fail_from_ssl(error);
        return taken;
      }
      done += written;
      taken += written;
    }
  }
  return taken;
}

}  // namespace mcguard::tls
