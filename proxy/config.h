// Settings: mcguard's whole configuration, read once at start-up from the
// command line and an INI file (the command line wins). parse_settings never
// exits the process; it says whether to run, print and exit, or fail, and why.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/limits.h"
#include "proxy/core/units.h"
#include "proxy/io/engine.h"
#include "proxy/upstream/ketama.h"
#include "proxy/upstream/upstream_server.h"

namespace mcguard {

// One address clients connect to: HOST:PORT, [IPv6]:PORT, unix:PATH or tls:HOST:PORT.
struct ListenAddress {
  enum class Kind { kTcp, kUnix, kTls };
  Kind kind = Kind::kTcp;
  std::string host;  // kTcp, kTls
  uint16_t port = 0;
  std::string path;  // kUnix
};

// --tls-verify-client: whether clients of tls: listeners must show a certificate.
enum class TlsVerifyClient { kNone, kOptional, kRequire };

struct Settings {
  // Every listener, in the order given (--listen, -l/-p, -s). When none is
  // given: one TCP listener on 127.0.0.1:11211.
  std::vector<ListenAddress> listeners;
  // The first TCP listener's host and port (`stats settings` inter and
  // tcpport); port 0 when there is no TCP listener.
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 11211;
  uint32_t unix_mask = 0700;  // -a/--unix-mask: the mode of unix: listeners' socket files
  // TLS for clients of tls: listeners.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;       // client certificates are verified against it
  std::string tls_ciphers;  // empty: OpenSSL's defaults
  TlsVerifyClient tls_verify_client = TlsVerifyClient::kNone;
  // TLS and authentication towards upstream memcached.
  bool upstream_tls = false;
  std::string upstream_tls_ca;  // empty: the system trust store
  std::string upstream_tls_cert;
  std::string upstream_tls_key;
  std::string upstream_tls_server_name;  // empty: each upstream's host
  std::string upstream_auth_file;        // one user:password line (memcached -Y format)
  // --reuse-port: let other processes bind the address too (each of this process's
  // workers always has its own SO_REUSEPORT socket; this only stops the refusal).
  bool reuse_port = false;
  uint32_t threads = 0;  // 0: one per core
  uint32_t max_connections = 10000;
  uint64_t max_value_size = 8ull << 20;
  uint64_t memory_limit = 64ull << 20;
  uint32_t buffer_size = 64u << 10;
  uint64_t pool_size = 0;  // 0: 32 MiB per worker
  uint64_t max_reply_backlog = 4ull << 20;
  int64_t pool_wait_timeout_ms = 2000;
  int64_t slow_client_timeout_ms = 30000;
  int64_t idle_timeout_ms = 0;  // 0: off
  // Sends at least this large go zero-copy (io_uring SENDMSG_ZC); 0: off.
  uint64_t zerocopy_threshold = 0;
  // Share of each worker's pool that value chains may hold; the rest stays for
  // receive and reply buffers, so chains can never starve every connection.
  double chain_share = 0.75;
  uint32_t chain_buffers = 0;  // explicit count instead of the share (0: use the share)
  bool chain_share_given = false;
  uint32_t chain_buffer_limit() const {
    if (chain_buffers != 0) return chain_buffers;
    const auto shared = static_cast<uint32_t>(buffers_per_worker() * chain_share);
    // The default share grows to hold one max-size value in a small pool.
    return chain_share_given ? shared : std::max(shared, buffers_per_max_value());
  }
  // Most one client connection's value chains may hold at once, buffers the
  // tier still holds for it included (0: derived, see below).
  uint64_t max_connection_chain = 0;
  uint32_t connection_chain_buffer_limit() const {
    if (max_connection_chain != 0) {
      return static_cast<uint32_t>(
          std::min<uint64_t>(max_connection_chain / buffer_size, UINT32_MAX));
    }
    // A quarter of the chains' share, so one client leaves the rest to at
    // least three others, but never less than one max-size value.
    return std::max(chain_buffer_limit() / 4, buffers_per_max_value());
  }
  // Upstream tier (empty: the embedded tier serves).
  std::vector<UpstreamAddress> upstreams;
  uint32_t upstream_connections = 1;
  int64_t upstream_timeout_ms = 1000;
  uint32_t upstream_failure_limit = 3;
  bool upstream_failover = false;
  int64_t upstream_retry_ms = 1000;
  uint32_t upstream_max_pending = 4096;  // replies awaited per worker
  // Memory for replies awaited from upstreams, in small buffers so that many
  // small pipelined replies do not each hold a whole I/O buffer. 0: 16 MiB per
  // worker, or four max-size values (each with 1 MiB) if that is more.
  uint64_t reply_pool_size = 0;
  static constexpr uint32_t kReplyBufferSize = 4096;
  uint32_t reply_buffers_per_worker() const {
    return static_cast<uint32_t>(reply_pool_size / threads / kReplyBufferSize);
  }
  bool delete_on_reject = true;
  // Values over the upstreams' item limit (their memcached -I) are split into chunks.
  uint64_t upstream_item_size_max = 0;  // 0: auto (each upstream's `stats settings`)
  SplitMode upstream_split = SplitMode::kOn;
  int64_t upstream_split_grace_ms = 2000;
  // The largest value stored as one item: found by the Server at start-up
  // (proxy/upstream/item_size_probe.h) before the workers copy it; 0 until then.
  uint64_t upstream_split_threshold = 0;
  // I/O engine: auto tries io_uring and falls back to epoll where it is refused.
  using IoEngine = mcguard::IoEngine;
  IoEngine io_engine = IoEngine::kAuto;
  // io_uring receive buffers per worker (a power of two) and their size.
  uint32_t uring_recv_buffers = 256;
  uint32_t uring_recv_buffer_size = 16u << 10;

  std::string config_path;
  std::string log_level = "info";
  std::string log_format = "text";  // text or json

  // Operations (admin listener, limit policy, drain). max_value_size above is
  // the ceiling every buffer is sized for: the largest of the limits, or
  // --value-ceiling; the limits themselves (reloadable at SIGHUP) are these.
  bool admin_enabled = true;
  std::string admin_host = "127.0.0.1";
  uint16_t admin_port = 11299;
  LimitMode limit_mode = LimitMode::kEnforce;
  uint64_t value_limit = 8ull << 20;       // --max-value-size: keys matching no prefix
  uint64_t value_ceiling = 0;              // --value-ceiling (0: derived)
  std::vector<PrefixLimit> prefix_limits;  // `limit = PREFIX: SIZE`
  int64_t drain_timeout_ms = 10000;
  bool check_config = false;

  // Derived once validated.
  uint32_t buffers_per_worker() const {
    return static_cast<uint32_t>(pool_size / threads / buffer_size);
  }
  // Buffers one value of max_value_size occupies, with its "\r\n".
  uint32_t buffers_per_max_value() const {
    return static_cast<uint32_t>((max_value_size + 2 + buffer_size - 1) / buffer_size);
  }
};

struct SettingsResult {
  enum class Action { kRun, kPrintAndExit, kFail };
  Action action = Action::kRun;
  Settings settings;
  std::string message;  // kPrintAndExit: text for stdout; kFail: one-line error
};

// `a` as --listen spells it: HOST:PORT, [IPv6]:PORT, unix:PATH or tls:HOST:PORT.
std::string listen_address_text(const ListenAddress& a);

// `default_config` is read when --config is not given and the file exists.
SettingsResult parse_settings(int argc, const char* const* argv, const std::string& default_config);

}  // namespace mcguard
