#include "proxy/config.h"

#include <bit>
#include <boost/program_options.hpp>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "proxy/core/version.h"
#include "proxy/upstream/item_size_probe.h"

namespace po = boost::program_options;

namespace mcguard {
namespace {

constexpr uint64_t kDefaultPoolPerWorker = 32ull << 20;
// A value's iovecs must fit one writev (IOV_MAX) with its header and trailer.
constexpr uint32_t kMaxChainBuffers = 1000;
// Receive and reply buffers a worker needs beside one max-size value.
constexpr uint32_t kMinSpareBuffers = 16;

struct Failure {
  std::string message;
};

uint64_t size_or_throw(const std::string& name, const std::string& text, uint64_t plain_unit) {
  auto bytes = parse_byte_size(text, plain_unit);
  if (!bytes) throw Failure{"invalid size for --" + name + ": '" + text + "'"};
  return *bytes;
}

// HOST:PORT or [IPv6]:PORT (the brackets dropped from the host); nullopt when malformed.
std::optional<std::pair<std::string, uint16_t>> parse_host_port(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("[]") != std::string::npos) {
    return std::nullopt;
  }
  unsigned port = 0;
  const auto port_text = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (host.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535) {
    return std::nullopt;
  }
  return std::pair{host, static_cast<uint16_t>(port)};
}

// One --listen value: HOST:PORT, [IPv6]:PORT, unix:PATH or tls:HOST:PORT.
ListenAddress parse_listen(const std::string& text) {
  constexpr std::string_view kUnix = "unix:";
  constexpr std::string_view kTls = "tls:";
  ListenAddress address;
  std::string_view rest = text;
  if (rest.starts_with(kUnix)) {
    address.kind = ListenAddress::Kind::kUnix;
    address.path = text.substr(kUnix.size());
    return address;
  }
  if (rest.starts_with(kTls)) {
    address.kind = ListenAddress::Kind::kTls;
    rest.remove_prefix(kTls.size());
  }
  auto host_port = parse_host_port(rest);
  if (!host_port) {
    throw Failure{"--listen wants HOST:PORT, [IPv6]:PORT, unix:PATH or tls:HOST:PORT, got '" +
                  text + "'"};
  }
  address.host = host_port->first;
  address.port = host_port->second;
  return address;
}

po::options_description option_set() {
  po::options_description options("Options");
  auto add = options.add_options();
  // Sizes and durations are strings so that their suffixes parse the same everywhere.
  add("help,h", "print this help and exit");
  add("version", "print the version and exit");
  add("config", po::value<std::string>(), "INI file with these options (command line wins)");
  add("listen", po::value<std::vector<std::string>>()->composing(),
      "HOST:PORT, [IPv6]:PORT, unix:PATH or tls:HOST:PORT to serve (repeatable; default "
      "127.0.0.1:11211 when no listener is given)");
  add("listen-host,l", po::value<std::string>(),
      "HOST of a TCP listener (memcached's -l; port from -p or 11211)");
  add("port,p", po::value<unsigned>(),
      "PORT of a TCP listener (memcached's -p; host from -l or 127.0.0.1)");
  add("unix-socket,s", po::value<std::string>(),
      "PATH of a UNIX socket to serve (memcached's -s); alone, it replaces the default TCP "
      "listener");
  add("unix-mask,a", po::value<std::string>(),
      "octal mode of every UNIX socket file (memcached's -a; default 0700)");
  add("tls-cert", po::value<std::string>(),
      "PEM certificate chain of tls: listeners (required with a tls: listener)");
  add("tls-key", po::value<std::string>(),
      "PEM private key of tls: listeners (required with a tls: listener)");
  add("tls-ca", po::value<std::string>(),
      "PEM CA bundle that client certificates are checked against");
  add("tls-verify-client", po::value<std::string>(),
      "none|optional|require: ask tls: clients for a certificate and check it against --tls-ca "
      "(default none)");
  add("tls-ciphers", po::value<std::string>(),
      "OpenSSL cipher list for TLS 1.2 on tls: listeners (default: OpenSSL's)");
  add("reuse-port", po::bool_switch(),
      "start even when another process holds the listening address, and share it (hand-over "
      "restarts: the new mcguard joins the old one's sockets, which allow it); without it, "
      "start-up fails when the address is taken");
  add("threads,t", po::value<unsigned>(), "worker threads (default: number of cores)");
  add("max-connections,c", po::value<unsigned>(),
      "client connections held at once (default 10000)");
  add("max-value-size,I", po::value<std::string>(), "largest value accepted (default 8m)");
  add("memory-limit,m", po::value<std::string>(),
      "embedded cache memory; a plain number is megabytes (default 64m)");
  add("buffer-size", po::value<std::string>(), "size of one I/O buffer (default 64k)");
  add("pool-size", po::value<std::string>(),
      "I/O buffer memory of the whole process, split across workers (default 32m per worker)");
  add("max-reply-backlog", po::value<std::string>(),
      "unsent reply bytes per connection before it stops reading (default 4m)");
  add("pool-wait-timeout", po::value<std::string>(),
      "how long a value waits for pool buffers before SERVER_ERROR out of memory (default 2s)");
  add("slow-client-timeout", po::value<std::string>(),
      "close a client that has not delivered a whole value or request line by then (default 30s)");
  add("zerocopy-threshold", po::value<std::string>(),
      "sends at least this large go zero-copy, io_uring engine (default 0: off)");
  add("idle-timeout", po::value<std::string>(),
      "close connections idle this long (default 0: off)");
  add("chain-share", po::value<std::string>(),
      "fraction (0.75) or count of each worker's buffers that value chains may hold");
  add("max-connection-chain", po::value<std::string>(),
      "most of the pool one client connection may hold in value chains at once, its values the "
      "upstream tier is still sending included; past it that client waits (default: a quarter "
      "of the chains' share, at least one max-size value)");
  add("upstream", po::value<std::vector<std::string>>()->composing(),
      "memcached server HOST:PORT[:WEIGHT] to forward to (repeatable); none: embedded cache");
  add("upstream-connections", po::value<unsigned>(),
      "connections per upstream per worker (default 1)");
  add("upstream-timeout", po::value<std::string>(),
      "connect and reply timeout for upstreams (default 1s)");
  add("upstream-failure-limit", po::value<unsigned>(),
      "consecutive failures that mark an upstream down (default 3)");
  add("upstream-failover", po::bool_switch(),
      "send a down upstream's keys to the next server on the ring");
  add("upstream-retry", po::value<std::string>(),
      "first retry delay for a down upstream, doubling up to 30s (default 1s)");
  add("reply-pool-size", po::value<std::string>(),
      "upstream mode: memory for awaited replies, split across workers (default: per worker 16m or "
      "4 x (max-value-size + 1m), the larger)");
  add("upstream-max-pending", po::value<unsigned>(),
      "upstream replies awaited at once per worker (default 4096)");
  add("upstream-item-size-max", po::value<std::string>(),
      "SIZE|auto: the upstreams' item size limit (their memcached -I); larger values are split "
      "into chunks. auto reads each upstream's stats settings at start-up and takes the "
      "smallest (default auto)");
  add("upstream-split", po::value<std::string>(),
      "on|read-only|off: store values over the upstreams' item limit as chunks; read-only reads "
      "split values but writes none (default on)");
  add("upstream-split-grace", po::value<std::string>(),
      "how long an overwritten or deleted split value's chunks outlive its index, so reads "
      "already under way finish whole; 0 deletes them at once (default 2s)");
  add("upstream-tls", po::bool_switch(),
      "speak TLS to every upstream, verifying its certificate (never falls back to plaintext)");
  add("upstream-tls-ca", po::value<std::string>(),
      "PEM CA bundle upstream certificates are verified against instead of the system store "
      "(implies --upstream-tls)");
  add("upstream-tls-cert", po::value<std::string>(),
      "PEM client certificate shown to upstreams, with --upstream-tls-key (implies "
      "--upstream-tls)");
  add("upstream-tls-key", po::value<std::string>(),
      "PEM private key of --upstream-tls-cert (implies --upstream-tls)");
  add("upstream-tls-server-name", po::value<std::string>(),
      "name verified in upstream certificates and sent as SNI (default: each upstream's host; "
      "implies --upstream-tls)");
  add("upstream-auth-file", po::value<std::string>(),
      "file with one user:password line (memcached's -Y format) to authenticate to upstreams; "
      "must not be readable by others");
  add("on-reject", po::value<std::string>(),
      "delete|keep: after rejecting an oversized set, delete the key upstream (default delete)");
  add("io-engine", po::value<std::string>(),
      "auto|uring|epoll: auto uses io_uring where the kernel allows it, else epoll (default auto)");
  add("uring-recv-buffers", po::value<unsigned>(),
      "io_uring engine: receive buffers per worker, rounded up to a power of two (default 256)");
  add("uring-recv-buffer-size", po::value<std::string>(),
      "io_uring engine: size of one receive buffer (default 16k)");
  add("log-level", po::value<std::string>(),
      "trace, debug, info, warn, error or off (default info)");
  add("log-format", po::value<std::string>(), "text|json: one log line per event (default text)");
  add("admin", po::value<std::string>(),
      "HOST:PORT of the HTTP listener for /metrics, /healthz, /readyz, or off "
      "(default 127.0.0.1:11299)");
  add("limit-mode", po::value<std::string>(),
      "enforce|observe: observe counts and logs values over their limit and lets them through "
      "(default enforce)");
  add("limit", po::value<std::vector<std::string>>()->composing(),
      "PREFIX: SIZE, a value limit for keys starting with PREFIX (repeatable; longest prefix "
      "wins; other keys get --max-value-size)");
  add("value-ceiling", po::value<std::string>(),
      "largest value ever let through, in either mode; buffers are sized for it (default: the "
      "largest limit; in observe mode at least 8m)");
  add("drain-timeout", po::value<std::string>(),
      "on SIGTERM/SIGINT, how long in-flight requests may take to finish (default 10s)");
  add("check-config", po::bool_switch(),
      "validate the configuration, print a summary of the limits and exit (0: valid, 2: not)");
  return options;
}

// --admin, --limit*, --value-ceiling, --drain-timeout, --log-format, --check-config.
void apply_operations_options(const po::variables_map& vm, Settings& s) {
  if (vm.count("log-format")) {
    s.log_format = vm["log-format"].as<std::string>();
    if (s.log_format != "text" && s.log_format != "json") {
      throw Failure{"--log-format must be text or json"};
    }
  }
  if (vm.count("admin")) {
    const auto text = vm["admin"].as<std::string>();
    if (text == "off") {
      s.admin_enabled = false;
    } else {
      const auto host_port = parse_host_port(text);
      if (!host_port) throw Failure{"--admin wants HOST:PORT or off, got '" + text + "'"};
      s.admin_enabled = true;
      s.admin_host = host_port->first;
      s.admin_port = host_port->second;
    }
  }
  if (vm.count("limit-mode")) {
    const auto mode = vm["limit-mode"].as<std::string>();
    if (mode != "enforce" && mode != "observe") {
      throw Failure{"--limit-mode must be enforce or observe"};
    }
    s.limit_mode = mode == "observe" ? LimitMode::kObserve : LimitMode::kEnforce;
  }
  if (vm.count("limit")) {
    for (const std::string& text : vm["limit"].as<std::vector<std::string>>()) {
      auto limit = parse_prefix_limit(text);
      if (!limit) throw Failure{"--limit wants 'PREFIX: SIZE', got '" + text + "'"};
      for (const PrefixLimit& other : s.prefix_limits) {
        if (other.prefix == limit->prefix) {
          throw Failure{"prefix '" + limit->prefix + "' has two limits"};
        }
      }
      s.prefix_limits.push_back(*limit);
    }
  }
  if (vm.count("value-ceiling")) {
    s.value_ceiling = size_or_throw("value-ceiling", vm["value-ceiling"].as<std::string>(), 1);
  }
  if (vm.count("drain-timeout")) {
    const auto text = vm["drain-timeout"].as<std::string>();
    const auto ms = parse_duration_ms(text);
    if (!ms) throw Failure{"invalid duration for --drain-timeout: '" + text + "'"};
    s.drain_timeout_ms = *ms;
  }
  if (vm.count("check-config")) s.check_config = vm["check-config"].as<bool>();
}

// The limits are what --max-value-size and the prefix limits say; the ceiling
// that buffers, chains and the store are sized for (max_value_size from here
// on) is the largest of them, or --value-ceiling. Observe mode lets values over
// their limit through, so its ceiling defaults to at least 8m.
void derive_value_ceiling(Settings& s) {
  constexpr uint64_t kObserveCeiling = 8ull << 20;
  s.value_limit = s.max_value_size;
  uint64_t largest = s.value_limit;
  for (const PrefixLimit& limit : s.prefix_limits) largest = std::max(largest, limit.limit);
  if (s.value_ceiling != 0) {
    if (s.value_ceiling < largest) {
      throw Failure{"--value-ceiling " + std::to_string(s.value_ceiling) +
                    " is below the largest limit, " + std::to_string(largest)};
    }
    s.max_value_size = s.value_ceiling;
    return;
  }
  s.max_value_size = largest;
  if (s.limit_mode == LimitMode::kObserve && largest < kObserveCeiling) {
    uint64_t ceiling = kObserveCeiling;
    // The embedded store must still hold one value of the ceiling.
    if (s.upstreams.empty() && s.memory_limit > 1024)
      ceiling = std::min(ceiling, s.memory_limit - 1024);
    s.max_value_size = std::max(largest, ceiling);
  }
}

// Where clients connect and how many may. Listeners come in this order:
// every --listen (file and command line add up), the TCP one -l/-p name, then
// -s. With none at all, the default TCP listener; -s alone replaces it, as a
// UNIX socket turns memcached's network listener off.
void apply_listen_options(const po::variables_map& vm, Settings& s) {
  s.listeners.clear();
  if (vm.count("listen")) {
    for (const std::string& text : vm["listen"].as<std::vector<std::string>>()) {
      s.listeners.push_back(parse_listen(text));
    }
  }
  if (vm.count("listen-host") || vm.count("port")) {
    ListenAddress tcp;
    tcp.host = vm.count("listen-host") ? vm["listen-host"].as<std::string>() : "127.0.0.1";
    tcp.port = 11211;
    if (vm.count("port")) {
      unsigned port = vm["port"].as<unsigned>();
      if (port > 65535) throw Failure{"--port out of range: " + std::to_string(port)};
      tcp.port = static_cast<uint16_t>(port);
    }
    if (tcp.host.empty()) throw Failure{"--listen-host must not be empty"};
    s.listeners.push_back(tcp);
  }
  if (vm.count("unix-socket")) {
    ListenAddress unix_socket;
    unix_socket.kind = ListenAddress::Kind::kUnix;
    unix_socket.path = vm["unix-socket"].as<std::string>();
    s.listeners.push_back(unix_socket);
  }
  if (s.listeners.empty())
    s.listeners.push_back(ListenAddress{ListenAddress::Kind::kTcp, "127.0.0.1", 11211, {}});
  if (vm.count("unix-mask")) {
    const auto text = vm["unix-mask"].as<std::string>();
    unsigned mask = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), mask, 8);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || mask > 0777) {
      throw Failure{"--unix-mask wants an octal mode of at most 0777, got '" + text + "'"};
    }
    s.unix_mask = mask;
  }
  if (vm.count("reuse-port")) s.reuse_port = vm["reuse-port"].as<bool>();
  if (vm.count("threads")) s.threads = vm["threads"].as<unsigned>();
  if (vm.count("max-connections")) s.max_connections = vm["max-connections"].as<unsigned>();
}

