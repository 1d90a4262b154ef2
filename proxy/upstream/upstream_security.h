// UpstreamSecurity: what each new upstream connection needs before it may
// carry requests: the TLS client context (null: plaintext) and the
// credentials it authenticates with (none: no authentication). One per
// process, shared by every worker's connections; reload() (SIGHUP) re-reads
// the files and changes nothing unless all of them load.
#pragma once

#include <memory>
#include <string>

#include "proxy/tls/tls_context.h"
#include "proxy/upstream/auth_file.h"

namespace mcguard {

struct UpstreamSecurityOptions {
  bool tls = false;
  tls::ClientOptions tls_options;
  std::string auth_file;  // empty: no authentication
};

class UpstreamSecurity {
 public:
  // Null with `error` when the TLS files or the auth file cannot be used.
  static std::unique_ptr<UpstreamSecurity> create(const UpstreamSecurityOptions& options,
                                                  std::string* error);
  bool reload(std::string* error);

  tls::ClientContext* tls() const { return tls_.get(); }
  // Null when connections do not authenticate.
  std::shared_ptr<const UpstreamCredentials> credentials() const { return credentials_.load(); }
  const std::string& auth_file() const { return auth_file_; }

 private:
  std::unique_ptr<tls::ClientContext> tls_;
  CredentialsBox credentials_;
  std::string auth_file_;
};

}  // namespace mcguard
