// The rest of the protocol on split values, against memcached's own answers:
// append and prepend (what memcached answers when the result is over its item
// limit), incr (memcached's answer for a non-numeric value), and the meta
// commands: mg with v streams a split value with the value's own size and
// flags, ms writes one, md removes its chunks, and what cannot be served
// answers a CLIENT_ERROR rather than an index's bytes.
#include "split_support.h"

namespace mcguard::e2e {
namespace {

class SplitCommands : public SplitTest {
 protected:
  // The reply line to `command` sent straight to upstream 0.
  std::string direct_line(std::string_view command) {
    Client direct = connect_upstream(0);
    return ask(direct, command).bytes;
  }
};

TEST_F(SplitCommands, AppendAndPrependAnswerWhatMemcachedAnswersOverItsLimit) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  // memcached itself: an append whose result would be over its item limit.
  const std::string near_limit = random_value(kUpstreamItemSizeMax - 1000, 1);
  ASSERT_EQ(direct_line(storage_command("set", "near", near_limit)), "STORED\r\nMN\r\n");
  const std::string memcached_says =
      direct_line(storage_command("append", "near", std::string(2000, 'a')));
  ASSERT_EQ(direct_line(storage_command("prepend", "near", std::string(2000, 'a'))),
            memcached_says);

  Client c = connect_proxy();
  const std::string big = random_value(2 * kMiB, 2);
  ASSERT_EQ(store(c, storage_command("set", "big", big, 7)), "STORED\r\n");
  EXPECT_EQ(store(c, storage_command("append", "big", "abc")) + "MN\r\n", memcached_says);
  EXPECT_EQ(store(c, storage_command("prepend", "big", "abc")) + "MN\r\n", memcached_says);
  std::optional<Item> got = fetch(c, "get big\r\n");
  ASSERT_TRUE(got.has_value()) << "the split value survives";
  EXPECT_EQ(got->flags, 7u);
  expect_same_bytes(got->value, big, "big after append and prepend");

  // A plain value appends and prepends as ever, noreply included.
  ASSERT_EQ(store(c, storage_command("set", "small", "b")), "STORED\r\n");
  EXPECT_EQ(store(c, storage_command("append", "small", "c")), "STORED\r\n");
  EXPECT_EQ(store(c, storage_command("prepend", "small", "a")), "STORED\r\n");
  EXPECT_EQ(ask(c, "append small 0 0 1 noreply\r\nd\r\n").bytes, "MN\r\n");
  got = fetch(c, "get small\r\n");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->value, "abcd");
}

TEST_F(SplitCommands, IncrAndDecrAnswerAsForANonNumericValue) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  ASSERT_EQ(direct_line(storage_command("set", "word", "abc")), "STORED\r\nMN\r\n");
  const std::string memcached_says = direct_line("incr word 1\r\n");
  ASSERT_EQ(direct_line("decr word 1\r\n"), memcached_says);
  Client c = connect_proxy();
  ASSERT_EQ(store(c, storage_command("set", "big", random_value(2 * kMiB, 3))), "STORED\r\n");
  EXPECT_EQ(ask(c, "incr big 1\r\n").bytes, memcached_says);
  EXPECT_EQ(ask(c, "decr big 1\r\n").bytes, memcached_says);
}

