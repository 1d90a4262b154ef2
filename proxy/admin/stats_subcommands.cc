#include "proxy/admin/stats_subcommands.h"

#include <algorithm>

#include "protocol/response.h"

namespace mcguard::admin {

StatsArgs split_stats_args(std::string_view args) {
  StatsArgs out;
  bool first = true;
  while (!args.empty()) {
    const size_t start = args.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    args.remove_prefix(start);
    const size_t end = std::min(args.find(' '), args.size());
    const std::string_view token = args.substr(0, end);
    if (first) {
      out.subcommand = token;
      first = false;
    } else {
      out.rest.push_back(token);
    }
    args.remove_prefix(end);
  }
  return out;
}

std::string tcp_address(std::string_view host_port) {
  std::string out = host_port.starts_with('[') ? "tcp6:" : "tcp:";
  out += host_port;
  return out;
}

std::string conns_text(std::vector<ConnsRow> rows) {
  std::sort(rows.begin(), rows.end(),
            [](const ConnsRow& a, const ConnsRow& b) { return a.fd < b.fd; });
  std::string out;
  for (const ConnsRow& row : rows) {
    const std::string prefix = "STAT " + std::to_string(row.fd) + ":";
    out += prefix + "addr " + row.addr + "\r\n";
    if (!row.listen_addr.empty()) out += prefix + "listen_addr " + row.listen_addr + "\r\n";
    out += prefix + "state ";
    out += row.state;
    out += "\r\n";
    out += prefix + "secs_since_last_cmd " +
           std::to_string(std::max<int64_t>(row.idle_seconds, 0)) + "\r\n";
  }
  out += reply::kEnd;
  return out;
}

std::string detail_reply(std::string_view word, PrefixStats& detail) {
  if (word == "on" || word == "off") {
    detail.set_enabled(word == "on");
    return std::string(reply::kOk);
  }
  if (word == "dump") return detail.dump();
  return "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
}

}  // namespace mcguard::admin
