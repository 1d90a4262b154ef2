// Clients over TLS: a tls: listener beside a plain one serves the same store;
// client certificates are asked for as --tls-verify-client says; a plaintext
// client on the TLS port is closed without an answer; SIGHUP puts a renewed
// certificate in force and keeps the old one when the new file is broken;
// garbage on the TLS port never harms what is stored. Certificates come from a
// throwaway CA the test makes (tls_support.h).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <filesystem>
#include <random>

#include "ops_support.h"
#include "tls_support.h"

namespace mcguard::e2e {
namespace {

namespace fs = std::filesystem;

class TlsClients : public ::testing::Test {
 protected:
  void SetUp() override {
    if (subject_is_memcached()) GTEST_SKIP() << "mcguard's own listeners";
    certificates_ = make_test_certificates();
    // The served files are copies, so a test can replace them under the server.
    cert_ = certificates_->dir + "/served-cert.pem";
    key_ = certificates_->dir + "/served-key.pem";
    fs::copy_file(certificates_->server_cert, cert_);
    fs::copy_file(certificates_->server_key, key_);
  }

  // mcguard with its usual TCP listener and a tls: one, plus `extra` options.
  void start(std::vector<std::string> extra = {}) {
    McguardOptions options;
    tls_port_ = pick_free_port();
    options.extra_args = {"--listen",   "tls:127.0.0.1:" + std::to_string(tls_port_),
                          "--tls-cert", cert_,
                          "--tls-key",  key_};
    options.extra_args.insert(options.extra_args.end(), extra.begin(), extra.end());
    std::string error;
    server_ = start_subject(&error, options);
    ASSERT_NE(server_, nullptr) << error;
    auto c = Client::connect(server_->port());
    ASSERT_TRUE(c.has_value());
    plain_ = std::move(*c);
    // The plain port accepts (into its backlog) before the server has opened
    // every listener; an answer means start-up is over.
    ASSERT_GE(stat("curr_connections"), 1);
  }

  std::unique_ptr<TlsTestClient> tls_client(const std::string& cert = "",
                                            const std::string& key = "") {
    std::string error;
    auto client = TlsTestClient::connect(tls_port_, certificates_->ca_cert, cert, key, &error);
    EXPECT_NE(client, nullptr) << error;
    return client;
  }

  long long stat(const std::string& name) { return stat_number(plain_, name); }

  // SIGHUP, and wait until the certificate re-read was counted either way.
  void reload_certificate() {
    const long long before =
        stat("mcguard_tls_certificate_reloads") + stat("mcguard_tls_certificate_failed_reloads");
    ASSERT_TRUE(server_->signal(SIGHUP));
    ASSERT_TRUE(poll_until(
        [&] {
          return stat("mcguard_tls_certificate_reloads") +
                     stat("mcguard_tls_certificate_failed_reloads") >
                 before;
        },
        milliseconds(10000)))
        << "SIGHUP was not handled";
  }

