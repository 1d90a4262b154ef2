// Connection with a Transport between it and the socket, driven without
// sockets. The transport here is a stand-in for TLS with tiny bounded
// buffers: its "cipher" flips bits, its handshake is one byte each way, so
// every reply and every request must cross it in many small pieces, and the
// connection's glue (backpressure, stalls, failure, close) is what is tested.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "proxy/core/connection.h"
#include "proxy/embedded/embedded_tier.h"
#include "test_support.h"

namespace mcguard {
namespace {

constexpr uint32_t kBufferSize = 4096;
constexpr char kMask = 0x5a;
constexpr char kClientHello = 0x01;
constexpr char kServerHello = 0x02;
constexpr char kCloseNotify = 0x03;

std::string flip(std::string_view bytes) {
  std::string out(bytes);
  for (char& c : out) c ^= kMask;
  return out;
}

class FlipTransport final : public Transport {
 public:
  explicit FlipTransport(size_t capacity) : capacity_(capacity) {}

  std::span<char> wire_receive_space() override {
    in_.resize(capacity_);
    return {in_.data() + in_end_, capacity_ - in_end_};
  }
  void wire_received(size_t n) override { in_end_ += n; }
  size_t put_wire(const char* bytes, size_t n) override {
    const auto space = wire_receive_space();
    const size_t take = std::min(n, space.size());
    std::copy(bytes, bytes + take, space.data());
    in_end_ += take;
    return take;
  }
  bool has_wire_output() const override { return out_sent_ < out_.size(); }
  size_t wire_output(iovec* out, size_t max_iov) override {
    if (!has_wire_output() || max_iov == 0) return 0;
    out[0].iov_base = out_.data() + out_sent_;
    out[0].iov_len = out_.size() - out_sent_;
    return 1;
  }
  void wire_sent(size_t n) override {
    out_sent_ += n;
    if (out_sent_ == out_.size()) out_.clear(), out_sent_ = 0;
  }
  size_t read_plain(char* into, size_t capacity) override {
    if (!handshake_) {
      if (in_start_ == in_end_) return 0;
      if (in_[in_start_++] != kClientHello) {
        status_ = Status::kFailed;
        failure_ = "not a hello";
        return 0;
      }
      handshake_ = true;
      out_.push_back(kServerHello);
    }
    size_t n = 0;
    while (n < capacity && in_start_ < in_end_) {
      const char c = in_[in_start_++];
      if (c == (kCloseNotify ^ kMask) && pending_close_) {
        status_ = Status::kClosed;
        break;
      }
      into[n++] = static_cast<char>(c ^ kMask);
    }
    if (in_start_ == in_end_) in_start_ = in_end_ = 0;
    return n;
  }
  bool has_plain_input() const override { return in_start_ < in_end_; }
  size_t write_plain(const iovec* iov, size_t count) override {
    size_t taken = 0;
    for (size_t i = 0; i < count && out_.size() < capacity_; ++i) {
      const size_t take = std::min(iov[i].iov_len, capacity_ - out_.size());
      out_ += flip({static_cast<const char*>(iov[i].iov_base), take});
      taken += take;
      if (take < iov[i].iov_len) break;
    }
    return taken;
  }
  Status status() const override { return status_; }
  bool handshake_done() const override { return handshake_; }
  const std::string& failure() const override { return failure_; }

  bool pending_close_ = false;  // a masked kCloseNotify byte ends the session

 private:
  size_t capacity_;
  std::string in_;
  size_t in_start_ = 0;
  size_t in_end_ = 0;
  std::string out_;
  size_t out_sent_ = 0;
  bool handshake_ = false;
  Status status_ = Status::kOpen;
  std::string failure_;
};

EmbeddedConfig tier_config() {
  EmbeddedConfig config;
  config.memory_limit = 16u << 20;
  config.max_value_size = 100000;
  return config;
}

class ConnectionTransportTest : public ::testing::Test {
 protected:
  ConnectionTransportTest()
      : pool_(64, kBufferSize), tier_(tier_config()), context_{pool_,   tier_,  stats_,   nullptr,
                                                               nullptr, 100000, 1u << 20, 2000,
                                                               0,       nullptr} {}

