// TlsStream: a server and a client joined in memory over a small BufferPool. Handshakes,
// verification outcomes, data both ways in pieces, what the pool lends and gets back, clean
// and failed ends, and client session resumption.
#include <gtest/gtest.h>
#include <malloc.h>

#include <cstring>
#include <vector>

#include "tls_pair.h"

namespace mcguard::tls {
namespace {

using testing::client_options;
using testing::make_pair;
using testing::server_options;
using testing::shuttle;
using testing::TlsPair;
using Status = Transport::Status;

class TlsStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = e2e::make_test_certificates().release(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }

  std::unique_ptr<ServerContext> server_context(ServerOptions options) {
    std::string error;
    auto context = ServerContext::create(options, &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }
  std::unique_ptr<ClientContext> client_context(ClientOptions options) {
    std::string error;
    auto context = ClientContext::create(options, &error);
    EXPECT_NE(context, nullptr) << error;
    return context;
  }

  static e2e::TestCertificates* certs_;
  BufferPool pool_{8, 4096};
};
e2e::TestCertificates* TlsStreamTest::certs_ = nullptr;

// Sanitizers replace malloc, so mallinfo2 says nothing about the heap under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

size_t write_all(TlsStream& stream, std::string_view bytes) {
  const iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  return stream.write_plain(&iov, 1);
}

TEST_F(TlsStreamTest, HandshakeAndDataBothWays) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake()) << pair.client->failure() << " / " << pair.server->failure();
  EXPECT_NE(pair.client->peer_subject().find(e2e::kServerCommonName), std::string::npos);
  EXPECT_EQ(pair.server->requested_server_name(), "localhost");

  EXPECT_EQ(write_all(*pair.client, "set k 0 0 1\r\nv\r\n"), 16u);
  pair.pump();
  EXPECT_EQ(pair.server_received, "set k 0 0 1\r\nv\r\n");
  EXPECT_EQ(write_all(*pair.server, "STORED\r\n"), 8u);
  pair.pump();
  EXPECT_EQ(pair.client_received, "STORED\r\n");
}

TEST_F(TlsStreamTest, WritePlainBeforeHandshakeTakesNothing) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  EXPECT_EQ(write_all(*pair.client, "get a\r\n"), 0u);
  EXPECT_EQ(write_all(*pair.server, "END\r\n"), 0u);
}

TEST_F(TlsStreamTest, WritesEncryptStraightFromSeveralIovecs) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake());
  std::string header = "VALUE k 0 5\r\n", value = "hello", end = "\r\nEND\r\n";
  const iovec iov[3] = {
      {header.data(), header.size()}, {value.data(), value.size()}, {end.data(), end.size()}};
  EXPECT_EQ(pair.server->write_plain(iov, 3), header.size() + value.size() + end.size());
  pair.pump();
  EXPECT_EQ(pair.client_received, header + value + end);
}

// 8 MiB each way through a pool of 8 buffers of 4 KiB, in pieces: each stream holds at most one
// buffer per direction, the pool never runs dry, and every buffer comes back.
TEST_F(TlsStreamTest, EightMiBEachWayThroughASmallPool) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake());

  std::string payload(8u << 20, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>((i * 131) >> 7);

  for (TlsStream* sender : {pair.client.get(), pair.server.get()}) {
    TlsStream* receiver = sender == pair.client.get() ? pair.server.get() : pair.client.get();
    std::string received;
    received.reserve(payload.size());
    size_t offset = 0;
    char buffer[3000];  // deliberately not a record size
    int stalls = 0;
    while (received.size() < payload.size() && stalls < 1000) {
      const size_t piece = std::min<size_t>(100000, payload.size() - offset);
      const iovec iov{payload.data() + offset, piece};
      const size_t taken = piece == 0 ? 0 : sender->write_plain(&iov, 1);
      offset += taken;
      size_t moved = shuttle(*sender, *receiver);
      size_t got = 0;
      while ((got = receiver->read_plain(buffer, sizeof buffer)) > 0) received.append(buffer, got);
      moved += shuttle(*receiver, *sender);  // e.g. TLS 1.3 key updates: none expected, harmless
      stalls = taken + moved == 0 ? stalls + 1 : 0;
      ASSERT_LE(pool_.in_use(), 4u);
    }
    ASSERT_EQ(sender->status(), Status::kOpen) << sender->failure();
    ASSERT_EQ(receiver->status(), Status::kOpen) << receiver->failure();
    ASSERT_EQ(received.size(), payload.size());
    EXPECT_TRUE(received == payload);
  }
  EXPECT_LE(pool_.high_water(), 4u);
  EXPECT_EQ(pool_.failed_acquires(), 0u);
  EXPECT_EQ(pool_.available(), pool_.capacity());
}

