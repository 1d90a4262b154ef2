// A ReplyStream in a client's ReplyQueue: its bytes go out as they are
// produced, nothing after it is sent before it is whole, what the client took
// is consumed from the stream, a broken stream is reported, and a slot going
// back to the pool detaches its stream.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "proxy/core/pending_reply.h"
#include "proxy/core/reply_queue.h"
#include "test_support.h"

namespace mcguard {
namespace {

// A stream over a string the test produces piece by piece.
class StringStream final : public ReplyStream {
 public:
  void produce(std::string_view bytes) { produced_ += bytes; }
  size_t iovecs(iovec* out, size_t max_iov) const override {
    if (max_iov == 0 || available() == 0) return 0;
    out[0] = {const_cast<char*>(produced_.data() + consumed_), available()};
    return 1;
  }
  size_t available() const override { return produced_.size() - consumed_; }
  void consume(size_t n) override { consumed_ += n; }
  bool broken() const override { return broken_; }
  void detach() override { detached_ = true; }

  std::string produced_;
  size_t consumed_ = 0;
  bool broken_ = false;
  bool detached_ = false;
};

std::string peek(const ReplyQueue& queue) {
  iovec iov[64];
  return test::join(iov, queue.gather(iov, 64));
}

class ReplyStreamTest : public ::testing::Test {
 protected:
  ReplyStreamTest() : pool_(64, 16), slots_(pool_, 4, 32), queue_(pool_, 32) {
    queue_.set_pending_pool(&slots_);
  }

  // A complete one-slot group whose bytes are `stream`'s `length`, then `own`.
  PendingReply* queue_stream(StringStream& stream, size_t length, std::string_view own) {
    PendingReply* slot = slots_.acquire();
    queue_.append_pending(slot);
    slot->stream = &stream;
    slot->stream_length = length;
    EXPECT_TRUE(slot->append(own));
    slot->complete = slot->group_done = true;
    queue_.pending_completed(slot->size());
    return slot;
  }

  BufferPool pool_;
  PendingReplyPool slots_;
  ReplyQueue queue_;
};

TEST_F(ReplyStreamTest, BytesGoOutAsProducedAndNothingFollowsAnUnfinishedStream) {
  StringStream stream;
  queue_stream(stream, 10, "END\r\n");
  ASSERT_TRUE(queue_.append_text("after\r\n"));
  EXPECT_FALSE(queue_.sendable()) << "nothing produced yet";
  stream.produce("abcd");
  EXPECT_TRUE(queue_.sendable());
  EXPECT_EQ(peek(queue_), "abcd");
  queue_.consume(3);
  EXPECT_EQ(stream.consumed_, 3u);
  EXPECT_EQ(peek(queue_), "d");
  stream.produce("efghij");
  EXPECT_EQ(peek(queue_), "defghijEND\r\nafter\r\n");
  queue_.consume(queue_.pending_bytes());
  EXPECT_TRUE(queue_.empty());
  EXPECT_TRUE(stream.detached_) << "the slot went back to the pool and let go of its stream";
  EXPECT_EQ(slots_.available(), 4u);
}

TEST_F(ReplyStreamTest, ABrokenStreamAtTheFrontIsReported) {
  StringStream stream;
  queue_stream(stream, 10, "");
  stream.produce("abc");
  queue_.consume(3);
  EXPECT_FALSE(queue_.broken());
  stream.broken_ = true;
  EXPECT_TRUE(queue_.broken());
  queue_.clear();
  EXPECT_TRUE(stream.detached_);
  EXPECT_EQ(slots_.available(), 4u);
}

TEST_F(ReplyStreamTest, AStreamBehindOtherRepliesIsNotReportedBroken) {
  ASSERT_TRUE(queue_.append_text("first\r\n"));
  StringStream stream;
  queue_stream(stream, 4, "");
  stream.broken_ = true;
  EXPECT_FALSE(queue_.broken()) << "the client is owed earlier replies first";
  queue_.consume(7);
  EXPECT_TRUE(queue_.broken());
  queue_.clear();
}

TEST_F(ReplyStreamTest, ClearingASlotDetachesItsStream) {
  StringStream stream;
  PendingReply* slot = slots_.acquire();
  slot->stream = &stream;
  slot->stream_length = 5;
  slot->clear();
  EXPECT_TRUE(stream.detached_);
  EXPECT_EQ(slot->size(), 0u);
  slots_.release(slot);
}

}  // namespace
}  // namespace mcguard
