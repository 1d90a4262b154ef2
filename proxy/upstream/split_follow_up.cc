#include "proxy/upstream/split_follow_up.h"

namespace mcguard {

SplitFollowUp::SplitFollowUp(SplitContext& context, const Request& request,
                             PendingReply* client_slot, int client_id)
    : SplitOperation(context),
      context_(context),
      command_(request.command),
      key_(request.key),
      exptime_(std::to_string(request.exptime)),
      client_slot_(client_slot),
      client_id_(client_id) {}

void SplitFollowUp::start(SplitContext& context, const Request& request, PendingReply* client_slot,
                          int client_id) {
  UpstreamConnection* connection = context.connection_for(request.key, client_id);
  auto* follow_up = new SplitFollowUp(context, request, client_slot, client_id);
  // Slots: a guard that keeps the group open while queueing, the read, the command.
  PendingReply* guard =
      connection == nullptr ? nullptr : context.groups.open_internal(3, *follow_up);
  if (guard == nullptr) {
    context.groups.fail(client_slot,
                        connection == nullptr ? "upstream unavailable" : "out of memory");
    delete follow_up;
    return;
  }
  PendingReply* lookup = guard->next_in_group;
  PendingReply* command = guard->last;
  lookup->key_hash = upstream_key_hash(request.key);
  bool queued = queue_request(*connection, {"get ", request.key, "\r\n"});
  if (queued) connection->expect(Expectation::kRetrieval, Command::kGet, lookup);
  // md goes as the client sent it; a quiet one ("q": no reply on success)
  // is followed by "mn" to mark where its reply ends.
  const bool quiet = request.command == Command::kMetaDelete && request.meta.has('q');
  if (request.command == Command::kMetaDelete) {
    queued = queued && queue_request(*connection, {request.line, quiet ? "\r\nmn\r\n" : "\r\n"});
  } else if (request.command == Command::kDelete) {
    queued = queued && queue_request(*connection, {"delete ", request.key, "\r\n"});
  } else {
    queued = queued &&
             queue_request(*connection, {"touch ", request.key, " ", follow_up->exptime_, "\r\n"});
  }
  if (queued) {
    connection->expect(quiet ? Expectation::kQuiet : Expectation::kSingle, request.command,
                       command);
  } else {
    context.groups.fail(lookup, "out of memory");
    context.groups.fail(command, "out of memory");
  }
  context.groups.complete(guard);
}

void SplitFollowUp::group_done(PendingReply* leader) {
  const std::string text = reply_text(*leader->last);
  bool applied = false;
  if (command_ == Command::kMetaDelete) {
    applied = leader->failure == nullptr && (text.empty() || text.starts_with("HD"));
  } else {
    applied = text == (command_ == Command::kDelete ? "DELETED\r\n" : "TOUCHED\r\n");
  }
  split::Manifest manifest;
  const bool split = applied && decode_index_reply(*leader->next_in_group, key_, manifest);
  const char* failure = leader->failure;
  context_.groups.release(leader);
  if (split && command_ == Command::kTouch) {
    sweep_chunks(context_, key_, manifest.generation, manifest.chunk_count, client_id_, &exptime_);
  } else if (split) {
    defer_sweep(context_, key_, manifest, client_id_);
    context_.stats.orphan_cleanups.add();
  }
  if (text.empty() && (command_ != Command::kMetaDelete || failure != nullptr)) {
    context_.groups.fail(client_slot_, failure != nullptr ? failure : "upstream error");
  } else {
    answer_client(context_, client_slot_, text);
  }
  delete this;
}

}  // namespace mcguard