// --tls-*: what tls: listeners present to clients and ask of them.
void apply_tls_options(const po::variables_map& vm, Settings& s) {
  for (auto [name, target] :
       {std::pair{"tls-cert", &s.tls_cert}, std::pair{"tls-key", &s.tls_key},
        std::pair{"tls-ca", &s.tls_ca}, std::pair{"tls-ciphers", &s.tls_ciphers}}) {
    if (vm.count(name)) *target = vm[name].as<std::string>();
  }
  if (vm.count("tls-verify-client")) {
    const auto mode = vm["tls-verify-client"].as<std::string>();
    if (mode == "none") {
      s.tls_verify_client = TlsVerifyClient::kNone;
    } else if (mode == "optional") {
      s.tls_verify_client = TlsVerifyClient::kOptional;
    } else if (mode == "require") {
      s.tls_verify_client = TlsVerifyClient::kRequire;
    } else {
      throw Failure{"--tls-verify-client must be none, optional or require"};
    }
  }
  // Options that give a file name must not be given empty: an empty name would
  // silently mean "not configured".
  for (const char* name : {"tls-cert", "tls-key", "tls-ca", "upstream-tls-ca", "upstream-tls-cert",
                           "upstream-tls-key", "upstream-auth-file"}) {
    if (vm.count(name) && vm[name].as<std::string>().empty()) {
      throw Failure{std::string("--") + name + " wants a file name"};
    }
  }
  if (vm.count("upstream-tls")) s.upstream_tls = vm["upstream-tls"].as<bool>();
  for (auto [name, target] : {std::pair{"upstream-tls-ca", &s.upstream_tls_ca},
                              std::pair{"upstream-tls-cert", &s.upstream_tls_cert},
                              std::pair{"upstream-tls-key", &s.upstream_tls_key},
                              std::pair{"upstream-tls-server-name", &s.upstream_tls_server_name}}) {
    if (!vm.count(name)) continue;
    *target = vm[name].as<std::string>();
    s.upstream_tls = true;  // each of them only means something over TLS
  }
  if (vm.count("upstream-auth-file"))
    s.upstream_auth_file = vm["upstream-auth-file"].as<std::string>();
}

