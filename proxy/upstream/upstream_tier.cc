#include "proxy/upstream/upstream_tier.h"

#include <netdb.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <optional>
#include <stdexcept>
#include <string>

#include "protocol/base64.h"
#include "protocol/meta.h"
#include "protocol/parser.h"
#include "protocol/reply_parser.h"
#include "protocol/response.h"
#include "protocol/split_manifest.h"
#include "proxy/upstream/split_append.h"
#include "proxy/upstream/split_follow_up.h"
#include "proxy/upstream/split_read.h"
#include "proxy/upstream/split_write.h"
#include "proxy/upstream/stats_gather.h"

namespace mcguard {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kNoopBarrier = "mn\r\n";

void resolve(UpstreamServer& server) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(server.address.port);
  int rc = getaddrinfo(server.address.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    throw std::runtime_error("cannot resolve upstream " + server.name + ": " + gai_strerror(rc));
  }
  std::memcpy(&server.socket_address, found->ai_addr, found->ai_addrlen);
  server.socket_address_length = found->ai_addrlen;
  freeaddrinfo(found);
}

// Bytes per chunk: the threshold rounded down to whole request buffers, so a
// value's chain splits into chunks by relinking buffers, never by copying.
uint32_t chunk_size_for(uint64_t threshold, uint32_t buffer_size) {
  const uint64_t limit = std::min<uint64_t>(threshold, UINT32_MAX);
  if (limit < buffer_size) return static_cast<uint32_t>(std::max<uint64_t>(limit, 1));
  return static_cast<uint32_t>(limit / buffer_size * buffer_size);
}

constexpr std::string_view kMetaSetOfLookalike =
    "CLIENT_ERROR value could pass for a split value's index\r\n";

bool is_split_store(Command command) {
  return command == Command::kSet || command == Command::kAdd || command == Command::kReplace ||
         command == Command::kCas;
}

// An ms that can be stored split: in set, add or replace mode, with a key
// the index's lookup can name (not base64).
bool is_splittable_meta_set(const Request& request) {
  const char mode = request.meta.mode;
  return request.command == Command::kMetaSet && !request.meta.has('b') &&
         (mode == 0 || mode == 'S' || mode == 'E' || mode == 'R');
}

// Whether the reply parser can match the reply to this request's key: a meta command's
// reply may echo the key in a k flag, which takes printable bytes only.
bool is_forwardable_key(const Request& request) {
  switch (request.command) {
    case Command::kMetaGet:
    case Command::kMetaSet:
    case Command::kMetaDelete:
    case Command::kMetaArithmetic:
    case Command::kMetaNoop:
    case Command::kMetaDebug:
      return is_valid_meta_reply_key(request.key);
    default:
      return is_valid_reply_key(request.key);
  }
}

// The key a client's own library hashed: meta 'b' keys are base64 on the wire.
std::string_view routing_key(const Request& request, std::span<char> scratch) {
  if (!request.meta.has('b')) return request.key;
  size_t length = base64_decode(request.key, scratch);
  return length == 0 ? request.key : std::string_view(scratch.data(), length);
}

// How a client request's reply is counted (command_stats.h). Classic
// noreply hides the outcome: only the command is counted.
CountAs count_as(const Request& request) {
  switch (request.command) {
    case Command::kGet:
    case Command::kGets:
      return CountAs::kGet;
    case Command::kGat:
    case Command::kGats:
      return CountAs::kTouchGet;
    case Command::kMetaGet:
      return request.meta.has('T') ? CountAs::kMetaGetTouch : CountAs::kMetaGet;
    case Command::kMetaSet:
      return request.meta.has('C') ? CountAs::kMetaSetCas : CountAs::kNone;
    case Command::kMetaDelete:
      return CountAs::kMetaDelete;
    case Command::kMetaArithmetic:
      return request.meta.mode == 'D' || request.meta.mode == 'd' || request.meta.mode == '-'
                 ? CountAs::kMetaDecr
                 : CountAs::kMetaIncr;
    default:
      break;
  }
  if (request.noreply) return CountAs::kNone;
  switch (request.command) {
    case Command::kCas:
      return CountAs::kCas;
    case Command::kDelete:
      return CountAs::kDelete;
    case Command::kIncr:
      return CountAs::kIncr;
    case Command::kDecr:
      return CountAs::kDecr;
    case Command::kTouch:
      return CountAs::kTouch;
    default:
      return CountAs::kNone;
  }
}

