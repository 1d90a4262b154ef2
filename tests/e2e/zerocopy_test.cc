// Zero-copy sends (--zerocopy-threshold, io_uring engine): the kernel reads a
// sent value in place until its notification, so the bytes must stay held and
// their buffers counted in the pool until then, whatever the peer does. A
// receiver that stops reading keeps the notification outstanding (the unsent
// bytes still sit in mcguard's socket), which lets these tests observe that
// window on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "ops_support.h"

namespace mcguard::e2e {
namespace {

constexpr size_t kValue = 4u << 20;
constexpr milliseconds kDeadline(10000);

// One sample of /metrics on `admin_port` (-1 when missing or unreadable).
long long metric(uint16_t admin_port, std::string_view name) {
  const HttpReply reply = http_get(admin_port, "/metrics");
  const std::string wanted = "\n" + std::string(name) + " ";
  const size_t at = reply.body.find(wanted);
  if (reply.status != 200 || at == std::string::npos) return -1;
  return std::atoll(reply.body.c_str() + at + wanted.size());
}

// Shrinks a socket's receive buffer so a reply larger than it stalls in the
// sender's socket while the receiver does not read.
void shrink_receive_buffer(int fd) {
  const int bytes = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

class ZeroCopySends : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's zero-copy sends only";
    const char* engine = std::getenv("MCGUARD_E2E_IO_ENGINE");
    if (engine != nullptr && std::string_view(engine) == "epoll") {
      GTEST_SKIP() << "zero-copy sends are the io_uring engine's";
    }
  }

  void start(std::vector<std::string> extra) {
    McguardOptions options;
    options.threads = 1;
    options.extra_args = {"--zerocopy-threshold", "64k"};
    options.extra_args.insert(options.extra_args.end(), extra.begin(), extra.end());
    std::string error;
    server_ = start_with_admin(options, &admin_port_, &error);
    ASSERT_NE(server_, nullptr) << error;
  }

  long long metric(std::string_view name) const { return e2e::metric(admin_port_, name); }

  // Waits until no notification is awaited and the connections and pool
  // buffers are back to what they were before the test's client came.
  void expect_all_released(long long connections, long long buffers_in_use) {
    EXPECT_TRUE(poll_until(
        [&] {
          return metric("mcguard_zerocopy_pending") == 0 &&
                 metric("mcguard_connections") == connections &&
                 metric("mcguard_pool_buffers_in_use") <= buffers_in_use;
        },
        kDeadline))
        << "pending " << metric("mcguard_zerocopy_pending") << ", open "
        << metric("mcguard_connections") << " (was " << connections << "), buffers in use "
        << metric("mcguard_pool_buffers_in_use") << " (was " << buffers_in_use << ")";
  }

  Client connect() {
    auto c = Client::connect(server_->port(), milliseconds(5000));
    EXPECT_TRUE(c.has_value());
    return c ? std::move(*c) : Client();
  }