TEST_F(TlsStreamTest, IdleSessionsHoldNoPoolBuffer) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake());
  write_all(*pair.client, "get k\r\n");
  pair.pump();
  write_all(*pair.server, "END\r\n");
  pair.pump();
  EXPECT_EQ(pair.client_received, "END\r\n");
  EXPECT_EQ(pool_.in_use(), 0u);
  // An empty receive (EAGAIN after wire_receive_space) must not leave a buffer behind either.
  EXPECT_FALSE(pair.server->wire_receive_space().empty());
  pair.server->wire_received(0);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(TlsStreamTest, WireOutputStaysPutUntilSent) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_all(*pair.server, "first\r\n"), 7u);
  iovec before;
  ASSERT_EQ(pair.server->wire_output(&before, 1), 1u);
  const std::string snapshot(static_cast<char*>(before.iov_base), before.iov_len);
  // More output while the first is "in flight": appended after it, the first bytes unmoved.
  ASSERT_EQ(write_all(*pair.server, "second\r\n"), 8u);
  iovec after;
  ASSERT_EQ(pair.server->wire_output(&after, 1), 1u);
  EXPECT_EQ(after.iov_base, before.iov_base);
  EXPECT_GT(after.iov_len, before.iov_len);
  EXPECT_EQ(std::memcmp(after.iov_base, snapshot.data(), snapshot.size()), 0);
  // A partial send resumes where it stopped.
  pair.server->wire_sent(3);
  iovec rest;
  ASSERT_EQ(pair.server->wire_output(&rest, 1), 1u);
  EXPECT_EQ(static_cast<char*>(rest.iov_base), static_cast<char*>(before.iov_base) + 3);
  ASSERT_EQ(pair.client->put_wire(static_cast<char*>(before.iov_base), 3), 3u);
  pair.pump();
  EXPECT_EQ(pair.client_received, "first\r\nsecond\r\n");
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(TlsStreamTest, EmptyPoolStopsWireAndPlainSidesWithoutFailing) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake());
  std::vector<uint32_t> held;
  for (uint32_t id; (id = pool_.acquire()) != BufferPool::kNoBuffer;) held.push_back(id);
  EXPECT_TRUE(pair.server->wire_receive_space().empty());
  EXPECT_EQ(pair.server->put_wire("x", 1), 0u);
  EXPECT_EQ(write_all(*pair.client, "get k\r\n"), 0u);
  EXPECT_EQ(pair.client->status(), Status::kOpen);
  for (uint32_t id : held) pool_.release(id);
  EXPECT_EQ(write_all(*pair.client, "get k\r\n"), 7u);
  pair.pump();
  EXPECT_EQ(pair.server_received, "get k\r\n");
}

TEST_F(TlsStreamTest, UntrustedCertificateFailsWithVerifyReason) {
  ServerOptions options = server_options(*certs_);
  options.cert = certs_->untrusted_server_cert;
  options.key = certs_->untrusted_server_key;
  auto server = server_context(options);
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(pair.client->status(), Status::kFailed);
  EXPECT_NE(pair.client->failure().find("certificate verify failed"), std::string::npos)
      << pair.client->failure();
  EXPECT_NE(pair.client->failure().find("local issuer"), std::string::npos)
      << pair.client->failure();
  // The client refuses before anything could be written.
  EXPECT_EQ(write_all(*pair.client, "get k\r\n"), 0u);
  EXPECT_EQ(pair.server_received, "");
}

TEST_F(TlsStreamTest, NameMismatchFails) {
  ServerOptions options = server_options(*certs_);
  options.cert = certs_->wrong_name_cert;
  options.key = certs_->wrong_name_key;
  auto server = server_context(options);
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client, "localhost");
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(pair.client->status(), Status::kFailed);
  EXPECT_NE(pair.client->failure().find("hostname mismatch"), std::string::npos)
      << pair.client->failure();
}