// The counts a request makes whatever its reply (mg counts by its reply).
void count_command(UpstreamCommandStats& stats, const Request& request) {
  switch (request.command) {
    case Command::kGet:
    case Command::kGets:
      stats.cmd_get.add(request.key_count);
      break;
    case Command::kGat:
    case Command::kGats:
      stats.cmd_touch.add(request.key_count);
      break;
    case Command::kSet:
    case Command::kAdd:
    case Command::kReplace:
    case Command::kAppend:
    case Command::kPrepend:
    case Command::kCas:
    case Command::kMetaSet:
      stats.cmd_set.add();
      break;
    case Command::kTouch:
      stats.cmd_touch.add();
      break;
    case Command::kFlushAll:
      stats.cmd_flush.add();
      break;
    default:
      break;
  }
}

}  // namespace

UpstreamTier::UpstreamTier(std::span<const UpstreamAddress> addresses,
                           const UpstreamSettings& settings, BufferPool& pool, Reactor& reactor,
                           PendingReplyPool& replies)
    : settings_(settings),
      pool_(pool),
      reactor_(reactor),
      groups_(replies, reactor, &command_stats_),
      context_{pool, reactor, groups_, settings_},
      ring_(addresses),
      split_{groups_,
             reactor,
             split_stats_,
             settings_,
             replies.buffer_pool(),
             chunk_size_for(settings.split_threshold, pool.buffer_size()),
             [this](std::string_view key, int client_id) -> UpstreamConnection* {
               UpstreamServer* server = route(key);
               return server == nullptr ? nullptr : &pick(*server, client_id);
             },
             [this](int client_id, bool begin) { hold(client_id, begin); },
             {},
             0,
             nullptr,
             {}} {
  if (settings_.split_mode != SplitMode::kOff) context_.split = this;
  context_.command_stats = &command_stats_;
  const uint64_t most_chunks = settings_.max_value_size / split_.chunk_size + 1;
  settings_.max_manifest_bytes = split::encoded_size(
      static_cast<uint32_t>(std::min<uint64_t>(most_chunks, split::kMaxChunks)));
  for (const UpstreamAddress& address : addresses) {
    UpstreamServer& server = servers_.emplace_back();
    server.address = address;
    server.name = address.host + ":" + std::to_string(address.port);
    resolve(server);
    for (uint32_t i = 0; i < std::max(1u, settings_.connections); ++i) {
      server.connections.push_back(std::make_unique<UpstreamConnection>(server, context_));
    }
  }
}

UpstreamTier::~UpstreamTier() {
  // Operations still waiting on upstreams at shutdown: nothing will complete them.
  while (split_.live != nullptr) delete split_.live;
  // Old chunks still in their grace period stay until their TTL or eviction.
  uint64_t left = 0;
  for (const DeferredSweep& sweep : split_.deferred_sweeps) left += sweep.chunk_count;
  if (left > 0) {
    split_stats_.orphan_chunks.add(left);
    spdlog::info("split: {} chunks of overwritten or deleted values left to expire at shutdown",
                 left);
  }
}

void UpstreamTier::set_security(const UpstreamSecurity* security) {
  context_.security = security;
  if (security == nullptr || security->tls() == nullptr) return;
  uint32_t connections = 0;
  for (const UpstreamServer& server : servers_) {
    connections += static_cast<uint32_t>(server.connections.size());
  }
  tls_pool_ =
      std::make_unique<BufferPool>(kTlsBuffersPerConnection * connections, pool_.buffer_size());
  context_.tls_pool = tls_pool_.get();
}

bool UpstreamTier::can_accept(const Request& request, const ReplyQueue& client) {
  if (!held_clients_.empty()) {
    for (const auto& [id, count] : held_clients_) {
      if (id == client.owner_id()) return false;
    }
  }
  uint32_t slots = 1;
  if (is_retrieval(request.command)) slots = std::max(1u, request.key_count);
  if (request.command == Command::kFlushAll || request.command == Command::kCacheMemlimit) {
    slots = static_cast<uint32_t>(servers_.size());
  }
  if (request.command == Command::kStats) slots = static_cast<uint32_t>(servers_.size());
  // A request larger than the whole pool is answered at once with an error.
  return groups_.available() >= slots || slots > groups_.capacity();
}

UpstreamServer* UpstreamTier::route(std::string_view key) {
  const int64_t now = reactor_.now_ms();
  uint32_t index = ring_.server_for(key);
  if (index == KetamaRing::kNoServer) return nullptr;
  if (!servers_[index].unavailable(now)) return &servers_[index];
  if (!settings_.failover) return nullptr;
  index = ring_.server_for(key, [&](uint32_t i) { return !servers_[i].unavailable(now); });
  return index == KetamaRing::kNoServer ? nullptr : &servers_[index];
}

