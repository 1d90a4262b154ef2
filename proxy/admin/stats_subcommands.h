// The `stats <subcommand>` replies that are mcguard's own in both tiers:
// conns, detail, reset, and the answer to anything unknown, in memcached
// 1.6.18's words. Pure text from what the caller gathered, so they can be
// tested with made-up rows; the Server decides which subcommand goes where.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/core/prefix_stats.h"

namespace mcguard::admin {

// `stats` arguments split on spaces: the subcommand and what follows it.
struct StatsArgs {
  std::string_view subcommand;  // empty for plain `stats`
  std::vector<std::string_view> rest;
};
StatsArgs split_stats_args(std::string_view args);

inline constexpr std::string_view kResetReply = "RESET\r\n";
inline constexpr std::string_view kUnknownReply = "ERROR\r\n";

// One line group of `stats conns`.
struct ConnsRow {
  int fd = -1;
  std::string addr;          // "tcp:host:port" (the peer, or the listening address)
  std::string listen_addr;   // empty for a listening socket
  std::string_view state;    // memcached's name: conn_listening, conn_new_cmd, ...
  int64_t idle_seconds = 0;  // secs_since_last_cmd
};
// The whole reply: the rows ordered by descriptor, as memcached walks its
// connection table, then END.
std::string conns_text(std::vector<ConnsRow> rows);
// "tcp:" (or "tcp6:" for a bracketed IPv6 peer) and the "host:port" given.
std::string tcp_address(std::string_view host_port);

// `stats detail <word>`: on, off (OK), dump (the per-prefix lines), anything
// else memcached's usage line.
std::string detail_reply(std::string_view word, PrefixStats& detail);

}  // namespace mcguard::admin