// Value sizes, the buffer pool and the timeouts that bound what it holds.
void apply_memory_options(const po::variables_map& vm, Settings& s) {
  if (vm.count("max-value-size")) {
    s.max_value_size = size_or_throw("max-value-size", vm["max-value-size"].as<std::string>(), 1);
  }
  if (vm.count("memory-limit")) {
    s.memory_limit = size_or_throw("memory-limit", vm["memory-limit"].as<std::string>(), 1 << 20);
  }
  if (vm.count("buffer-size")) {
    uint64_t size = size_or_throw("buffer-size", vm["buffer-size"].as<std::string>(), 1);
    if (size < 4096 || size > (16u << 20)) throw Failure{"--buffer-size must be 4k..16m"};
    s.buffer_size = static_cast<uint32_t>(size);
  }
  if (vm.count("pool-size")) {
    s.pool_size = size_or_throw("pool-size", vm["pool-size"].as<std::string>(), 1);
  }
  if (vm.count("max-reply-backlog")) {
    s.max_reply_backlog =
        size_or_throw("max-reply-backlog", vm["max-reply-backlog"].as<std::string>(), 1);
  }
  if (vm.count("zerocopy-threshold")) {
    s.zerocopy_threshold =
        size_or_throw("zerocopy-threshold", vm["zerocopy-threshold"].as<std::string>(), 1);
  }
  if (vm.count("pool-wait-timeout")) {
    auto text = vm["pool-wait-timeout"].as<std::string>();
    auto ms = parse_duration_ms(text);
    if (!ms) throw Failure{"invalid duration for --pool-wait-timeout: '" + text + "'"};
    s.pool_wait_timeout_ms = *ms;
  }
  for (auto [name, target] : {std::pair{"slow-client-timeout", &s.slow_client_timeout_ms},
                              std::pair{"idle-timeout", &s.idle_timeout_ms}}) {
    if (!vm.count(name)) continue;
    auto text = vm[name].as<std::string>();
    auto ms = parse_duration_ms(text);
    if (!ms) throw Failure{std::string("invalid duration for --") + name + ": '" + text + "'"};
    *target = *ms;
  }
  if (vm.count("chain-share")) {
    const auto text = vm["chain-share"].as<std::string>();
    if (text.find('.') != std::string::npos) {
      char* end = nullptr;
      s.chain_share = std::strtod(text.c_str(), &end);
      s.chain_share_given = true;
      if (end != text.c_str() + text.size() || s.chain_share <= 0 || s.chain_share >= 1) {
        throw Failure{"--chain-share must be a fraction between 0 and 1, or a buffer count"};
      }
    } else {
      unsigned count = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
      if (ec != std::errc() || end != text.data() + text.size() || count == 0) {
        throw Failure{"--chain-share must be a fraction between 0 and 1, or a buffer count"};
      }
      s.chain_buffers = count;
    }
  }
  if (vm.count("max-connection-chain")) {
    s.max_connection_chain =
        size_or_throw("max-connection-chain", vm["max-connection-chain"].as<std::string>(), 1);
    if (s.max_connection_chain == 0) {
      throw Failure{"--max-connection-chain must hold at least one max-size value"};
    }
  }
}