UpstreamConnection& UpstreamTier::pick(UpstreamServer& server, int client_id) {
  const auto id = static_cast<uint32_t>(client_id);
  return *server.connections[id % server.connections.size()];
}

void UpstreamTier::hold(int client_id, bool begin) {
  for (size_t i = 0; i < held_clients_.size(); ++i) {
    if (held_clients_[i].first != client_id) continue;
    if (begin) {
      ++held_clients_[i].second;
    } else if (--held_clients_[i].second == 0) {
      held_clients_.erase(held_clients_.begin() + static_cast<std::ptrdiff_t>(i));
      if (client_id >= 0) reactor_.wake_client(client_id);
    }
    return;
  }
  if (begin) held_clients_.emplace_back(client_id, 1);
}

void UpstreamTier::take_index(PendingReply* slot) {
  const ReplyQueue* owner = slot->leader->owner;
  SplitRead::take(split_, slot, owner != nullptr ? owner->owner_id() : -1);
}

bool UpstreamTier::forward_split(const Request& request, std::span<const iovec> value,
                                 ReplyQueue& reply, BufferChain* value_chain) {
  if (settings_.split_mode == SplitMode::kOff) return false;
  bool store = is_split_store(request.command);
  if (request.command == Command::kMetaSet) {
    const bool lookalike =
        request.client_flags == split::kIndexFlags || split::starts_with_magic(value);
    if (request.value_length <= settings_.split_threshold && !lookalike) return false;
    // Split only what is_splittable_meta_set allows; anything else must
    // still not store what could pass for an index.
    const bool splittable =
        settings_.split_mode == SplitMode::kOn && is_splittable_meta_set(request);
    if (!splittable) {
      if (!lookalike) return false;  // forwarded: the upstream answers for its size
      reply.append_text(kMetaSetOfLookalike);
      return true;
    }
    store = true;
  }
  // md follows up too, unless its key is base64 (the lookup is a classic get)
  // or it only marks the item stale (I), which leaves the chunks in use.
  const bool meta_delete =
      request.command == Command::kMetaDelete && !request.meta.has('b') && !request.meta.has('I');
  const bool follow_up =
      request.command == Command::kDelete || request.command == Command::kTouch || meta_delete;
  const bool append = request.command == Command::kAppend || request.command == Command::kPrepend;
  if (!store && !follow_up && !append) return false;
  // A value that could pass for an index is stored split too, so that every
  // item carrying the index flags or the manifest's magic is one mcguard wrote.
  const bool lookalike =
      store && (request.client_flags == split::kIndexFlags || split::starts_with_magic(value));
  if (store && request.value_length <= settings_.split_threshold && !lookalike) return false;
  if (store && settings_.split_mode == SplitMode::kReadOnly) {
    if (!lookalike) return false;  // forwarded as it is: the upstream answers for its size
    if (!request.noreply) reply.append_text("SERVER_ERROR value reserved for split values\r\n");
    return true;
  }
  PendingReply* leader = groups_.open(reply, 1);
  if (leader == nullptr) {
    reply.append_text(reply::kOutOfMemoryShort);
    return true;
  }
  leader->silent = request.noreply;
  if (store) {
    SplitWrite::start(split_, request, value, value_chain, leader, reply.owner_id());
  } else if (append) {
    SplitAppend::start(split_, request, value, value_chain, pool_, leader, reply.owner_id());
  } else {
    SplitFollowUp::start(split_, request, leader, reply.owner_id());
  }
  return true;
}

ValueStream* UpstreamTier::stream_value(const Request& request, ReplyQueue& reply) {
  // Only values that will be split whatever their bytes: over the threshold,
  // in a command that splits, with a key forward_single would pass.
  if (settings_.split_mode != SplitMode::kOn || request.value_length <= settings_.split_threshold ||
      !(is_split_store(request.command) || is_splittable_meta_set(request)) ||
      !is_forwardable_key(request)) {
    return nullptr;
  }
  end_retrieval_lines_of(reply.owner_id());
  ValueStream* stream = SplitWrite::stream(split_, request, reply);
  if (stream != nullptr) command_stats_.cmd_set.add();
  return stream;
}

