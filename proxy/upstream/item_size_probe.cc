#include "proxy/upstream/item_size_probe.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "protocol/reply_parser.h"
#include "proxy/upstream/socket_address.h"

namespace mcguard {
namespace {

constexpr std::string_view kRequest = "stats settings\r\n";

// One upstream's probe: connect, send kRequest, read the reply. fd < 0 once finished.
struct Probe {
  int fd = -1;
  bool connecting = false;
  size_t sent = 0;
  std::string reply;
  std::optional<uint64_t> item_size_max;
  std::string failure;  // why it gave no figure (empty when it gave one)

  bool wants_to_write() const { return connecting || sent < kRequest.size(); }
};

void finish(Probe& probe, std::string failure) {
  if (probe.fd >= 0) close(probe.fd);
  probe.fd = -1;
  probe.failure = std::move(failure);
}

// A failed send or recv ends the probe; EAGAIN and EINTR only mean "not now".
void finish_unless_transient(Probe& probe) {
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    finish(probe, std::strerror(errno));
  }
}

void receive(Probe& probe) {
  char buffer[4096];
  const ssize_t n = recv(probe.fd, buffer, sizeof buffer, 0);
  if (n == 0) return finish(probe, "closed the connection");
  if (n < 0) return finish_unless_transient(probe);
  probe.reply.append(buffer, static_cast<size_t>(n));
  const StatsSettingsScan scan = scan_stats_settings(probe.reply);
  if (scan.status == StatsSettingsScan::kBroken) {
    finish(probe, "its reply is not a stats reply");
  } else if (scan.status == StatsSettingsScan::kDone) {
    probe.item_size_max = scan.item_size_max;
    finish(probe, scan.item_size_max ? "" : "its stats settings have no item_size_max");
  } else if (probe.reply.size() > kMaxStatsSettingsReply) {
    finish(probe, "its reply grew past 64 KiB without END");
  }
}

// Moves the probe on after poll reported an event for it.
void advance(Probe& probe) {
  if (probe.connecting) {
    if (const int error = connect_error(probe.fd); error != 0) {
      return finish(probe, std::strerror(error));
    }
    probe.connecting = false;
  }
  if (probe.sent < kRequest.size()) {
    const ssize_t n =
        send(probe.fd, kRequest.data() + probe.sent, kRequest.size() - probe.sent, MSG_NOSIGNAL);
    if (n < 0) return finish_unless_transient(probe);
    probe.sent += static_cast<size_t>(n);
    return;
  }
  receive(probe);
}

// Starts the probe of `upstream`: resolved and connecting, or finished with the reason.
Probe start(const UpstreamAddress& upstream) {
  Probe probe;
  std::string error;
  const std::optional<SocketAddress> address = resolve_upstream(upstream, &error);
  if (!address) {
    probe.failure = "cannot resolve it: " + error;
    return probe;
  }
  bool connected = false;
  probe.fd = start_connect(*address, &connected);
  if (probe.fd < 0) {
    probe.failure = std::strerror(errno);
    return probe;
  }
  probe.connecting = !connected;
  return probe;
}

// Runs the probes until each has finished or `timeout_ms` has passed.
void run(std::vector<Probe>& probes, int64_t timeout_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  std::vector<pollfd> fds;
  std::vector<Probe*> owners;
  while (true) {
    fds.clear();
    owners.clear();
    for (Probe& probe : probes) {
      if (probe.fd < 0) continue;
      const short events = probe.wants_to_write() ? POLLOUT : POLLIN;
      fds.push_back(pollfd{probe.fd, events, 0});
      owners.push_back(&probe);
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (fds.empty() || left <= 0) return;
    if (poll(fds.data(), fds.size(), static_cast<int>(left)) < 0 && errno != EINTR) return;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) advance(*owners[i]);
    }
  }
}

}  // namespace

