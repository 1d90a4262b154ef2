// Connection's transport half: how bytes pass through a Transport (TLS) on
// their way between the socket and the protocol. Received bytes go into the
// transport's wire side and come out decrypted straight into the receive
// buffer or value chain; replies are encrypted from the reply queue's own
// buffers into the transport's output, which is what the loop sends. The
// transport holds at most a buffer each way, so a client that stops reading
// stops the decryption too (the protocol's backpressure reaches the socket).
#include <spdlog/spdlog.h>

#include "proxy/core/connection.h"

namespace mcguard {

void Connection::set_transport(std::unique_ptr<Transport> transport) {
  transport_ = std::move(transport);
}

void Connection::retry_pool_wait() {
  transport_input_stalled_ = transport_output_stalled_ = false;
  process();
  if (transport_) {
    pump_plain_input();
    check_transport();
  }
}

size_t Connection::wire_read_targets(iovec* out, size_t max_iov) {
  // Input the protocol could not take before may fit now: it goes first, so
  // the wire side has room again.
  pump_plain_input();
  check_transport();
  if (!wants_read() || transport_input_stalled_ || max_iov == 0) return 0;
  const std::span<char> space = transport_->wire_receive_space();
  if (space.empty()) return 0;
  out[0].iov_base = space.data();
  out[0].iov_len = space.size();
  return 1;
}

void Connection::on_wire_read(size_t n) {
  transport_->wire_received(n);
  pump_plain_input();
  check_transport();
}

size_t Connection::feed_wire(const char* bytes, size_t n) {
  size_t fed = 0;
  while (fed < n && wants_read() && !transport_input_stalled_) {
    const size_t taken = transport_->put_wire(bytes + fed, n - fed);
    fed += taken;
    pump_plain_input();
    if (taken == 0) break;
  }
  check_transport();
  return fed;
}

void Connection::pump_plain_input() {
  while (transport_->status() == Transport::Status::kOpen && !close_now_) {
    // Nothing to decrypt: no receive buffer is taken for it.
    if (!transport_->has_plain_input()) {
      transport_input_stalled_ = false;
      return;
    }
    iovec targets[1];
    if (plain_read_targets(targets, 1) == 0) {
      // No room in the protocol: a pool buffer was missing (the loop parks
      // the connection and retries), or it stopped reading for backpressure
      // (writing resumes it).
      transport_input_stalled_ = wants_read();
      if (!transport_->handshake_done()) transport_->read_plain(nullptr, 0);
      return;
    }
    const size_t n =
        transport_->read_plain(static_cast<char*>(targets[0].iov_base), targets[0].iov_len);
    if (n == 0) return;
    transport_input_stalled_ = false;
    plain_on_read(n);
  }
}

void Connection::check_transport() {
  switch (transport_->status()) {
    case Transport::Status::kOpen:
      if (!handshake_counted_ && transport_->handshake_done()) {
        handshake_counted_ = true;
        context_.stats.tls_handshakes.add();
      }
      return;
    case Transport::Status::kClosed:
      if (!peer_closed_) on_peer_closed();
      return;
    case Transport::Status::kFailed:
      if (!close_now_) {
        context_.stats.tls_failures.add();
        spdlog::debug("TLS session with {} failed: {}", peer_, transport_->failure());
        close_now_ = true;
      }
      return;
  }
}

size_t Connection::wire_write_iovecs(iovec* out, size_t max_iov) {
  encrypt_replies();
  return transport_->wire_output(out, max_iov);
}

void Connection::encrypt_replies() {
  transport_output_stalled_ = false;
  while (replies_.sendable() && transport_->handshake_done() && !close_now_) {
    iovec plain[64];
    const size_t count = replies_.gather(plain, 64);
    if (count == 0) return;
    const size_t taken = transport_->write_plain(plain, count);
    if (taken == 0) {
      // Output full: what is there goes first. Empty: no buffer could be had.
      transport_output_stalled_ = !transport_->has_wire_output();
      return;
    }
    // The reply bytes are encrypted: the queue lets them go (and parsing
    // resumes if the backlog held it), and input held back can come in.
    plain_on_written(taken);
    if (wants_read()) pump_plain_input();
  }
  check_transport();
}

void Connection::on_wire_written(size_t n) {
  transport_->wire_sent(n);
  last_active_ms_ = context_.now_ms;
}

}  // namespace mcguard
