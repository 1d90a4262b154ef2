#include "tls_pair.h"

#include <sys/uio.h>

namespace mcguard::tls::testing {

size_t shuttle(TlsStream& from, TlsStream& to) {
  size_t moved = 0;
  while (from.has_wire_output()) {
    iovec iov[4];
    const size_t count = from.wire_output(iov, 4);
    if (count == 0) break;
    const size_t taken = to.put_wire(static_cast<const char*>(iov[0].iov_base), iov[0].iov_len);
    if (taken == 0) break;
    from.wire_sent(taken);
    moved += taken;
  }
  return moved;
}

namespace {

// Decrypts everything `stream` can give now into `into`; returns the bytes gained.
size_t drain_plain(TlsStream& stream, std::string& into) {
  size_t gained = 0;
  char buffer[16 * 1024];
  while (true) {
    const size_t got = stream.read_plain(buffer, sizeof buffer);
    if (got == 0) break;
    into.append(buffer, got);
    gained += got;
  }
  return gained;
}

}  // namespace

void TlsPair::pump() {
  for (int round = 0; round < 10000; ++round) {
    size_t progress = shuttle(*client, *server);
    progress += drain_plain(*server, server_received);
    progress += shuttle(*server, *client);
    progress += drain_plain(*client, client_received);
    if (progress == 0) return;
  }
}

bool TlsPair::handshake() {
  pump();
  return server->handshake_done() && client->handshake_done() &&
         server->status() == Transport::Status::kOpen &&
         client->status() == Transport::Status::kOpen;
}

ServerOptions server_options(const e2e::TestCertificates& certs, VerifyPeer verify) {
  ServerOptions options;
  options.cert = certs.server_cert;
  options.key = certs.server_key;
  options.ca = certs.ca_cert;
  options.verify_client = verify;
  return options;
}

ClientOptions client_options(const e2e::TestCertificates& certs) {
  ClientOptions options;
  options.ca = certs.ca_cert;
  return options;
}

TlsPair make_pair(BufferPool& pool, ServerContext& server, ClientContext& client,
                  const std::string& host, const std::string& session_key) {
  TlsPair pair;
  pair.server = TlsStream::accept(pool, server.current());
  pair.client = TlsStream::connect(pool, client, host, session_key);
  return pair;
}

}  // namespace mcguard::tls::testing
