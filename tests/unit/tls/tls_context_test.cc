// ServerContext and ClientContext: what they refuse at creation, and that a reload swaps the
// server context only when the new files load completely.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "tls_pair.h"

namespace mcguard::tls {
namespace {

using testing::client_options;
using testing::server_options;

class TlsContextTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = e2e::make_test_certificates().release(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  static e2e::TestCertificates* certs_;
};
e2e::TestCertificates* TlsContextTest::certs_ = nullptr;

void copy_file(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

TEST_F(TlsContextTest, ServerContextLoadsCertificateAndKey) {
  std::string error;
  auto server = ServerContext::create(server_options(*certs_), &error);
  ASSERT_NE(server, nullptr) << error;
  EXPECT_NE(server->current(), nullptr);
}

TEST_F(TlsContextTest, MissingCertificateIsNamed) {
  ServerOptions options = server_options(*certs_);
  options.cert = certs_->dir + "/no-such.pem";
  std::string error;
  EXPECT_EQ(ServerContext::create(options, &error), nullptr);
  EXPECT_NE(error.find("no-such.pem"), std::string::npos) << error;
}

TEST_F(TlsContextTest, KeyOfAnotherCertificateIsRefused) {
  ServerOptions options = server_options(*certs_);
  options.key = certs_->server_key2;
  std::string error;
  EXPECT_EQ(ServerContext::create(options, &error), nullptr);
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
}

TEST_F(TlsContextTest, InvalidCipherListIsRefused) {
  ServerOptions options = server_options(*certs_);
  options.ciphers = "NOT-A-CIPHER";
  std::string error;
  EXPECT_EQ(ServerContext::create(options, &error), nullptr);
  EXPECT_NE(error.find("cipher"), std::string::npos) << error;

  ClientOptions client = client_options(*certs_);
  client.ciphers = "NOT-A-CIPHER";
  EXPECT_EQ(ClientContext::create(client, &error), nullptr);
  EXPECT_NE(error.find("cipher"), std::string::npos) << error;
}

TEST_F(TlsContextTest, VerifyingClientsNeedsCa) {
  ServerOptions options = server_options(*certs_, VerifyPeer::kRequire);
  options.ca.clear();
  std::string error;
  EXPECT_EQ(ServerContext::create(options, &error), nullptr);
  EXPECT_NE(error.find("CA"), std::string::npos) << error;
}

TEST_F(TlsContextTest, ClientCertificateWithoutKeyIsRefused) {
  ClientOptions options = client_options(*certs_);
  options.cert = certs_->client_cert;
  std::string error;
  EXPECT_EQ(ClientContext::create(options, &error), nullptr);
  EXPECT_FALSE(error.empty());
}

TEST_F(TlsContextTest, ClientContextWithSystemTrustStore) {
  ClientOptions options;  // no CA: the system's
  std::string error;
  EXPECT_NE(ClientContext::create(options, &error), nullptr) << error;
}

TEST_F(TlsContextTest, ReloadKeepsOldContextOnBadFileAndSwapsOnGoodOne) {
  // The context reads its own copies, which the test then replaces as an operator would.
  const std::string cert = certs_->dir + "/reload-cert.pem";
  const std::string key = certs_->dir + "/reload-key.pem";
  copy_file(certs_->server_cert, cert);
  copy_file(certs_->server_key, key);
  ServerOptions options = server_options(*certs_);
  options.cert = cert;
  options.key = key;
  std::string error;
  auto server = ServerContext::create(options, &error);
  ASSERT_NE(server, nullptr) << error;
  const std::shared_ptr<SSL_CTX> first = server->current();

  write_file(cert, "not a certificate\n");
  EXPECT_FALSE(server->reload(&error));
  EXPECT_NE(error.find(cert), std::string::npos) << error;
  EXPECT_EQ(server->current(), first);

  // A good certificate with the old key: they do not match, so nothing changes.
  copy_file(certs_->server_cert2, cert);
  EXPECT_FALSE(server->reload(&error));
  EXPECT_NE(error.find("does not match"), std::string::npos) << error;
  EXPECT_EQ(server->current(), first);

  copy_file(certs_->server_key2, key);
  ASSERT_TRUE(server->reload(&error)) << error;
  EXPECT_NE(server->current(), first);

  // New sessions present the new certificate; `first` lives on while anyone holds it.
  BufferPool pool(8, 4096);
  auto client = ClientContext::create(client_options(*certs_), &error);
  ASSERT_NE(client, nullptr) << error;
  testing::TlsPair pair = testing::make_pair(pool, *server, *client);
  ASSERT_TRUE(pair.handshake()) << pair.client->failure() << pair.server->failure();
  EXPECT_NE(pair.client->peer_subject().find(std::string("CN=") + e2e::kServer2CommonName),
            std::string::npos)
      << pair.client->peer_subject();
}

TEST_F(TlsContextTest, SessionsOnTheOldContextSurviveReload) {
  const std::string cert = certs_->dir + "/survive-cert.pem";
  const std::string key = certs_->dir + "/survive-key.pem";
  copy_file(certs_->server_cert, cert);
  copy_file(certs_->server_key, key);
  ServerOptions options = server_options(*certs_);
  options.cert = cert;
  options.key = key;
  std::string error;
  auto server = ServerContext::create(options, &error);
  auto client = ClientContext::create(client_options(*certs_), &error);
  ASSERT_TRUE(server && client) << error;
  BufferPool pool(8, 4096);
  testing::TlsPair pair = testing::make_pair(pool, *server, *client);
  ASSERT_TRUE(pair.handshake());

  copy_file(certs_->server_cert2, cert);
  copy_file(certs_->server_key2, key);
  ASSERT_TRUE(server->reload(&error)) << error;

  const std::string request = "get foo\r\n";
  const iovec iov{const_cast<char*>(request.data()), request.size()};
  ASSERT_EQ(pair.client->write_plain(&iov, 1), request.size());
  pair.pump();
  EXPECT_EQ(pair.server_received, request);
}

TEST_F(TlsContextTest, KernelTlsProbeSaysWhy) {
  std::string why;
  const bool available = kernel_tls_available(&why);
  std::printf("INFO kernel TLS available: %s%s%s\n", available ? "yes" : "no",
              why.empty() ? "" : " — ", why.c_str());
  if (!available) {
    EXPECT_FALSE(why.empty());
  }
}

}  // namespace
}  // namespace mcguard::tls

namespace mcguard::tls {
namespace {

// Workers take the current context at each accept while SIGHUP reloads it, and upstream
// connections on several workers share one ClientContext's session cache (run under TSan).
TEST_F(TlsContextTest, ConcurrentAcceptsReloadsAndResumptions) {
  std::string error;
  auto server = ServerContext::create(server_options(*certs_), &error);
  auto client = ClientContext::create(client_options(*certs_), &error);
  ASSERT_TRUE(server && client) << error;
  std::atomic<int> handshakes{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int worker = 0; worker < 2; ++worker) {
    workers.emplace_back([&, worker] {
      BufferPool pool(8, 4096);  // one pool per worker, as in the proxy
      const std::string key = "upstream-" + std::to_string(worker % 2);
      while (!stop) {
        testing::TlsPair pair = testing::make_pair(pool, *server, *client, "localhost", key);
        if (pair.handshake()) ++handshakes;
      }
    });
  }
  for (int reload = 0; reload < 20; ++reload) {
    EXPECT_TRUE(server->reload(&error)) << error;
    if (reload % 5 == 0) {
      EXPECT_TRUE(client->reload(&error)) << error;
    }
  }
  // Let the workers finish some handshakes whatever the scheduling, within a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (handshakes < 20 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  stop = true;
  for (auto& thread : workers) thread.join();
  EXPECT_GE(handshakes, 20);
}

}  // namespace
}  // namespace mcguard::tls