// The upstream tier and what happens to a rejected value's old item.
void apply_upstream_options(const po::variables_map& vm, Settings& s) {
  if (vm.count("upstream")) {
    for (const std::string& text : vm["upstream"].as<std::vector<std::string>>()) {
      auto address = parse_upstream(text);
      if (!address) throw Failure{"--upstream wants HOST:PORT[:WEIGHT], got '" + text + "'"};
      s.upstreams.push_back(*address);
    }
  }
  if (vm.count("upstream-connections")) {
    s.upstream_connections = vm["upstream-connections"].as<unsigned>();
    if (s.upstream_connections == 0 || s.upstream_connections > 64) {
      throw Failure{"--upstream-connections must be 1..64"};
    }
  }
  for (auto [name, target] : {std::pair{"upstream-timeout", &s.upstream_timeout_ms},
                              std::pair{"upstream-retry", &s.upstream_retry_ms}}) {
    if (!vm.count(name)) continue;
    auto text = vm[name].as<std::string>();
    auto ms = parse_duration_ms(text);
    if (!ms || *ms == 0)
      throw Failure{std::string("invalid duration for --") + name + ": '" + text + "'"};
    *target = *ms;
  }
  if (vm.count("upstream-failure-limit")) {
    s.upstream_failure_limit = std::max(1u, vm["upstream-failure-limit"].as<unsigned>());
  }
  if (vm.count("upstream-failover")) s.upstream_failover = vm["upstream-failover"].as<bool>();
  if (vm.count("upstream-max-pending")) {
    s.upstream_max_pending = vm["upstream-max-pending"].as<unsigned>();
    if (s.upstream_max_pending < 16) throw Failure{"--upstream-max-pending must be at least 16"};
  }
  if (vm.count("reply-pool-size")) {
    s.reply_pool_size =
        size_or_throw("reply-pool-size", vm["reply-pool-size"].as<std::string>(), 1);
  }
  if (vm.count("on-reject")) {
    auto mode = vm["on-reject"].as<std::string>();
    if (mode != "delete" && mode != "keep") throw Failure{"--on-reject must be delete or keep"};
    s.delete_on_reject = mode == "delete";
  }
}

