// Test helpers for TlsStream: a server and a client stream joined in memory, with the wire
// output of each moved into the other's put_wire, and the plaintext each side decrypts gathered
// into a string. Nothing touches a socket, so every step is deterministic.
#pragma once

#include <memory>
#include <string>

#include "pool/buffer_pool.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_stream.h"
#include "tls_support.h"

namespace mcguard::tls::testing {

// Moves `from`'s pending wire output into `to` as far as `to` takes it; returns the bytes moved.
size_t shuttle(TlsStream& from, TlsStream& to);

struct TlsPair {
  std::unique_ptr<TlsStream> server;
  std::unique_ptr<TlsStream> client;
  std::string server_received;  // plaintext the server decrypted
  std::string client_received;  // plaintext the client decrypted

  // Moves bytes both ways and decrypts on both sides until nothing moves any more.
  void pump();
  // pump(), then true when both handshakes finished and neither side failed.
  bool handshake();
};

// Server options with the test CA's server certificate (and the CA for client certificates).
ServerOptions server_options(const e2e::TestCertificates& certs,
                             VerifyPeer verify = VerifyPeer::kNone);
// Client options trusting the test CA.
ClientOptions client_options(const e2e::TestCertificates& certs);

// A pair over `pool`: the server from `server`, the client towards `host` from `client`.
TlsPair make_pair(BufferPool& pool, ServerContext& server, ClientContext& client,
                  const std::string& host = "localhost", const std::string& session_key = "");

}  // namespace mcguard::tls::testing