void UpstreamTier::execute(const Request& request, std::span<const iovec> value, ReplyQueue& reply,
                           BufferChain* value_chain) {
  if (request.command == Command::kMetaNoop) {
    // Replies are queued in request order, so a local MN is a true barrier.
    reply.append_text(reply::kMetaNoop);
    return;
  }
  if (request.command == Command::kStats) {
    forward_stats(request, reply);
    return;
  }
  count_command(command_stats_, request);
  if (!is_retrieval(request.command)) end_retrieval_lines_of(reply.owner_id());
  // The client's reply group is counted when it completes (ReplyGroups).
  groups_.set_open_tag(static_cast<uint8_t>(count_as(request)));
  if (is_retrieval(request.command)) {
    forward_retrieval(request, reply);
  } else if (request.command == Command::kFlushAll || request.command == Command::kCacheMemlimit) {
    forward_to_all(request, reply);
  } else {
    forward_single(request, value, reply, value_chain);
  }
  groups_.set_open_tag(0);
}

void UpstreamTier::forward_single(const Request& request, std::span<const iovec> value,
                                  ReplyQueue& reply, BufferChain* value_chain) {
  // A key the reply parser would refuse must not reach the shared connection.
  if (!request.meta.has('b') && !is_forwardable_key(request)) {
    reply.append_text(reply::kBadCommandLineFormat);
    return;
  }
  if (forward_split(request, value, reply, value_chain)) return;
  PendingReply* leader = groups_.open(reply, 1);
  if (leader == nullptr) {
    reply.append_text(reply::kOutOfMemoryShort);
    return;
  }
  leader->silent = request.noreply;
  char scratch[kMaxKeyLength];
  UpstreamServer* server = route(routing_key(request, scratch));
  if (server == nullptr) {
    groups_.fail(leader, "upstream unavailable");
    return;
  }
  // Quiet requests may get no reply at all: an "mn" after them marks the end.
  const bool quiet = request.noreply || request.meta.has('q');
  UpstreamConnection& connection = pick(*server, reply);
  bool queued = connection.queue(request.line);
  if (request.command == Command::kMetaGet && context_.split != nullptr) {
    // A split value's manifest is bound to its key, which an mg reply names
    // only when asked: ask, and drop the answer again unless the client asked.
    if (request.meta.has('v') && !request.meta.has('k') && !request.meta.has('b')) {
      leader->strip_key_token = true;
      queued = queued && connection.queue(" k");
    }
    leader->touch = request.meta.has('T');
    leader->touch_exptime = request.exptime;
  }
  queued = queued && connection.queue(kCrlf);
  if (queued && request.has_value()) {
    if (value_chain != nullptr && value_chain->length() == request.value_length + 2) {
      // The value's buffers move to the upstream's send queue: no copy.
      queued = connection.queue(*value_chain);
    } else {
      queued = connection.queue(value) && connection.queue(kCrlf);
    }
    connection.end_data_block();
  }
  if (queued && quiet) queued = connection.queue(kNoopBarrier);
  if (!queued) {
    // Nothing partial may stay queued: the connection restarts clean.
    connection.fail("out of memory");
    groups_.fail(leader, "out of memory");
    return;
  }
  connection.expect(quiet ? Expectation::kQuiet : Expectation::kSingle, request.command, leader);
}

void UpstreamTier::forward_retrieval(const Request& request, ReplyQueue& reply) {
  if (request.key_count == 0) {
    if (!request.more_keys_follow) reply.append_text(reply::kEnd);
    return;
  }
  {
    KeyCursor keys(request.keys);
    std::string_view key;
    while (keys.next(key)) {
      if (!is_valid_reply_key(key)) {
        reply.append_text(reply::kBadCommandLineFormat);
        return;
      }
    }
  }
  PendingReply* leader = groups_.open(reply, request.key_count);
  if (leader == nullptr) {
    reply.append_text(reply::kTooManyKeys);
    return;
  }
  leader->end_with_end = !request.more_keys_follow;
  leader->touch_exptime = request.exptime;
  leader->touch = request.command == Command::kGat || request.command == Command::kGats;
  KeyCursor keys(request.keys);
  std::string_view key;
  for (PendingReply* slot = leader; slot != nullptr && keys.next(key); slot = slot->next_in_group) {
    slot->key_hash = upstream_key_hash(key);
    UpstreamServer* server = route(key);
    if (server == nullptr) {
      groups_.fail(slot, "upstream unavailable");
      continue;
    }
    // Keys join the line open on the connection, where other clients' keys
    // of this turn may be too (UpstreamConnection::queue_retrieval_key).
    UpstreamConnection& connection = pick(*server, reply);
    if (!connection.queue_retrieval_key(request.command, request.exptime, key, slot,
                                        reply.owner_id())) {
      groups_.fail(slot, "out of memory");
      connection.fail("out of memory");
    }
  }
}