// Splitting values over the upstreams' item limit into chunks.
void apply_split_options(const po::variables_map& vm, Settings& s) {
  if (vm.count("upstream-item-size-max")) {
    const auto text = vm["upstream-item-size-max"].as<std::string>();
    if (text == "auto") {
      s.upstream_item_size_max = 0;
    } else {
      // memcached's own range for -I.
      const auto size = parse_byte_size(text);
      if (!size || *size < kMinItemSizeMax || *size > kMaxItemSizeMax) {
        throw Failure{"--upstream-item-size-max must be auto or a size of 1k..1g, got '" + text +
                      "'"};
      }
      s.upstream_item_size_max = *size;
    }
  }
  if (vm.count("upstream-split")) {
    const auto mode = vm["upstream-split"].as<std::string>();
    if (mode == "on") {
      s.upstream_split = SplitMode::kOn;
    } else if (mode == "read-only") {
      s.upstream_split = SplitMode::kReadOnly;
    } else if (mode == "off") {
      s.upstream_split = SplitMode::kOff;
    } else {
      throw Failure{"--upstream-split must be on, read-only or off"};
    }
  }
  if (vm.count("upstream-split-grace")) {
    const auto text = vm["upstream-split-grace"].as<std::string>();
    const auto ms = parse_duration_ms(text);
    if (!ms) throw Failure{"invalid duration for --upstream-split-grace: '" + text + "'"};
    s.upstream_split_grace_ms = *ms;
  }
}