TEST_F(TlsStreamTest, IpLiteralMatchesIpSanWithoutSni) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  for (const char* host : {"127.0.0.1", "[::1]", "::1"}) {
    TlsPair pair = make_pair(pool_, *server, *client, host);
    ASSERT_TRUE(pair.handshake()) << host << ": " << pair.client->failure();
    EXPECT_EQ(pair.server->requested_server_name(), "") << host;
  }
  // An address the certificate does not name fails.
  TlsPair pair = make_pair(pool_, *server, *client, "10.1.2.3");
  EXPECT_FALSE(pair.handshake());
  EXPECT_NE(pair.client->failure().find("IP address mismatch"), std::string::npos)
      << pair.client->failure();
}

TEST_F(TlsStreamTest, ServerNameOverridesHostForVerificationAndSni) {
  ServerOptions options = server_options(*certs_);
  options.cert = certs_->wrong_name_cert;
  options.key = certs_->wrong_name_key;
  auto server = server_context(options);
  ClientOptions client_settings = client_options(*certs_);
  client_settings.server_name = "other.example";
  auto client = client_context(client_settings);
  TlsPair pair = make_pair(pool_, *server, *client, "127.0.0.1");
  ASSERT_TRUE(pair.handshake()) << pair.client->failure();
  EXPECT_EQ(pair.server->requested_server_name(), "other.example");
}

TEST_F(TlsStreamTest, RequiredClientCertificateAbsentFails) {
  auto server = server_context(server_options(*certs_, VerifyPeer::kRequire));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(pair.server->status(), Status::kFailed);
  EXPECT_NE(pair.server->failure().find("certificate"), std::string::npos)
      << pair.server->failure();
  // TLS 1.3: the client learns from the server's alert, after its own handshake finished.
  EXPECT_EQ(pair.client->status(), Status::kFailed) << pair.client->failure();
  EXPECT_EQ(pair.server_received, "");
}

TEST_F(TlsStreamTest, RequiredClientCertificatePresentIsVerified) {
  auto server = server_context(server_options(*certs_, VerifyPeer::kRequire));
  ClientOptions options = client_options(*certs_);
  options.cert = certs_->client_cert;
  options.key = certs_->client_key;
  auto client = client_context(options);
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake()) << pair.server->failure();
  EXPECT_NE(pair.server->peer_subject().find(e2e::kClientCommonName), std::string::npos);
}

TEST_F(TlsStreamTest, ClientCertificateFromAnotherCaIsRefused) {
  // The untrusted server certificate doubles as a client certificate (it allows clientAuth).
  auto server = server_context(server_options(*certs_, VerifyPeer::kOptional));
  ClientOptions options = client_options(*certs_);
  options.cert = certs_->untrusted_server_cert;
  options.key = certs_->untrusted_server_key;
  auto client = client_context(options);
  TlsPair pair = make_pair(pool_, *server, *client);
  EXPECT_FALSE(pair.handshake());
  EXPECT_EQ(pair.server->status(), Status::kFailed);
  EXPECT_NE(pair.server->failure().find("certificate verify failed"), std::string::npos)
      << pair.server->failure();
}

TEST_F(TlsStreamTest, OptionalClientCertificate) {
  auto server = server_context(server_options(*certs_, VerifyPeer::kOptional));
  auto anonymous = client_context(client_options(*certs_));
  TlsPair without = make_pair(pool_, *server, *anonymous);
  ASSERT_TRUE(without.handshake()) << without.server->failure();
  EXPECT_EQ(without.server->peer_subject(), "");

  ClientOptions options = client_options(*certs_);
  options.cert = certs_->client_cert;
  options.key = certs_->client_key;
  auto identified = client_context(options);
  TlsPair with = make_pair(pool_, *server, *identified);
  ASSERT_TRUE(with.handshake()) << with.server->failure();
  EXPECT_NE(with.server->peer_subject().find(e2e::kClientCommonName), std::string::npos);
}

TEST_F(TlsStreamTest, PlaintextMemcachedClientFailsAtOnce) {
  auto server = server_context(server_options(*certs_));
  auto stream = TlsStream::accept(pool_, server->current());
  ASSERT_NE(stream, nullptr);
  const std::string request = "get foo\r\n";
  ASSERT_EQ(stream->put_wire(request.data(), request.size()), request.size());
  char buffer[64];
  EXPECT_EQ(stream->read_plain(buffer, sizeof buffer), 0u);
  EXPECT_EQ(stream->status(), Status::kFailed);
  EXPECT_FALSE(stream->failure().empty());
  EXPECT_FALSE(stream->has_plain_input());
  // Only a possible alert is held; once sent, nothing.
  while (stream->has_wire_output()) {
    iovec iov;
    stream->wire_output(&iov, 1);
    stream->wire_sent(iov.iov_len);
  }
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(TlsStreamTest, CloseNotifyEndsCleanly) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake());
  write_all(*pair.client, "quit\r\n");
  pair.client->send_close_notify();
  pair.pump();
  EXPECT_EQ(pair.server_received, "quit\r\n");
  EXPECT_EQ(pair.server->status(), Status::kClosed);
  EXPECT_EQ(pool_.in_use(), 0u);
}