void UpstreamTier::forward_to_all(const Request& request, ReplyQueue& reply) {
  PendingReply* leader = groups_.open(reply, static_cast<uint32_t>(servers_.size()));
  if (leader == nullptr) {
    reply.append_text(reply::kOutOfMemoryShort);
    return;
  }
  leader->silent = request.noreply;
  leader->collapse = true;
  PendingReply* slot = leader;
  for (UpstreamServer& server : servers_) {
    PendingReply* next = slot->next_in_group;
    if (server.unavailable(reactor_.now_ms())) {
      groups_.fail(slot, "upstream unavailable");
    } else {
      UpstreamConnection& connection = pick(server, reply);
      bool queued = connection.queue(request.line) && connection.queue(kCrlf) &&
                    (!request.noreply || connection.queue(kNoopBarrier));
      connection.expect(request.noreply ? Expectation::kQuiet : Expectation::kSingle,
                        request.command, slot);
      if (!queued) connection.fail("out of memory");
    }
    slot = next;
  }
}

void UpstreamTier::forward_stats(const Request& request, ReplyQueue& reply) {
  const std::optional<GatheredStats> kind = gathered_stats_kind(request.args);
  if (!kind) {
    // The stats renderer answers every other subcommand itself.
    reply.append_text(reply::kEnd);
    return;
  }
  PendingReply* leader = groups_.open(reply, static_cast<uint32_t>(servers_.size()));
  if (leader == nullptr) {
    reply.append_text(reply::kOutOfMemoryShort);
    return;
  }
  leader->tag = gather_tag(*kind);
  PendingReply* slot = leader;
  for (UpstreamServer& server : servers_) {
    PendingReply* next = slot->next_in_group;
    if (server.unavailable(reactor_.now_ms())) {
      groups_.fail(slot, "upstream unavailable");  // left out of the merged reply
    } else {
      UpstreamConnection& connection = pick(server, reply);
      const bool queued = connection.queue("stats") &&
                          (request.args.empty() || connection.queue(" ")) &&
                          connection.queue(request.args) && connection.queue(kCrlf);
      connection.expect(
          *kind == GatheredStats::kSizesSwitch ? Expectation::kGatherLine : Expectation::kGather,
          Command::kStats, slot);
      if (!queued) connection.fail("out of memory");
    }
    slot = next;
  }
}

void UpstreamTier::remove_stale(std::string_view key, const ReplyQueue& client) {
  if (!settings_.delete_on_reject || !is_valid_reply_key(key)) return;
  UpstreamServer* server = route(key);
  if (server == nullptr) return;
  UpstreamConnection& connection = pick(*server, client);
  bool queued = connection.queue("delete ") && connection.queue(key) &&
                connection.queue(" noreply\r\n") && connection.queue(kNoopBarrier);
  connection.expect(Expectation::kQuiet, Command::kDelete, nullptr);
  if (!queued) connection.fail("out of memory");
}

void UpstreamTier::end_retrieval_lines_of(int client_id) {
  for (UpstreamServer& server : servers_) {
    for (auto& connection : server.connections) {
      if (!connection->end_retrieval_line_of(client_id)) connection->fail("out of memory");
    }
  }
}

void UpstreamTier::flush() {
  context_.unflushed = false;
  // Reads that waited for reply buffers try again, each once per turn.
  for (size_t n = split_.waiting_reads.size(); n > 0 && !split_.waiting_reads.empty(); --n) {
    SplitRead* read = split_.waiting_reads.front();
    split_.waiting_reads.erase(split_.waiting_reads.begin());
    read->resume();
  }
  for (UpstreamServer& server : servers_) {
    for (auto& connection : server.connections) connection->flush();
  }
}

void UpstreamTier::check_timeouts(int64_t now_ms) {
  run_due_sweeps(split_, now_ms);
  for (UpstreamServer& server : servers_) {
    for (auto& connection : server.connections) connection->check_timeout(now_ms);
  }
}

int64_t UpstreamTier::next_deadline_ms() const {
  if (context_.unflushed) return 0;  // due now: another turn flushes them
  int64_t next = next_sweep_ms(split_);
  for (const UpstreamServer& server : servers_) {
    for (const auto& connection : server.connections) {
      int64_t deadline = connection->next_deadline_ms();
      if (deadline >= 0 && (next < 0 || deadline < next)) next = deadline;
    }
  }
  return next;
}

}  // namespace mcguard