// The I/O engine and io_uring's receive ring.
void apply_engine_options(const po::variables_map& vm, Settings& s) {
  if (vm.count("io-engine")) {
    const auto engine = vm["io-engine"].as<std::string>();
    if (engine == "auto") {
      s.io_engine = Settings::IoEngine::kAuto;
    } else if (engine == "uring") {
      s.io_engine = Settings::IoEngine::kUring;
    } else if (engine == "epoll") {
      s.io_engine = Settings::IoEngine::kEpoll;
    } else {
      throw Failure{"--io-engine must be auto, uring or epoll"};
    }
  }
  if (vm.count("uring-recv-buffers")) {
    const unsigned count = vm["uring-recv-buffers"].as<unsigned>();
    if (count < 8 || count > 32768) throw Failure{"--uring-recv-buffers must be 8..32768"};
    s.uring_recv_buffers = std::bit_ceil(count);
  }
  if (vm.count("uring-recv-buffer-size")) {
    const uint64_t size =
        size_or_throw("uring-recv-buffer-size", vm["uring-recv-buffer-size"].as<std::string>(), 1);
    if (size < 1024 || size > (1u << 20)) throw Failure{"--uring-recv-buffer-size must be 1k..1m"};
    s.uring_recv_buffer_size = static_cast<uint32_t>(size);
  }
}