  std::unique_ptr<Connection> connect(size_t capacity, FlipTransport** transport = nullptr) {
    auto connection = std::make_unique<Connection>(context_, "tls-test");
    auto owned = std::make_unique<FlipTransport>(capacity);
    if (transport != nullptr) *transport = owned.get();
    connection->set_transport(std::move(owned));
    return connection;
  }

  // Sends `wire` in pieces of `step` through whichever input path the loop
  // would use, and returns the wire bytes the connection sent back.
  std::string exchange(Connection& connection, const std::string& wire, size_t step,
                       bool by_targets) {
    std::string output;
    size_t at = 0;
    int stuck = 0;
    while (at < wire.size() && stuck < 1000) {
      const size_t n = std::min(step, wire.size() - at);
      size_t taken = 0;
      if (by_targets) {
        iovec target[1];
        if (connection.read_targets(target, 1) == 1) {
          taken = std::min(n, target[0].iov_len);
          std::copy(wire.data() + at, wire.data() + at + taken,
                    static_cast<char*>(target[0].iov_base));
          connection.on_read(taken);
        }
      } else {
        taken = connection.feed(wire.data() + at, n);
      }
      at += taken;
      stuck = taken == 0 ? stuck + 1 : 0;
      test::drain_connection(connection, output);
    }
    EXPECT_EQ(at, wire.size()) << "the connection stopped taking input";
    connection.on_read_idle();
    test::drain_connection(connection, output);
    return output;
  }

  BufferPool pool_;
  EmbeddedTier tier_;
  WorkerStats stats_;
  ConnectionContext context_;
};

TEST_F(ConnectionTransportTest, RepliesCrossTheTransportInOrderWhateverTheSplit) {
  const std::string value(kBufferSize * 3 + 17, 'v');  // streams into a chain
  const std::string input = "set a 5 0 3\r\nabc\r\nget a\r\nset big 0 0 " +
                            std::to_string(value.size()) + "\r\n" + value +
                            "\r\nget big a missing\r\ndelete a\r\nget a\r\n";
  const std::string expected = "STORED\r\nVALUE a 5 3\r\nabc\r\nEND\r\nSTORED\r\nVALUE big 0 " +
                               std::to_string(value.size()) + "\r\n" + value +
                               "\r\nVALUE a 5 3\r\nabc\r\nEND\r\nDELETED\r\nEND\r\n";
  for (bool by_targets : {false, true}) {
    for (size_t step : {size_t{1}, size_t{7}, size_t{100}, size_t{5000}}) {
      for (size_t capacity : {size_t{16}, size_t{300}}) {
        auto connection = connect(capacity);
        const std::string wire = std::string(1, kClientHello) + flip(input);
        const std::string output = exchange(*connection, wire, step, by_targets);
        ASSERT_FALSE(output.empty());
        EXPECT_EQ(output[0], kServerHello);
        EXPECT_EQ(flip(output.substr(1)), expected)
            << "step " << step << " capacity " << capacity << " targets " << by_targets;
        EXPECT_TRUE(connection->idle());
        EXPECT_EQ(connection->buffers_held(), 0u);
        EXPECT_FALSE(connection->should_close());
      }
    }
  }
  EXPECT_EQ(pool_.in_use(), 0u);
  EXPECT_EQ(stats_.tls_handshakes.get(), 16u);
}

TEST_F(ConnectionTransportTest, ValuesNeverStreamPastTheTransport) {
  // The engine must not receive straight into a value's chain: those bytes
  // are still encrypted.
  auto connection = connect(64);
  const std::string head = std::string(1, kClientHello) + flip("set big 0 0 10000\r\n");
  ASSERT_EQ(connection->feed(head.data(), head.size()), head.size());
  EXPECT_FALSE(connection->receiving_value());
  iovec target[4];
  ASSERT_EQ(connection->read_targets(target, 4), 1u);
  EXPECT_LE(target[0].iov_len, 64u) << "read_targets names the transport's wire space";
}

TEST_F(ConnectionTransportTest, InputHeldBackByTheReplyBacklogResumesAsRepliesLeave) {
  context_.max_reply_backlog = 2048;
  auto connection = connect(4096);
  const std::string set = "set k 0 0 3000\r\n" + std::string(3000, 'x') + "\r\n";
  std::string input = set;
  for (int i = 0; i < 20; ++i) input += "get k\r\n";
  input += "version\r\n";
  const std::string wire = std::string(1, kClientHello) + flip(input);
  // Everything arrives before anything is sent: the backlog stops parsing,
  // the rest waits inside the transport.
  size_t fed = connection->feed(wire.data(), wire.size());
  std::string output;
  while (fed < wire.size() || connection->wants_write()) {
    test::drain_connection(*connection, output);
    fed += connection->feed(wire.data() + fed, wire.size() - fed);
  }
  const std::string plain = flip(output.substr(1));
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 'V'), 21) << "20 VALUE lines and VERSION";
  EXPECT_TRUE(plain.ends_with("\r\nVERSION 1.6.18\r\n")) << plain.substr(plain.size() - 40);
}