TEST_F(SplitCommands, MetaGetReadsASplitValueWithItsOwnSizeAndFlags) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const std::string big = random_value(3 * kMiB + 5, 4);
  ASSERT_EQ(store(c, storage_command("set", "big", big, 77)), "STORED\r\n");
  const std::string size = std::to_string(big.size());

  ReadResult r = ask(c, "mg big v\r\n", milliseconds(30000));
  EXPECT_EQ(r.bytes.substr(0, r.bytes.find("\r\n") + 2), "VA " + size + "\r\n");
  expect_same_bytes(r.bytes, "VA " + size + "\r\n" + big + "\r\nMN\r\n", "mg big v");

  r = ask(c, "mg big s v f k O9\r\n", milliseconds(30000));
  const std::string line = "VA " + size + " s" + size + " f77 kbig O9\r\n";
  expect_same_bytes(r.bytes, line + big + "\r\nMN\r\n", "mg big s v f k O9");

  // mg T sets every chunk's exptime, as gat does: the value is gone when it passes.
  r = ask(c, "mg big v T2\r\n", milliseconds(30000));
  EXPECT_EQ(r.bytes.size(), ("VA " + size + "\r\n").size() + big.size() + 2 + 4);
  std::optional<SplitLayout> layout = layout_of("big");
  ASSERT_TRUE(layout.has_value());
  EXPECT_TRUE(
      wait_until([&] { return live_chunks(*layout) == 0; }, milliseconds(10000), milliseconds(100)))
      << "chunks outlived the exptime mg T gave them";

  // Plain values are untouched by the key mcguard asks for.
  ASSERT_EQ(store(c, storage_command("set", "small", "abc", 5)), "STORED\r\n");
  EXPECT_EQ(ask(c, "mg small v f\r\n").bytes, "VA 3 f5\r\nabc\r\nMN\r\n");
  EXPECT_EQ(ask(c, "mg small s\r\n").bytes, "HD s3\r\nMN\r\n");
  EXPECT_EQ(ask(c, "mg missing v\r\n").bytes, "EN\r\nMN\r\n");
}

TEST_F(SplitCommands, AQuietMetaGetOfASplitValueIsAClientError) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  ASSERT_EQ(store(c, storage_command("set", "big", random_value(2 * kMiB, 5))), "STORED\r\n");
  EXPECT_EQ(ask(c, "mg big v q\r\n").bytes,
            "CLIENT_ERROR split value: read it with get, gets, gat or gats\r\nMN\r\n");
}

TEST_F(SplitCommands, MetaSetWritesAndMetaDeleteRemovesSplitValues) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy());
  Client c = connect_proxy();
  const long long baseline = total_items();
  const std::string big = random_value(3 * kMiB, 6);
  const std::string size = std::to_string(big.size());
  EXPECT_EQ(ask(c, "ms big " + size + " F9 T0 O5 k\r\n" + big + "\r\n", milliseconds(30000)).bytes,
            "HD O5 kbig\r\nMN\r\n");
  std::optional<Item> got = fetch(c, "get big\r\n");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->flags, 9u);
  expect_same_bytes(got->value, big, "ms then get");
  std::optional<SplitLayout> layout = layout_of("big");
  ASSERT_TRUE(layout.has_value());
  const long long stored = baseline + 1 + layout->manifest.chunk_count;
  long long seen = 0;
  EXPECT_TRUE(wait_total_items(stored, &seen)) << seen;

  // Add mode on an existing key: not stored, and the chunks it wrote go.
  EXPECT_EQ(ask(c, "ms big " + size + " ME\r\n" + big + "\r\n", milliseconds(30000)).bytes,
            "NS\r\nMN\r\n");
  EXPECT_TRUE(wait_total_items(stored, &seen)) << seen;
  // Quiet: success says nothing.
  EXPECT_EQ(ask(c, "ms big " + size + " q\r\n" + big + "\r\n", milliseconds(30000)).bytes,
            "MN\r\n");
  EXPECT_TRUE(wait_total_items(stored, &seen)) << "the replaced generation's chunks go: " << seen;

  EXPECT_EQ(ask(c, "md big q\r\n").bytes, "MN\r\n");
  EXPECT_TRUE(wait_total_items(baseline, &seen)) << "md left " << seen - baseline << " items";
  EXPECT_EQ(ask(c, "get big\r\n").bytes, "END\r\nMN\r\n");
}

TEST_F(SplitCommands, ReadOnlyMetaSetRefusesALookalike) {
  ASSERT_NO_FATAL_FAILURE(start_split_proxy({"--upstream-split", "read-only"}));
  Client c = connect_proxy();
  EXPECT_EQ(ask(c, "ms x 9 F1296254803\r\n123456789\r\n").bytes,
            "CLIENT_ERROR value could pass for a split value's index\r\nMN\r\n");
  std::string magic_value(kManifestMagic);
  magic_value += "tail";
  EXPECT_EQ(
      ask(c, "ms y " + std::to_string(magic_value.size()) + "\r\n" + magic_value + "\r\n").bytes,
      "CLIENT_ERROR value could pass for a split value's index\r\nMN\r\n");
  EXPECT_EQ(direct_item(0, "x"), std::nullopt);
}

}  // namespace
}  // namespace mcguard::e2e