void apply_options(const po::variables_map& vm, Settings& s) {
  apply_listen_options(vm, s);
  apply_tls_options(vm, s);
  apply_memory_options(vm, s);
  apply_upstream_options(vm, s);
  apply_split_options(vm, s);
  apply_engine_options(vm, s);
  if (vm.count("log-level")) s.log_level = vm["log-level"].as<std::string>();
  apply_operations_options(vm, s);
}

// Listeners and the TLS options that go with them; listen_host/listen_port
// become the first TCP listener's (port 0 when there is none).
void validate_listeners(Settings& s) {
  // sockaddr_un::sun_path holds 108 bytes with the terminating NUL.
  constexpr size_t kMaxUnixPath = 107;
  bool any_tls = false;
  bool tcp_found = false;
  for (size_t i = 0; i < s.listeners.size(); ++i) {
    const ListenAddress& a = s.listeners[i];
    if (a.kind == ListenAddress::Kind::kUnix) {
      if (a.path.empty()) throw Failure{"--listen unix: wants a PATH"};
      if (a.path.size() > kMaxUnixPath) {
        throw Failure{"UNIX socket path longer than " + std::to_string(kMaxUnixPath) +
                      " bytes: " + a.path};
      }
    }
    any_tls = any_tls || a.kind == ListenAddress::Kind::kTls;
    if (a.kind == ListenAddress::Kind::kTcp && !tcp_found) {
      tcp_found = true;
      s.listen_host = a.host;
      s.listen_port = a.port;
    }
    for (size_t j = 0; j < i; ++j) {
      // Port 0 asks for a fresh port each time, so it may repeat.
      if (listen_address_text(s.listeners[j]) == listen_address_text(a) &&
          (a.kind == ListenAddress::Kind::kUnix || a.port != 0)) {
        throw Failure{"listener " + listen_address_text(a) + " is given twice"};
      }
    }
  }
  if (!tcp_found) s.listen_port = 0;
  if (any_tls && (s.tls_cert.empty() || s.tls_key.empty())) {
    throw Failure{"a tls: listener needs --tls-cert and --tls-key"};
  }
  if (s.tls_verify_client != TlsVerifyClient::kNone && s.tls_ca.empty()) {
    throw Failure{"--tls-verify-client optional or require needs --tls-ca"};
  }
  if (s.upstream_tls_cert.empty() != s.upstream_tls_key.empty()) {
    throw Failure{"--upstream-tls-cert and --upstream-tls-key go together"};
  }
  if (s.upstreams.empty() && (s.upstream_tls || !s.upstream_auth_file.empty())) {
    throw Failure{std::string(s.upstream_tls ? "--upstream-tls" : "--upstream-auth-file") +
                  " needs at least one --upstream"};
  }
}

