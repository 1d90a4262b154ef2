// Fuzz target: the server side of a TLS session fed hostile bytes, as a tls: listener would be.
// Input: one schedule byte (see SplitSchedule), then the bytes a client sends. They go into a
// TlsStream through both wire entries (put_wire and wire_receive_space/wire_received, chosen
// by the schedule), read_plain runs after each piece, and the wire output is "sent" in pieces.
// Invariants: nothing crashes; the stream never holds more than its two pool buffers; once it
// has failed or closed it takes no plaintext; and every buffer is back after it is destroyed.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "fuzz_check.h"
#include "fuzz_split.h"
#include "pool/buffer_pool.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_stream.h"
#include "tls_support.h"

namespace mcguard::fuzz {
namespace {

constexpr uint32_t kBufferSize = 2048;

// One server context for the whole run: certificates are made once, not per input.
tls::ServerContext& server_context() {
  static const std::unique_ptr<e2e::TestCertificates> certs = e2e::make_test_certificates();
  static const std::unique_ptr<tls::ServerContext> context = [] {
    tls::ServerOptions options;
    options.cert = certs->server_cert;
    options.key = certs->server_key;
    options.ca = certs->ca_cert;
    options.verify_client = tls::VerifyPeer::kOptional;
    std::string error;
    auto created = tls::ServerContext::create(options, &error);
    FUZZ_CHECK(created != nullptr, "%s", error.c_str());
    return created;
  }();
  return *context;
}

// Sends (drops) the stream's wire output in scheduled pieces, as a socket taking part would.
void send_output(tls::TlsStream& stream, SplitSchedule& schedule) {
  while (stream.has_wire_output()) {
    iovec iov;
    FUZZ_CHECK(stream.wire_output(&iov, 1) == 1, "has_wire_output but no iovec");
    FUZZ_CHECK(iov.iov_len > 0, "an empty wire output iovec");
    stream.wire_sent(schedule.next(iov.iov_len));
  }
}

}  // namespace
}  // namespace mcguard::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mcguard;
  using namespace mcguard::fuzz;
  if (size == 0) return 0;
  SplitSchedule schedule(data[0]);
  const char* input = reinterpret_cast<const char*>(data + 1);
  size_t left = size - 1;

  BufferPool pool(4, kBufferSize);
  {
    auto stream = tls::TlsStream::accept(pool, server_context().current());
    FUZZ_CHECK(stream != nullptr, "accept failed");
    char plain[4096];
    int idle_rounds = 0;  // rounds in which nothing moved: more than a few means a stall
    while (left > 0 && stream->status() == Transport::Status::kOpen) {
      const size_t piece = schedule.next(left);
      size_t taken = 0;
      if (schedule.random() & 1) {
        taken = stream->put_wire(input, piece);
      } else {
        const std::span<char> space = stream->wire_receive_space();
        taken = std::min(space.size(), piece);
        if (taken > 0) std::memcpy(space.data(), input, taken);
        stream->wire_received(taken);
      }
      input += taken;
      left -= taken;
      FUZZ_CHECK(pool.in_use() <= 2, "a stream holds %u buffers", pool.in_use());
      size_t got = 0, decrypted = 0;
      while ((got = stream->read_plain(plain, sizeof plain)) > 0) {
        FUZZ_CHECK(stream->handshake_done(), "plaintext before the handshake");
        decrypted += got;
      }
      if (stream->status() == Transport::Status::kFailed) {
        FUZZ_CHECK(!stream->failure().empty(), "a failure without a reason");
      }
      const bool had_output = stream->has_wire_output();
      send_output(*stream, schedule);
      idle_rounds = taken + decrypted > 0 || had_output ? 0 : idle_rounds + 1;
      FUZZ_CHECK(idle_rounds < 4, "the stream takes no input and gives nothing (%zu left)", left);
    }
    if (stream->status() != Transport::Status::kOpen) {
      const iovec reply{const_cast<char*>("END\r\n"), 5};
      FUZZ_CHECK(stream->write_plain(&reply, 1) == 0, "a dead session took plaintext");
    }
    send_output(*stream, schedule);
  }
  FUZZ_CHECK(pool.available() == pool.capacity(), "%u of %u buffers back", pool.available(),
             pool.capacity());
  return 0;
}
