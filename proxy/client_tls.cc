#include "proxy/client_tls.h"

#include <stdexcept>
#include <string>

#include "proxy/tls/tls_stream.h"

namespace mcguard {
namespace {

tls::VerifyPeer verify_peer(TlsVerifyClient verify) {
  switch (verify) {
    case TlsVerifyClient::kOptional:
      return tls::VerifyPeer::kOptional;
    case TlsVerifyClient::kRequire:
      return tls::VerifyPeer::kRequire;
    case TlsVerifyClient::kNone:
      break;
  }
  return tls::VerifyPeer::kNone;
}

}  // namespace

bool has_tls_listener(const Settings& settings) {
  for (const ListenAddress& address : settings.listeners) {
    if (address.kind == ListenAddress::Kind::kTls) return true;
  }
  return false;
}

std::unique_ptr<tls::ServerContext> open_client_tls(const Settings& settings) {
  if (!has_tls_listener(settings)) return nullptr;
  tls::ServerOptions options;
  options.cert = settings.tls_cert;
  options.key = settings.tls_key;
  options.ca = settings.tls_ca;
  options.ciphers = settings.tls_ciphers;
  options.verify_client = verify_peer(settings.tls_verify_client);
  std::string error;
  auto context = tls::ServerContext::create(options, &error);
  if (context == nullptr) throw std::runtime_error("TLS for clients: " + error);
  return context;
}

std::function<std::unique_ptr<Transport>()> tls_transport_factory(BufferPool& pool,
                                                                  const tls::ServerContext& tls) {
  return [&pool, &tls]() -> std::unique_ptr<Transport> {
    return tls::TlsStream::accept(pool, tls.current());
  };
}

}  // namespace mcguard