TEST_F(ConnectionTransportTest, GarbageInsteadOfAHandshakeClosesAtOnceAndIsCounted) {
  auto connection = connect(64);
  const std::string plaintext = "get foo\r\n";
  connection->feed(plaintext.data(), plaintext.size());
  EXPECT_TRUE(connection->should_close());
  EXPECT_FALSE(connection->wants_write()) << "nothing is answered in plain text";
  EXPECT_EQ(stats_.tls_failures.get(), 1u);
  connection.reset();
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(ConnectionTransportTest, ThePeersCloseEndsInputAfterItsRepliesGoOut) {
  FlipTransport* transport = nullptr;
  auto connection = connect(64, &transport);
  transport->pending_close_ = true;
  const std::string wire = std::string(1, kClientHello) + flip("get a\r\nversion\r\n") +
                           std::string(1, kCloseNotify ^ kMask);
  std::string output = exchange(*connection, wire, 5, false);
  EXPECT_EQ(flip(output.substr(1)), "END\r\nVERSION 1.6.18\r\n");
  EXPECT_TRUE(connection->should_close());
}

TEST_F(ConnectionTransportTest, AStalledPoolParksTheConnectionAndRetryResumesIt) {
  auto connection = connect(4096);
  const std::string hello(1, kClientHello);
  ASSERT_EQ(connection->feed(hello.data(), 1), 1u);
  std::string output;
  test::drain_connection(*connection, output);
  connection->on_read_idle();
  // Take every pool buffer: decrypted bytes have nowhere to go.
  std::vector<uint32_t> taken;
  for (uint32_t id = pool_.acquire(); id != BufferPool::kNoBuffer; id = pool_.acquire()) {
    taken.push_back(id);
  }
  const std::string wire = flip("version\r\n");
  ASSERT_EQ(connection->feed(wire.data(), wire.size()), wire.size());
  EXPECT_TRUE(connection->waiting_for_pool()) << "the loop must park it";
  EXPECT_FALSE(connection->wants_write());
  for (uint32_t id : taken) pool_.release(id);
  connection->retry_pool_wait();
  EXPECT_FALSE(connection->waiting_for_pool());
  output.clear();
  test::drain_connection(*connection, output);
  EXPECT_EQ(flip(output), "VERSION 1.6.18\r\n");
}

}  // namespace
}  // namespace mcguard
