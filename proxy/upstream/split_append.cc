#include "proxy/upstream/split_append.h"

#include "protocol/reply_parser.h"
#include "protocol/response.h"

namespace mcguard {
namespace {

// What memcached answers an append or prepend whose result is over its item
// size limit (memcached 1.6 refuses it as not stored).
constexpr std::string_view kTooLargeToStore = "NOT_STORED\r\n";

// "<verb> <key> <flags> <exptime> <bytes>" without a trailing noreply: the
// client's noreply is honoured by not sending it the reply.
std::string command_line(const Request& request) {
  std::string line(request.line);
  if (request.noreply) {
    const size_t end = line.find_last_not_of(' ');
    const size_t start = line.find_last_of(' ', end);
    line.resize(start == std::string::npos ? 0 : line.find_last_not_of(' ', start) + 1);
  }
  return line + "\r\n";
}

}  // namespace

SplitAppend::SplitAppend(SplitContext& context, const Request& request, BufferPool& pool,
                         PendingReply* client_slot, int client_id)
    : SplitOperation(context),
      context_(context),
      key_(request.key),
      line_(command_line(request)),
      value_(pool, UINT32_MAX),
      client_slot_(client_slot),
      client_id_(client_id) {
  context_.hold(client_id_, true);
}

void SplitAppend::start(SplitContext& context, const Request& request, std::span<const iovec> value,
                        BufferChain* value_chain, BufferPool& pool, PendingReply* client_slot,
                        int client_id) {
  auto* append = new SplitAppend(context, request, pool, client_slot, client_id);
  bool kept;
  if (value_chain != nullptr && value_chain->length() == request.value_length + 2) {
    kept = append->value_.splice_from(*value_chain);
  } else {
    kept = append->value_.reserve(request.value_length + 2);
    for (const iovec& part : value) {
      if (kept) append->value_.append({static_cast<const char*>(part.iov_base), part.iov_len});
    }
    if (kept) append->value_.append({"\r\n", 2});
  }
  UpstreamConnection* connection = context.connection_for(request.key, client_id);
  PendingReply* lookup = nullptr;
  if (!kept || connection == nullptr ||
      (lookup = context.groups.open_internal(1, *append)) == nullptr) {
    append->finish_with(!kept                   ? reply::kOutOfMemory
                        : connection == nullptr ? "SERVER_ERROR upstream unavailable\r\n"
                                                : reply::kOutOfMemoryShort);
    return;
  }
  if (queue_request(*connection, {"mg ", request.key, " f\r\n"})) {
    connection->expect(Expectation::kSingle, Command::kMetaGet, lookup);
  } else {
    context.groups.fail(lookup, "out of memory");
  }
}

void SplitAppend::group_done(PendingReply* leader) {
  const std::string text = reply_text(*leader);
  const char* failure = leader->failure;
  context_.groups.release(leader);
  if (failure != nullptr || text.empty()) {
    finish_with("SERVER_ERROR " + std::string(failure != nullptr ? failure : "upstream error") +
                "\r\n");
    return;
  }
  // "HD f<flags>": an index carries the index flags and nothing else does.
  const std::string index_flags = " f" + std::to_string(split::kIndexFlags) + "\r\n";
  if (text.starts_with("HD") && text.ends_with(index_flags)) {
    finish_with(kTooLargeToStore);
    return;
  }
  UpstreamConnection* connection = context_.connection_for(key_, client_id_);
  if (connection == nullptr) {
    finish_with("SERVER_ERROR upstream unavailable\r\n");
    return;
  }
  const bool queued = queue_request(*connection, {line_}) && connection->queue(value_);
  connection->end_data_block();
  if (!queued) {
    connection->fail("out of memory");
    context_.groups.fail(client_slot_, "out of memory");
  } else {
    connection->expect(Expectation::kSingle, Command::kAppend, client_slot_);
  }
  context_.hold(client_id_, false);
  delete this;
}

void SplitAppend::finish_with(std::string_view reply) {
  answer_client(context_, client_slot_, reply);
  context_.hold(client_id_, false);
  delete this;
}

}  // namespace mcguard