void validate(Settings& s) {
  validate_listeners(s);
  if (s.threads == 0) s.threads = std::max(1u, std::thread::hardware_concurrency());
  if (s.threads > 1024) throw Failure{"--threads must be 1..1024"};
  if (s.max_connections == 0) throw Failure{"--max-connections must be at least 1"};
  if (s.max_value_size == 0) throw Failure{"--max-value-size must be at least 1 byte"};
  derive_value_ceiling(s);
  if (s.memory_limit < (1u << 20)) throw Failure{"--memory-limit must be at least 1m"};
  if (s.upstreams.empty() && s.max_value_size + 1024 > s.memory_limit) {
    throw Failure{"--memory-limit must exceed --max-value-size so one value fits"};
  }
  if (s.pool_size == 0) s.pool_size = kDefaultPoolPerWorker * s.threads;
  const uint64_t reply_minimum = s.max_value_size + (1u << 20);
  if (s.upstreams.empty()) {
    s.reply_pool_size = 0;
  } else if (s.reply_pool_size == 0) {
    s.reply_pool_size = std::max<uint64_t>(16u << 20, 4 * reply_minimum) * s.threads;
  } else if (s.reply_pool_size / s.threads < reply_minimum) {
    throw Failure{"--reply-pool-size must give each worker at least one max-size value and 1m (" +
                  std::to_string(reply_minimum) + " bytes)"};
  }
  if (s.buffers_per_max_value() > kMaxChainBuffers) {
    throw Failure{"--buffer-size too small for --max-value-size: a value may span at most " +
                  std::to_string(kMaxChainBuffers) + " buffers"};
  }
  const uint64_t needed = uint64_t{s.buffers_per_max_value() + kMinSpareBuffers} * s.buffer_size;
  if (s.pool_size / s.threads < needed) {
    throw Failure{"--pool-size gives each of " + std::to_string(s.threads) + " workers " +
                  std::to_string(s.pool_size / s.threads) + " bytes, less than the " +
                  std::to_string(needed) + " one max-size value and its I/O buffers need"};
  }
  if (s.chain_buffer_limit() < s.buffers_per_max_value() ||
      s.chain_buffer_limit() + 4 > s.buffers_per_worker()) {
    throw Failure{"--chain-share gives value chains " + std::to_string(s.chain_buffer_limit()) +
                  " of each worker's " + std::to_string(s.buffers_per_worker()) +
                  " buffers: it must hold one max-size value (" +
                  std::to_string(s.buffers_per_max_value()) + ") and leave at least 4"};
  }
  if (s.connection_chain_buffer_limit() < s.buffers_per_max_value()) {
    // A value of the largest allowed size would wait for ever.
    const uint64_t needed = uint64_t{s.buffers_per_max_value()} * s.buffer_size;
    throw Failure{
        "--max-connection-chain " + std::to_string(s.max_connection_chain) +
        " is less than one max-size value's chain: " + std::to_string(s.buffers_per_max_value()) +
        " buffers of " + std::to_string(s.buffer_size) + " bytes (" + std::to_string(needed) +
        "); raise it or lower --max-value-size"};
  }
  static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), s.log_level) == std::end(kLevels)) {
    throw Failure{"--log-level must be one of trace, debug, info, warn, error, off"};
  }
}

}  // namespace

std::string listen_address_text(const ListenAddress& a) {
  if (a.kind == ListenAddress::Kind::kUnix) return "unix:" + a.path;
  const std::string host = a.host.find(':') != std::string::npos ? "[" + a.host + "]" : a.host;
  return (a.kind == ListenAddress::Kind::kTls ? "tls:" : "") + host + ":" + std::to_string(a.port);
}

SettingsResult parse_settings(int argc, const char* const* argv,
                              const std::string& default_config) {
  SettingsResult result;
  po::options_description options = option_set();
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    if (vm.count("help")) {
      std::ostringstream text;
      text << "mcguard " MCGUARD_VERSION " - a memcached sidecar proxy with value limits\n\n"
           << "Usage: mcguard [options]\n\n"
           << options;
      result.action = SettingsResult::Action::kPrintAndExit;
      result.message = text.str();
      return result;
    }
    if (vm.count("version")) {
      result.action = SettingsResult::Action::kPrintAndExit;
      result.message =
          "mcguard " MCGUARD_VERSION " (memcached protocol " MCGUARD_PROTOCOL_VERSION ")\n";
      return result;
    }
    std::string config_path = default_config;
    bool explicit_config = vm.count("config") > 0;
    if (explicit_config) config_path = vm["config"].as<std::string>();
    if (!config_path.empty()) {
      std::ifstream file(config_path);
      if (!file) {
        if (explicit_config) throw Failure{"cannot read config file '" + config_path + "'"};
      } else {
        // Values already stored from the command line are not overwritten.
        po::store(po::parse_config_file(file, options), vm);
        result.settings.config_path = config_path;
      }
    }
    po::notify(vm);
    apply_options(vm, result.settings);
    validate(result.settings);
  } catch (const Failure& failure) {
    result.action = SettingsResult::Action::kFail;
    result.message = failure.message;
  } catch (const po::error& error) {
    result.action = SettingsResult::Action::kFail;
    result.message = error.what();
  }
  return result;
}

}  // namespace mcguard