  std::unique_ptr<TestCertificates> certificates_;
  std::string cert_;
  std::string key_;
  uint16_t tls_port_ = 0;
  std::unique_ptr<ServerProcess> server_;
  Client plain_;
};

TEST_F(TlsClients, ServedOverTlsBesideTcpFromOneStore) {
  ASSERT_NO_FATAL_FAILURE(start());
  const long long idle_buffers = stat("mcguard_pool_buffers_in_use");
  auto tls = tls_client();
  ASSERT_NE(tls, nullptr);
  EXPECT_NE(tls->peer_subject().find(kServerCommonName), std::string::npos);

  ASSERT_TRUE(tls->send_all("set over-tls 7 0 5\r\nhello\r\n"));
  EXPECT_EQ(tls->read_until("\r\n"), "STORED\r\n");
  ASSERT_TRUE(plain_.send("get over-tls\r\n"));
  const std::string hello = "VALUE over-tls 7 5\r\nhello\r\nEND\r\n";
  EXPECT_EQ(plain_.read_exactly(hello.size()).bytes, hello);

  // A value of several pool buffers each way, and a pipeline of requests.
  std::string value(3 << 20, 'x');
  for (size_t i = 0; i < value.size(); i += 4099) value[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(
      tls->send_all("set big 0 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\n"));
  EXPECT_EQ(tls->read_until("\r\n", 20000), "STORED\r\n");
  std::string pipeline;
  for (int i = 0; i < 50; ++i) pipeline += "get big\r\n";
  ASSERT_TRUE(tls->send_all(pipeline));
  const std::string expected =
      "VALUE big 0 " + std::to_string(value.size()) + "\r\n" + value + "\r\nEND\r\n";
  for (int i = 0; i < 50; ++i) {
    const std::string reply = tls->read_exactly(expected.size(), 20000);
    ASSERT_EQ(reply.size(), expected.size()) << "reply " << i;
    ASSERT_TRUE(reply == expected) << "reply " << i << " differs";
  }
  EXPECT_GE(stat("mcguard_tls_handshakes"), 1);
  tls->close();
  // The session's buffers all go back once it is gone.
  long long in_use = -1;
  EXPECT_TRUE(poll_until(
      [&] {
        in_use = stat("mcguard_pool_buffers_in_use");
        return in_use <= idle_buffers;
      },
      milliseconds(5000)))
      << in_use << " buffers in use, " << idle_buffers << " when idle";
}

TEST_F(TlsClients, ClientCertificatesAreRequiredWhenAskedFor) {
  ASSERT_NO_FATAL_FAILURE(
      start({"--tls-ca", certificates_->ca_cert, "--tls-verify-client", "require"}));
  auto with = tls_client(certificates_->client_cert, certificates_->client_key);
  ASSERT_NE(with, nullptr);
  ASSERT_TRUE(with->send_all("version\r\n"));
  EXPECT_TRUE(with->read_until("\r\n").starts_with("VERSION "));

  // Without one the session is refused: at the handshake (TLS 1.2) or at the
  // first read, when the server has judged the client's (empty) certificate.
  std::string error;
  auto without = TlsTestClient::connect(tls_port_, certificates_->ca_cert, "", "", &error);
  if (without != nullptr) {
    without->send_all("version\r\n");
    EXPECT_TRUE(without->wait_for_close()) << "a client without a certificate was served";
    EXPECT_EQ(without->read_until("\r\n", 100).find("VERSION"), std::string::npos);
  }
  EXPECT_TRUE(poll_until([&] { return stat("mcguard_tls_failures") >= 1; }, milliseconds(5000)));
}

TEST_F(TlsClients, AnOptionalClientCertificateMayBeLeftOut) {
  ASSERT_NO_FATAL_FAILURE(
      start({"--tls-ca", certificates_->ca_cert, "--tls-verify-client", "optional"}));
  for (bool show : {false, true}) {
    auto client =
        show ? tls_client(certificates_->client_cert, certificates_->client_key) : tls_client();
    ASSERT_NE(client, nullptr);
    ASSERT_TRUE(client->send_all("version\r\n"));
    EXPECT_TRUE(client->read_until("\r\n").starts_with("VERSION ")) << "shown: " << show;
  }
}

TEST_F(TlsClients, APlaintextClientOnTheTlsPortIsClosedUnanswered) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (std::string_view request : {"get foo\r\n", "version\r\n", "set k 0 0 1\r\nx\r\n"}) {
    auto c = Client::connect(tls_port_);
    ASSERT_TRUE(c.has_value());
    ASSERT_TRUE(c->send(request));
    std::string received;
    EXPECT_TRUE(c->wait_for_close(milliseconds(5000), &received)) << request;
    EXPECT_EQ(received.find("END"), std::string::npos) << escape(received);
    EXPECT_EQ(received.find("VERSION"), std::string::npos) << escape(received);
    EXPECT_EQ(received.find("STORED"), std::string::npos) << escape(received);
  }
  EXPECT_GE(stat("mcguard_tls_failures"), 3);
  ASSERT_TRUE(plain_.send("get k\r\n"));
  EXPECT_EQ(plain_.read_exactly(5).bytes, "END\r\n") << "nothing was stored in plain text";
  auto tls = tls_client();
  ASSERT_NE(tls, nullptr);
  ASSERT_TRUE(tls->send_all("version\r\n"));
  EXPECT_TRUE(tls->read_until("\r\n").starts_with("VERSION "));
}

TEST_F(TlsClients, SighupPutsARenewedCertificateInForceAndKeepsItOverABrokenOne) {
  ASSERT_NO_FATAL_FAILURE(start());
  auto before = tls_client();
  ASSERT_NE(before, nullptr);
  EXPECT_NE(before->peer_subject().find(std::string("CN=") + kServerCommonName), std::string::npos);

  fs::copy_file(certificates_->server_cert2, cert_, fs::copy_options::overwrite_existing);
  fs::copy_file(certificates_->server_key2, key_, fs::copy_options::overwrite_existing);
  ASSERT_NO_FATAL_FAILURE(reload_certificate());
  EXPECT_EQ(stat("mcguard_tls_certificate_reloads"), 1);
  auto renewed = tls_client();
  ASSERT_NE(renewed, nullptr);
  EXPECT_NE(renewed->peer_subject().find(kServer2CommonName), std::string::npos)
      << renewed->peer_subject();
  // The session opened before the reload goes on.
  ASSERT_TRUE(before->send_all("version\r\n"));
  EXPECT_TRUE(before->read_until("\r\n").starts_with("VERSION "));

  // A broken file (a certificate without its key) keeps the renewed one.
  fs::copy_file(certificates_->server_cert, cert_, fs::copy_options::overwrite_existing);
  {
    std::FILE* file = std::fopen(key_.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs("-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n", file);
    std::fclose(file);
  }
  ASSERT_NO_FATAL_FAILURE(reload_certificate());
  EXPECT_EQ(stat("mcguard_tls_certificate_failed_reloads"), 1);
  auto after = tls_client();
  ASSERT_NE(after, nullptr);
  EXPECT_NE(after->peer_subject().find(kServer2CommonName), std::string::npos)
      << after->peer_subject();
  ASSERT_TRUE(after->send_all("version\r\n"));
  EXPECT_TRUE(after->read_until("\r\n").starts_with("VERSION "));
}

TEST_F(TlsClients, GarbageOnTheTlsPortNeverHarmsWhatIsStored) {
  ASSERT_NO_FATAL_FAILURE(start());
  ASSERT_TRUE(plain_.send("set kept 3 0 6\r\nsafe!!\r\n"));
  ASSERT_EQ(plain_.read_line().bytes, "STORED\r\n");
  const long long idle_buffers = stat("mcguard_pool_buffers_in_use");

  std::mt19937 random(20261206);
  for (int round = 0; round < 60; ++round) {
    auto c = Client::connect(tls_port_);
    ASSERT_TRUE(c.has_value());
    std::string bytes(1 + random() % 20000, '\0');
    for (char& b : bytes) b = static_cast<char>(random());
    // A TLS record starts with a content type of 20 to 23: anything else is
    // refused at its first byte, and the server closes.
    const bool record_like = round % 3 == 0;
    bytes[0] = record_like ? '\x16' : static_cast<char>('A' + round % 26);
    if (record_like && bytes.size() >= 3) bytes.replace(1, 2, "\x03\x03");
    c->send(bytes, milliseconds(2000));
    if (record_like) {
      // A record's length may promise more than was sent, so the server waits
      // for it: the client leaves with a reset instead.
      linger hard{1, 0};
      setsockopt(c->fd(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      c->close();
    } else {
      EXPECT_TRUE(c->wait_for_close(milliseconds(5000))) << "round " << round;
    }
  }
  // Sessions abandoned mid-handshake by TLS clients, too.
  for (int i = 0; i < 20; ++i) {
    auto c = Client::connect(tls_port_);
    ASSERT_TRUE(c.has_value());
    c->send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
    c->close();
  }
  EXPECT_TRUE(server_->running());
  ASSERT_TRUE(plain_.send("get kept\r\n"));
  EXPECT_EQ(plain_.read_exactly(29).bytes, "VALUE kept 3 6\r\nsafe!!\r\nEND\r\n");
  auto tls = tls_client();
  ASSERT_NE(tls, nullptr);
  ASSERT_TRUE(tls->send_all("get kept\r\n"));
  EXPECT_EQ(tls->read_exactly(29), "VALUE kept 3 6\r\nsafe!!\r\nEND\r\n");
  tls->close();
  long long in_use = -1;
  EXPECT_TRUE(poll_until(
      [&] {
        in_use = stat("mcguard_pool_buffers_in_use");
        return in_use <= idle_buffers && stat("curr_connections") == 1;
      },
      milliseconds(5000)))
      << in_use << " buffers in use, " << idle_buffers << " when idle; " << stat("curr_connections")
      << " connections";
}

TEST_F(TlsClients, IdleSessionsCostNoMoreThanTheBudgetSays) {
  ASSERT_NO_FATAL_FAILURE(start());
  constexpr int kSessions = 300;
  const long long per_session_budget = stat("mcguard_memory_per_tls_session");
  ASSERT_GT(per_session_budget, 0);
  const long rss_before = server_->rss_kib().value_or(-1);
  ASSERT_GT(rss_before, 0);
  const long long idle_buffers = stat("mcguard_pool_buffers_in_use");
  std::vector<std::unique_ptr<TlsTestClient>> sessions;
  for (int i = 0; i < kSessions; ++i) {
    sessions.push_back(tls_client());
    ASSERT_NE(sessions.back(), nullptr) << "session " << i;
    // One exchange each, so every session is established on the server too.
    ASSERT_TRUE(sessions.back()->send_all("version\r\n"));
    ASSERT_TRUE(sessions.back()->read_until("\r\n").starts_with("VERSION ")) << i;
  }
  const long rss_idle = server_->rss_kib().value_or(-1);
  // Idle sessions hold no pool buffer: their ciphertext buffers went back.
  EXPECT_TRUE(poll_until([&] { return stat("mcguard_pool_buffers_in_use") <= idle_buffers; },
                         milliseconds(5000)))
      << stat("mcguard_pool_buffers_in_use") << " buffers in use with " << kSessions
      << " idle sessions, " << idle_buffers << " before";
  const double per_session = (rss_idle - rss_before) * 1024.0 / kSessions;
  std::printf(
      "[ INFO     ] VmRSS %ld KiB before, %ld KiB with %d idle TLS sessions: %.0f bytes each"
      " (budget %lld per session, plus the connection's own)\n",
      rss_before, rss_idle, kSessions, per_session, per_session_budget);
  EXPECT_LT(per_session, static_cast<double>(per_session_budget));
  EXPECT_EQ(stat("mcguard_tls_handshakes"), kSessions);
}

}  // namespace
}  // namespace mcguard::e2e