TEST_F(TlsStreamTest, TruncatedStreamIsNotAFailureBeforeItEnds) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  TlsPair pair = make_pair(pool_, *server, *client);
  ASSERT_TRUE(pair.handshake());
  ASSERT_EQ(write_all(*pair.client, "get k\r\n"), 7u);
  iovec iov;
  ASSERT_EQ(pair.client->wire_output(&iov, 1), 1u);
  // Half a record: the server waits for the rest rather than failing.
  ASSERT_EQ(pair.server->put_wire(static_cast<char*>(iov.iov_base), iov.iov_len / 2),
            iov.iov_len / 2);
  pair.client->wire_sent(iov.iov_len / 2);
  char buffer[64];
  EXPECT_EQ(pair.server->read_plain(buffer, sizeof buffer), 0u);
  EXPECT_EQ(pair.server->status(), Status::kOpen);
  pair.pump();
  EXPECT_EQ(pair.server_received, "get k\r\n");
}

TEST_F(TlsStreamTest, SecondConnectWithSameKeyResumes) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  {
    TlsPair first = make_pair(pool_, *server, *client, "localhost", "localhost:11211");
    ASSERT_TRUE(first.handshake());
    EXPECT_FALSE(first.client->session_reused());
  }
  TlsPair second = make_pair(pool_, *server, *client, "localhost", "localhost:11211");
  ASSERT_TRUE(second.handshake()) << second.client->failure();
  EXPECT_TRUE(second.client->session_reused());
  EXPECT_TRUE(second.server->session_reused());

  TlsPair other = make_pair(pool_, *server, *client, "localhost", "localhost:11212");
  ASSERT_TRUE(other.handshake());
  EXPECT_FALSE(other.client->session_reused());
}

TEST_F(TlsStreamTest, ClientReloadForgetsSessions) {
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  {
    TlsPair first = make_pair(pool_, *server, *client, "localhost", "k");
    ASSERT_TRUE(first.handshake());
  }
  std::string error;
  ASSERT_TRUE(client->reload(&error)) << error;
  TlsPair second = make_pair(pool_, *server, *client, "localhost", "k");
  ASSERT_TRUE(second.handshake());
  EXPECT_FALSE(second.client->session_reused());
}

// The lead's memory formula needs the heap cost of an idle, established server session.
TEST_F(TlsStreamTest, MeasuresHeapOfIdleServerSession) {
  if (kSanitized) GTEST_SKIP() << "a sanitizer's allocator is invisible to mallinfo2";
  auto server = server_context(server_options(*certs_));
  auto client = client_context(client_options(*certs_));
  constexpr int kSessions = 1000;
  std::vector<std::unique_ptr<TlsStream>> servers;
  servers.reserve(kSessions);
  for (int i = 0; i < kSessions; ++i) {
    TlsPair pair = make_pair(pool_, *server, *client);
    ASSERT_TRUE(pair.handshake());
    // One request and its reply, so the record layer has been used both ways.
    write_all(*pair.client, "get k\r\n");
    pair.pump();
    write_all(*pair.server, "END\r\n");
    pair.pump();
    ASSERT_EQ(pair.client_received, "END\r\n");
    servers.push_back(std::move(pair.server));
  }
  EXPECT_EQ(pool_.in_use(), 0u);  // a thousand idle sessions, no pool buffer
  const size_t with_sessions = mallinfo2().uordblks;
  servers.clear();
  const size_t without_sessions = mallinfo2().uordblks;
  const size_t per_session = (with_sessions - without_sessions) / kSessions;
  std::printf("INFO heap per idle established TLS server session: %zu bytes (TLS 1.3, P-256)\n",
              per_session);
  EXPECT_GT(per_session, 0u);
  EXPECT_LT(per_session, 64u * 1024);  // no record buffers kept (SSL_MODE_RELEASE_BUFFERS)
}

}  // namespace
}  // namespace mcguard::tls
