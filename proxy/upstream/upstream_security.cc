#include "proxy/upstream/upstream_security.h"

namespace mcguard {

std::unique_ptr<UpstreamSecurity> UpstreamSecurity::create(const UpstreamSecurityOptions& options,
                                                           std::string* error) {
  auto security = std::make_unique<UpstreamSecurity>();
  security->auth_file_ = options.auth_file;
  if (!options.auth_file.empty()) {
    std::optional<UpstreamCredentials> credentials = read_auth_file(options.auth_file, error);
    if (!credentials) return nullptr;
    security->credentials_.publish(std::move(*credentials));
  }
  if (options.tls) {
    std::string why;
    security->tls_ = tls::ClientContext::create(options.tls_options, &why);
    if (security->tls_ == nullptr) {
      *error = "upstream TLS: " + why;
      return nullptr;
    }
  }
  return security;
}

bool UpstreamSecurity::reload(std::string* error) {
  // The auth file first: a bad one leaves the TLS context as it was too.
  std::optional<UpstreamCredentials> credentials;
  if (!auth_file_.empty()) {
    credentials = read_auth_file(auth_file_, error);
    if (!credentials) return false;
  }
  if (tls_ != nullptr) {
    std::string why;
    if (!tls_->reload(&why)) {
      *error = "upstream TLS: " + why;
      return false;
    }
  }
  if (credentials) credentials_.publish(std::move(*credentials));
  return true;
}

}  // namespace mcguard