SplitLimit split_limit(uint64_t configured, std::span<const std::optional<uint64_t>> reported) {
  std::optional<uint64_t> smallest;
  for (const std::optional<uint64_t>& figure : reported) {
    if (figure && *figure >= kMinItemSizeMax)
      smallest = std::min(smallest.value_or(*figure), *figure);
  }
  SplitLimit limit;
  if (configured != 0) {
    limit.item_size_max = configured;
    limit.source = ItemSizeSource::kOption;
  } else if (smallest) {
    limit.item_size_max = *smallest;
    limit.source = ItemSizeSource::kStatsSettings;
  }
  limit.threshold = limit.item_size_max - kChunkItemOverhead;
  return limit;
}

std::string_view split_mode_name(SplitMode mode) {
  switch (mode) {
    case SplitMode::kOn:
      return "on";
    case SplitMode::kReadOnly:
      return "read-only";
    case SplitMode::kOff:
      return "off";
  }
  return "on";
}

std::string describe_split(const SplitLimit& limit, SplitMode mode) {
  std::string source = "from stats settings";
  if (limit.source == ItemSizeSource::kOption) source = "--upstream-item-size-max";
  if (limit.source == ItemSizeSource::kFallback) {
    source = "fallback: no upstream reported item_size_max";
  }
  const std::string figures =
      " (upstream item_size_max " + std::to_string(limit.item_size_max) + ", " + source + ")";
  switch (mode) {
    case SplitMode::kOn:
      return "split: values over " + std::to_string(limit.threshold) +
             " bytes are stored in chunks" + figures;
    case SplitMode::kReadOnly:
      return "split: read-only: split values are read back, every value is stored as one item" +
             figures;
    case SplitMode::kOff:
      return "split: off: every value is stored as one item" + figures;
  }
  return {};
}

StatsSettingsScan scan_stats_settings(std::string_view reply) {
  StatsSettingsScan scan;
  Reply line;
  while (!reply.empty()) {
    // No VALUE belongs in a stats reply, so none may have a length.
    const ReplyParseResult parsed = parse_reply_header(reply, line, 0);
    if (parsed.status == ReplyParseResult::kNeedMore) return scan;
    const ReplyRole role = parsed.status == ReplyParseResult::kReply
                               ? reply_role(Command::kStats, line.kind)
                               : ReplyRole::kUnexpected;
    if (role == ReplyRole::kUnexpected) {
      scan.status = StatsSettingsScan::kBroken;
      return scan;
    }
    if (role == ReplyRole::kLast) {  // END, or an error line: nothing more comes
      scan.status = StatsSettingsScan::kDone;
      return scan;
    }
    if (line.key == "item_size_max") {
      uint64_t value = 0;
      const char* end = line.text.data() + line.text.size();
      const auto [stop, ec] = std::from_chars(line.text.data(), end, value);
      if (ec == std::errc() && stop == end) scan.item_size_max = value;
    }
    reply.remove_prefix(parsed.consumed);
  }
  return scan;
}

std::vector<std::optional<uint64_t>> probe_item_size_max(
    const std::vector<UpstreamAddress>& upstreams, int64_t timeout_ms) {
  std::vector<Probe> probes;
  probes.reserve(upstreams.size());
  for (const UpstreamAddress& upstream : upstreams) probes.push_back(start(upstream));
  run(probes, timeout_ms);
  std::vector<std::optional<uint64_t>> found;
  for (size_t i = 0; i < probes.size(); ++i) {
    Probe& probe = probes[i];
    if (probe.fd >= 0) finish(probe, "no reply within " + std::to_string(timeout_ms) + " ms");
    if (!probe.failure.empty()) {
      spdlog::info("split: upstream {}:{} gave no item_size_max ({}); it is left out",
                   upstreams[i].host, upstreams[i].port, probe.failure);
    }
    found.push_back(probe.item_size_max);
  }
  return found;
}

}  // namespace mcguard