  std::unique_ptr<ServerProcess> server_;
  uint16_t admin_port_ = 0;
};

TEST_F(ZeroCopySends, ClientVanishingMidSendReleasesEverything) {
  // A client asks for a large value twice, reads nothing and resets the
  // connection while the zero-copy send's notification is outstanding. The
  // connection must wait for the notification, then go with everything it
  // held, and the value must still be served whole to the next client.
  ASSERT_NO_FATAL_FAILURE(start({}));
  const std::string value(kValue, 'z');
  Client writer = connect();
  ASSERT_TRUE(writer.send("set big 0 0 " + std::to_string(kValue) + "\r\n" + value + "\r\n"));
  ASSERT_EQ(writer.read_line().bytes, "STORED\r\n");
  const long long idle_in_use = metric("mcguard_pool_buffers_in_use");
  const long long connections = metric("mcguard_connections");
  ASSERT_GE(idle_in_use, 0);

  Client vanishing = connect();
  shrink_receive_buffer(vanishing.fd());
  ASSERT_TRUE(vanishing.send("get big\r\nget big\r\n"));
  EXPECT_TRUE(poll_until([&] { return metric("mcguard_zerocopy_pending") >= 1; }, kDeadline))
      << "no zero-copy send awaited its notification; sends "
      << metric("mcguard_zerocopy_sends_total");

  const linger reset{1, 0};  // close with RST, unread bytes and all
  ::setsockopt(vanishing.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  vanishing.close();
  expect_all_released(connections, idle_in_use);
  EXPECT_GE(metric("mcguard_zerocopy_sends_total"), 1);

  Client reader = connect();
  ASSERT_TRUE(reader.send("get big\r\n"));
  const std::string expected =
      "VALUE big 0 " + std::to_string(kValue) + "\r\n" + value + "\r\nEND\r\n";
  const ReadResult got = reader.read_exactly(expected.size(), kDeadline);
  EXPECT_TRUE(got.bytes == expected) << escape(got.bytes, 200);
}

TEST_F(ZeroCopySends, ClosingWhileANotificationIsOutstanding) {
  // mcguard closes a connection (a value not delivered within
  // --slow-client-timeout) whose client stopped
  // reading while a zero-copy send's notification is outstanding. Waiting for
  // that notification alone would keep the connection and its buffers forever:
  // the socket must drop its unsent bytes so the notification comes.
  ASSERT_NO_FATAL_FAILURE(start({"--slow-client-timeout", "1s"}));
  constexpr size_t kReply = 2u << 20;  // within --max-reply-backlog: parsing goes on
  const std::string value(kReply, 'c');
  Client writer = connect();
  ASSERT_TRUE(writer.send("set mid 0 0 " + std::to_string(kReply) + "\r\n" + value + "\r\n"));
  ASSERT_EQ(writer.read_line().bytes, "STORED\r\n");
  const long long idle_in_use = metric("mcguard_pool_buffers_in_use");
  const long long connections = metric("mcguard_connections");

  Client stalled = connect();
  shrink_receive_buffer(stalled.fd());
  ASSERT_TRUE(stalled.send("get mid\r\n"));
  ASSERT_TRUE(poll_until([&] { return metric("mcguard_zerocopy_pending") >= 1; }, kDeadline))
      << "no zero-copy send awaited its notification";
  ASSERT_TRUE(stalled.send("set late 0 0 100\r\nonly part of it"));
  expect_all_released(connections, idle_in_use);
}

// A loopback listener that accepts nothing: its connections' bytes pile up in
// the kernel until their small receive buffer is full, as an upstream that
// stopped reading.
class DeafUpstream {
 public:
  DeafUpstream() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    shrink_receive_buffer(fd_);  // inherited by the connections it queues
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::listen(fd_, 16) == 0 &&
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
      port_ = ntohs(address.sin_port);
    }
  }
  ~DeafUpstream() {
    if (connection_ >= 0) ::close(connection_);
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

  // Reads `n` bytes from the first queued connection that carries any
  // (mcguard may have opened and closed others); false when they do not come.
  bool read(size_t n, std::string* out) {
    const timeval wait{10, 0};
    char chunk[65536];
    while (out->size() < n) {
      if (connection_ < 0) {
        connection_ = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (connection_ < 0) return false;
        ::setsockopt(connection_, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
      }
      const ssize_t got = ::recv(connection_, chunk, std::min(sizeof chunk, n - out->size()), 0);
      if (got == 0 && out->empty()) {
        ::close(std::exchange(connection_, -1));  // closed unused: try the next one
        continue;
      }
      if (got <= 0) return false;
      out->append(chunk, static_cast<size_t>(got));
    }
    return true;
  }
  bool reply(std::string_view bytes) {
    return ::send(connection_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

 private:
  int fd_ = -1;
  int connection_ = -1;
  uint16_t port_ = 0;
};

TEST_F(ZeroCopySends, BuffersStayCountedUntilTheNotification) {
  // A set's value goes to an upstream that has stopped reading. The kernel
  // took part of it as a zero-copy send, but its notification is outstanding,
  // so every buffer of the value must still count as in use; once the
  // upstream reads it all, the notification comes and every buffer is back.
  DeafUpstream upstream;
  ASSERT_NE(upstream.port(), 0);
  // Its item limit stated: the start-up probe would wait for a deaf upstream.
  ASSERT_NO_FATAL_FAILURE(start({"--upstream", "127.0.0.1:" + std::to_string(upstream.port()),
                                 "--upstream-item-size-max", "8m"}));
  const long long idle_in_use = metric("mcguard_pool_buffers_in_use");
  ASSERT_GE(idle_in_use, 0);

  const std::string header = "set deaf 0 0 " + std::to_string(kValue) + "\r\n";
  const std::string value(kValue, 'd');
  Client client = connect();
  ASSERT_TRUE(client.send(header + value + "\r\n"));
  long long in_use = -1;
  EXPECT_TRUE(poll_until(
      [&] {
        in_use = metric("mcguard_pool_buffers_in_use");
        return metric("mcguard_zerocopy_pending") >= 1;
      },
      kDeadline))
      << "no zero-copy send awaited its notification; sends "
      << metric("mcguard_zerocopy_sends_total");
  const long long value_buffers = static_cast<long long>(kValue / kBufferSize);
  EXPECT_GE(in_use - idle_in_use, value_buffers)
      << "the value's buffers left the pool's count before the kernel's notification";

  std::string received;
  ASSERT_TRUE(upstream.read(header.size() + kValue + 2, &received));
  EXPECT_TRUE(received == header + value + "\r\n") << escape(received, 200);
  ASSERT_TRUE(upstream.reply("STORED\r\n"));
  EXPECT_EQ(client.read_line(kDeadline).bytes, "STORED\r\n");
  EXPECT_TRUE(poll_until(
      [&] {
        // The upstream connection, opened since, keeps its receive buffer.
        return metric("mcguard_zerocopy_pending") == 0 &&
               metric("mcguard_pool_buffers_in_use") <= idle_in_use + 1;
      },
      kDeadline))
      << "pending " << metric("mcguard_zerocopy_pending") << ", buffers in use "
      << metric("mcguard_pool_buffers_in_use") << " (was " << idle_in_use << ")";
}

}  // namespace
}  // namespace mcguard::e2e
