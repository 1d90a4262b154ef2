// Client TLS: what tls: listeners need from the configuration. The server
// context (certificate, key, client verification) is built once at start-up,
// where a file that does not load stops the process, and re-read at SIGHUP,
// where it does not (the old one stays). Each connection accepted on a tls:
// listener gets a TlsStream over its worker's pool.
#pragma once

#include <functional>
#include <memory>

#include "pool/buffer_pool.h"
#include "proxy/config.h"
#include "proxy/core/transport.h"
#include "proxy/tls/tls_context.h"

namespace mcguard {

bool has_tls_listener(const Settings& settings);

// Null when no listener is tls:. Throws std::runtime_error naming the file
// and OpenSSL's reason when the context cannot be built.
std::unique_ptr<tls::ServerContext> open_client_tls(const Settings& settings);

// The factory a worker's connections use (ConnectionContext::make_tls_transport).
std::function<std::unique_ptr<Transport>()> tls_transport_factory(BufferPool& pool,
                                                                  const tls::ServerContext& tls);

}  // namespace mcguard
