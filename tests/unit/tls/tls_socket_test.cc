// TlsStream over a real loopback socket, served by a thread that moves bytes the way an event
// loop would, and reached with the end-to-end suite's TlsTestClient: an echo server proves both
// ends (and the helper the end-to-end tests use) speak TLS to each other.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tls_pair.h"

namespace mcguard::tls {
namespace {

using Status = Transport::Status;

// One-connection TLS echo server on 127.0.0.1: what it decrypts it encrypts back.
class EchoServer {
 public:
  explicit EchoServer(std::shared_ptr<SSL_CTX> context) : context_(std::move(context)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_, 4), 0);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~EchoServer() {
    finish();
    ::close(listener_);
  }
  // Stops serving and waits for the thread; the session's end state is final after this.
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  // How the server's session ended (final after finish()).
  Status status() const { return status_; }
  const std::string& failure() const { return failure_; }

 private:
  void serve() {
    pollfd p{listener_, POLLIN, 0};
    while (!stop_ && ::poll(&p, 1, 20) == 0) {
    }
    if (stop_) return;
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    BufferPool pool(4, 4096);
    auto stream = TlsStream::accept(pool, context_);
    char plain[4096];
    bool peer_open = true;
    while (!stop_ && peer_open && stream->status() == Status::kOpen) {
      pollfd q{fd, POLLIN, 0};
      if (::poll(&q, 1, 20) == 1) {
        const std::span<char> space = stream->wire_receive_space();
        const ssize_t n = ::recv(fd, space.data(), space.size(), 0);
        stream->wire_received(n > 0 ? static_cast<size_t>(n) : 0);
        peer_open = n > 0;
      }
      size_t got;
      while ((got = stream->read_plain(plain, sizeof plain)) > 0) {
        const iovec iov{plain, got};
        size_t done = 0;
        while (done < got && stream->status() == Status::kOpen) {
          const iovec rest{static_cast<char*>(iov.iov_base) + done, got - done};
          done += stream->write_plain(&rest, 1);
          send_output(fd, *stream);
        }
      }
      send_output(fd, *stream);  // handshake messages, alerts
    }
    status_ = stream->status();
    failure_ = stream->failure();
    stream.reset();
    EXPECT_EQ(pool.available(), pool.capacity());
    ::close(fd);
  }

  static void send_output(int fd, TlsStream& stream) {
    while (stream.has_wire_output()) {
      iovec iov;
      stream.wire_output(&iov, 1);
      const ssize_t n = ::send(fd, iov.iov_base, iov.iov_len, MSG_NOSIGNAL);
      if (n <= 0) return;
      stream.wire_sent(static_cast<size_t>(n));
    }
  }

  std::shared_ptr<SSL_CTX> context_;
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<Status> status_{Status::kOpen};
  std::string failure_;
};

class TlsSocketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = e2e::make_test_certificates().release(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  static e2e::TestCertificates* certs_;
};
e2e::TestCertificates* TlsSocketTest::certs_ = nullptr;

TEST_F(TlsSocketTest, TestClientTalksToTlsStream) {
  std::string error;
  auto context = ServerContext::create(testing::server_options(*certs_), &error);
  ASSERT_NE(context, nullptr) << error;
  EchoServer server(context->current());
  auto client = e2e::TlsTestClient::connect(server.port(), certs_->ca_cert, "", "", &error);
  ASSERT_NE(client, nullptr) << error;
  EXPECT_NE(client->peer_subject().find(e2e::kServerCommonName), std::string::npos);
  const std::string big(300000, 'v');
  ASSERT_TRUE(client->send_all("version\r\n" + big + "\r\n"));
  EXPECT_EQ(client->read_until("\r\n"), "version\r\n");
  EXPECT_EQ(client->read_exactly(big.size() + 2), big + "\r\n");
  client->close();
}

TEST_F(TlsSocketTest, TestClientRefusesUntrustedServer) {
  ServerOptions options = testing::server_options(*certs_);
  options.cert = certs_->untrusted_server_cert;
  options.key = certs_->untrusted_server_key;
  std::string error;
  auto context = ServerContext::create(options, &error);
  ASSERT_NE(context, nullptr) << error;
  EchoServer server(context->current());
  EXPECT_EQ(e2e::TlsTestClient::connect(server.port(), certs_->ca_cert, "", "", &error), nullptr);
  EXPECT_NE(error.find("certificate verify failed"), std::string::npos) << error;
}

TEST_F(TlsSocketTest, RequiredClientCertificate) {
  std::string error;
  auto context =
      ServerContext::create(testing::server_options(*certs_, VerifyPeer::kRequire), &error);
  ASSERT_NE(context, nullptr) << error;
  {
    EchoServer server(context->current());
    auto client = e2e::TlsTestClient::connect(server.port(), certs_->ca_cert, certs_->client_cert,
                                              certs_->client_key, &error);
    ASSERT_NE(client, nullptr) << error;
    ASSERT_TRUE(client->send_all("version\r\n"));
    EXPECT_EQ(client->read_until("\r\n"), "version\r\n");
  }
  EchoServer server(context->current());
  auto client = e2e::TlsTestClient::connect(server.port(), certs_->ca_cert, "", "", &error);
  // TLS 1.3: the client's handshake completes; the server's verdict arrives as an alert.
  ASSERT_NE(client, nullptr) << error;
  client->send_all("version\r\n");
  EXPECT_TRUE(client->wait_for_close(5000));
  EXPECT_NE(client->last_error().find("certificate required"), std::string::npos)
      << client->last_error();
  server.finish();  // the alert went out after the failure; the thread records it as it ends
  EXPECT_EQ(server.status(), Status::kFailed);
}

TEST_F(TlsSocketTest, PlaintextClientIsRefusedAtOnce) {
  std::string error;
  auto context = ServerContext::create(testing::server_options(*certs_), &error);
  ASSERT_NE(context, nullptr) << error;
  auto server = std::make_unique<EchoServer>(context->current());
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::send(fd, "get foo\r\n", 9, MSG_NOSIGNAL), 9);
  // The server answers with at most an alert and closes; it never waits for more.
  pollfd p{fd, POLLIN, 0};
  std::string received;
  char buffer[256];
  while (::poll(&p, 1, 5000) == 1) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  server->finish();
  EXPECT_EQ(server->status(), Status::kFailed);
  EXPECT_TRUE(received.empty() || received[0] == '\x15') << "not an alert";
}

}  // namespace
}  // namespace mcguard::tls
