// Transport: a byte-stream filter between a socket and a protocol state
// machine that keeps seeing plain bytes (TLS). Its wire side takes the bytes
// received from the socket and hands out the bytes to send; its plain side
// decrypts into buffers the caller names and takes plain bytes to send. It
// makes no system call, so either I/O engine can drive it. What it holds is
// bounded: when the wire side is full it takes no more until it is drained.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <span>
#include <string>

namespace mcguard {

class Transport {
 public:
  enum class Status {
    kOpen,    // handshaking or established
    kClosed,  // the peer ended the session cleanly (close_notify)
    kFailed,  // the peer's bytes were not a valid session, or it did not verify
  };

  virtual ~Transport() = default;

  // Wire side, receiving.
  // Where received bytes may land now, straight in (empty: full, stop reading
  // until read_plain has taken some).
  virtual std::span<char> wire_receive_space() = 0;
  // `n` bytes were written into the last wire_receive_space.
  virtual void wire_received(size_t n) = 0;
  // Copies received bytes in; returns how many were taken (short when full).
  virtual size_t put_wire(const char* bytes, size_t n) = 0;

  // Wire side, sending. The memory named stays valid and unchanged until
  // wire_sent reports it sent, whatever else the transport does meanwhile.
  virtual bool has_wire_output() const = 0;
  virtual size_t wire_output(iovec* out, size_t max_iov) = 0;
  virtual void wire_sent(size_t n) = 0;

  // Plain side.
  // Decrypts into `into`; returns the bytes given (0: none available now; see
  // status() for whether more can ever come). May queue wire output
  // (handshake messages).
  virtual size_t read_plain(char* into, size_t capacity) = 0;
  // True when read_plain would give bytes without more wire input.
  virtual bool has_plain_input() const = 0;
  // Encrypts from `iov` as far as the wire output has room; returns the plain
  // bytes taken, which the caller may then drop.
  virtual size_t write_plain(const iovec* iov, size_t count) = 0;

  virtual Status status() const = 0;
  virtual bool handshake_done() const = 0;
  // Why the status is kFailed, for the log.
  virtual const std::string& failure() const = 0;
};

}  // namespace mcguard
