// merge_stats_replies: the replies of N memcached servers to one `stats`
// subcommand become one reply in memcached's shape (rules in stats_merge.h).
#include "proxy/upstream/stats_merge.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/upstream/command_stats.h"

namespace mcguard {
namespace {

std::string merge(GatheredStats kind, std::vector<std::string_view> replies) {
  return merge_stats_replies(kind, replies);
}

TEST(GatheredStatsKind, NamesTheSubcommandsGatheredFromUpstreams) {
  EXPECT_EQ(gathered_stats_kind(""), GatheredStats::kGeneral);
  EXPECT_EQ(gathered_stats_kind("slabs"), GatheredStats::kSlabs);
  EXPECT_EQ(gathered_stats_kind("items"), GatheredStats::kItems);
  EXPECT_EQ(gathered_stats_kind("sizes"), GatheredStats::kSizes);
  EXPECT_EQ(gathered_stats_kind("cachedump 1 0"), GatheredStats::kCachedump);
  EXPECT_FALSE(gathered_stats_kind("settings"));
  EXPECT_FALSE(gathered_stats_kind("conns"));
  EXPECT_FALSE(gathered_stats_kind("reset"));
  EXPECT_FALSE(gathered_stats_kind("slabsx"));
  EXPECT_EQ(gathered_stats_kind("slabs x"), GatheredStats::kSlabs);  // as memcached reads it
  EXPECT_EQ(gathered_stats_kind("items 1"), GatheredStats::kItems);
  EXPECT_FALSE(gathered_stats_kind("cachedump"));
  EXPECT_EQ(gathered_stats_kind("sizes_enable"), GatheredStats::kSizesSwitch);
  EXPECT_EQ(gathered_stats_kind("sizes_disable"), GatheredStats::kSizesSwitch);
}

TEST(IsStatsReply, TellsStatsRepliesFromErrorLines) {
  EXPECT_TRUE(is_stats_reply("STAT a 1\r\nEND\r\n"));
  EXPECT_TRUE(is_stats_reply("ITEM k [1 b; 0 s]\r\nEND\r\n"));
  EXPECT_TRUE(is_stats_reply("END\r\n"));
  EXPECT_FALSE(is_stats_reply("ERROR\r\n"));
  EXPECT_FALSE(is_stats_reply("CLIENT_ERROR bad command line format\r\n"));
  EXPECT_FALSE(is_stats_reply(""));
}

TEST(MergeGeneral, SumsOnlyTheGatheredFiguresInMemcachedsOrder) {
  const std::string a =
      "STAT pid 1\r\nSTAT cmd_get 7\r\nSTAT limit_maxbytes 100\r\nSTAT bytes 10\r\n"
      "STAT curr_items 2\r\nSTAT total_items 5\r\nSTAT evictions 1\r\nEND\r\n";
  const std::string b =
      "STAT pid 2\r\nSTAT limit_maxbytes 200\r\nSTAT bytes 30\r\nSTAT curr_items 3\r\n"
      "STAT total_items 4\r\nSTAT evictions 0\r\nEND\r\n";
  EXPECT_EQ(merge(GatheredStats::kGeneral, {a, b}),
            "STAT limit_maxbytes 300\r\nSTAT bytes 40\r\nSTAT curr_items 5\r\n"
            "STAT total_items 9\r\nSTAT evictions 1\r\nEND\r\n");
}

TEST(MergeGeneral, NoAnswerGivesZerosAndEnd) {
  EXPECT_EQ(merge(GatheredStats::kGeneral, {}),
            "STAT limit_maxbytes 0\r\nSTAT bytes 0\r\nSTAT curr_items 0\r\n"
            "STAT total_items 0\r\nSTAT evictions 0\r\nEND\r\n");
}

TEST(MergeByName, OneServerIsItsOwnReply) {
  const std::string a =
      "STAT 1:chunk_size 96\r\nSTAT 1:used_chunks 1\r\nSTAT active_slabs 1\r\n"
      "STAT total_malloced 1048576\r\nEND\r\n";
  EXPECT_EQ(merge(GatheredStats::kSlabs, {a}), a);
}

TEST(MergeByName, SlabsSumCountsAndKeepConfiguration) {
  const std::string a =
      "STAT 1:chunk_size 96\r\nSTAT 1:chunks_per_page 10922\r\nSTAT 1:total_pages 1\r\n"
      "STAT 1:used_chunks 1\r\nSTAT 1:get_hits 4\r\nSTAT active_slabs 1\r\n"
      "STAT total_malloced 1048576\r\nEND\r\n";
  const std::string b =
      "STAT 1:chunk_size 96\r\nSTAT 1:chunks_per_page 10922\r\nSTAT 1:total_pages 2\r\n"
      "STAT 1:used_chunks 3\r\nSTAT 1:get_hits 1\r\nSTAT active_slabs 1\r\n"
      "STAT total_malloced 2097152\r\nEND\r\n";
  EXPECT_EQ(merge(GatheredStats::kSlabs, {a, b}),
            "STAT 1:chunk_size 96\r\nSTAT 1:chunks_per_page 10922\r\nSTAT 1:total_pages 3\r\n"
            "STAT 1:used_chunks 4\r\nSTAT 1:get_hits 5\r\nSTAT active_slabs 1\r\n"
            "STAT total_malloced 3145728\r\nEND\r\n");
}

TEST(MergeByName, ClassesOnlyLaterServersHaveGoAfterTheNameTheyFollow) {
  // Server a uses classes 1 and 7, server b classes 1 and 5: 5 lands between.
  const std::string a =
      "STAT 1:chunk_size 96\r\nSTAT 1:used_chunks 1\r\nSTAT 7:chunk_size 384\r\n"
      "STAT 7:used_chunks 2\r\nSTAT active_slabs 2\r\nSTAT total_malloced 10\r\nEND\r\n";
  const std::string b =
      "STAT 1:chunk_size 96\r\nSTAT 1:used_chunks 5\r\nSTAT 5:chunk_size 240\r\n"
      "STAT 5:used_chunks 1\r\nSTAT active_slabs 2\r\nSTAT total_malloced 20\r\nEND\r\n";
  EXPECT_EQ(merge(GatheredStats::kSlabs, {a, b}),
            "STAT 1:chunk_size 96\r\nSTAT 1:used_chunks 6\r\nSTAT 5:chunk_size 240\r\n"
            "STAT 5:used_chunks 1\r\nSTAT 7:chunk_size 384\r\nSTAT 7:used_chunks 2\r\n"
            "STAT active_slabs 3\r\nSTAT total_malloced 30\r\nEND\r\n");
}

TEST(MergeByName, NamesOnlyALaterServerHasAtItsFrontGoFirst) {
  const std::string a = "STAT 7:used_chunks 2\r\nEND\r\n";
  const std::string b = "STAT 1:used_chunks 1\r\nSTAT 7:used_chunks 3\r\nEND\r\n";
  EXPECT_EQ(merge(GatheredStats::kSlabs, {a, b}),
            "STAT 1:used_chunks 1\r\nSTAT 7:used_chunks 5\r\nEND\r\n");
}

TEST(MergeByName, ItemsSumCountsAndTakeTheOldestAges) {
  const std::string a =
      "STAT items:1:number 1\r\nSTAT items:1:age_hot 0\r\nSTAT items:1:age_warm 3\r\n"
      "STAT items:1:age 10\r\nSTAT items:1:mem_requested 63\r\nSTAT items:1:evicted 1\r\n"
      "STAT items:1:evicted_time 4\r\nSTAT items:1:hits_to_hot 2\r\nEND\r\n";
  const std::string b =
      "STAT items:1:number 2\r\nSTAT items:1:age_hot 1\r\nSTAT items:1:age_warm 2\r\n"
      "STAT items:1:age 30\r\nSTAT items:1:mem_requested 70\r\nSTAT items:1:evicted 0\r\n"
      "STAT items:1:evicted_time 9\r\nSTAT items:1:hits_to_hot 1\r\nEND\r\n";
  EXPECT_EQ(merge(GatheredStats::kItems, {a, b}),
            "STAT items:1:number 3\r\nSTAT items:1:age_hot 1\r\nSTAT items:1:age_warm 3\r\n"
            "STAT items:1:age 30\r\nSTAT items:1:mem_requested 133\r\nSTAT items:1:evicted 1\r\n"
            "STAT items:1:evicted_time 9\r\nSTAT items:1:hits_to_hot 3\r\nEND\r\n");
}

TEST(MergeByName, ActiveSlabsIsOnlyRecountedInSlabs) {
  // In items there is no such name; a plain name elsewhere is summed.
  EXPECT_EQ(merge(GatheredStats::kSizes, {"STAT 96 2\r\nEND\r\n",
                                          "STAT 96 1\r\nSTAT 128 4\r\n"
                                          "END\r\n"}),
            "STAT 96 3\r\nSTAT 128 4\r\nEND\r\n");
}

TEST(MergeByName, TextValuesAreTheFirstServers) {
  EXPECT_EQ(merge(GatheredStats::kSizes, {"STAT sizes_status disabled\r\nEND\r\n",
                                          "STAT sizes_status enabled\r\nEND\r\n"}),
            "STAT sizes_status disabled\r\nEND\r\n");
  // A number where the first server had text keeps the text.
  EXPECT_EQ(merge(GatheredStats::kSizes, {"STAT x a b\r\nEND\r\n", "STAT x 3\r\nEND\r\n"}),
            "STAT x a b\r\nEND\r\n");
}

TEST(MergeByName, EmptyRepliesGiveOneEnd) {
  EXPECT_EQ(merge(GatheredStats::kSlabs, {"END\r\n", "END\r\n"}), "END\r\n");
  EXPECT_EQ(merge(GatheredStats::kItems, {}), "END\r\n");
}

TEST(MergeByName, LinesThatAreNotStatsAreDropped) {
  EXPECT_EQ(merge(GatheredStats::kSlabs, {"ITEM k [1 b; 0 s]\r\nSTAT a 1\r\nEND\r\n"}),
            "STAT a 1\r\nEND\r\n");
}

TEST(MergeSizesSwitch, IsTheFirstServersLineWithoutEnd) {
  EXPECT_EQ(merge(GatheredStats::kSizesSwitch,
                  {"STAT sizes_status enabled\r\n", "STAT sizes_status enabled\r\n"}),
            "STAT sizes_status enabled\r\n");
}

TEST(MergeCachedump, ListsEveryServersItemsWithOneEnd) {
  EXPECT_EQ(merge(GatheredStats::kCachedump, {"ITEM a [3 b; 0 s]\r\nEND\r\n", "END\r\n",
                                              "ITEM b [1 b; 5 s]\r\nITEM c [2 b; 0 s]\r\nEND\r\n"}),
            "ITEM a [3 b; 0 s]\r\nITEM b [1 b; 5 s]\r\nITEM c [2 b; 0 s]\r\nEND\r\n");
  EXPECT_EQ(merge(GatheredStats::kCachedump, {}), "END\r\n");
}

TEST(MergeByName, ACutReplyWithoutEndStillMerges) {
  EXPECT_EQ(merge(GatheredStats::kSlabs, {"STAT a 1\r\nSTAT b 2", "STAT a 2\r\nEND\r\n"}),
            "STAT a 3\r\nSTAT b 2\r\nEND\r\n");
}

// count_single_reply: the status word of each reply kind, as memcached 1.6.18
// counts it (checked against it by hand: see command_stats.h).
TEST(CountSingleReply, CountsTheOutcomeByReplyAndCommand) {
  UpstreamCommandStats s;
  count_single_reply(s, CountAs::kMetaGet, "VA 1 \r\n");
  count_single_reply(s, CountAs::kMetaGet, "HD\r\n");
  count_single_reply(s, CountAs::kMetaGet, "EN\r\n");
  count_single_reply(s, CountAs::kMetaGet, "");  // q: a miss left out
  count_single_reply(s, CountAs::kMetaGet, "CLIENT_ERROR bad");
  EXPECT_EQ(s.cmd_get.get(), 4u);
  EXPECT_EQ(s.get_hits.get(), 2u);
  EXPECT_EQ(s.get_misses.get(), 2u);
  count_single_reply(s, CountAs::kMetaGetTouch, "HD\r\n");
  count_single_reply(s, CountAs::kMetaGetTouch, "EN\r\n");
  EXPECT_EQ(s.cmd_touch.get(), 1u);
  EXPECT_EQ(s.touch_hits.get(), 1u);
  EXPECT_EQ(s.cmd_get.get(), 5u);
  EXPECT_EQ(s.get_misses.get(), 3u);
  count_single_reply(s, CountAs::kCas, "STORED\r\n");
  count_single_reply(s, CountAs::kCas, "EXISTS\r\n");
  count_single_reply(s, CountAs::kCas, "NOT_FOUND\r\n");
  count_single_reply(s, CountAs::kMetaSetCas, "");
  count_single_reply(s, CountAs::kMetaSetCas, "EX\r\n");
  count_single_reply(s, CountAs::kMetaSetCas, "NF\r\n");
  count_single_reply(s, CountAs::kMetaSetCas, "NS\r\n");
  EXPECT_EQ(s.cas_hits.get(), 2u);
  EXPECT_EQ(s.cas_badval.get(), 2u);
  EXPECT_EQ(s.cas_misses.get(), 2u);
  count_single_reply(s, CountAs::kDelete, "DELETED\r\n");
  count_single_reply(s, CountAs::kDelete, "NOT_FOUND\r\n");
  count_single_reply(s, CountAs::kMetaDelete, "HD\r\n");
  count_single_reply(s, CountAs::kMetaDelete, "NF\r\n");
  count_single_reply(s, CountAs::kMetaDelete, "EX\r\n");
  EXPECT_EQ(s.delete_hits.get(), 2u);
  EXPECT_EQ(s.delete_misses.get(), 2u);
  count_single_reply(s, CountAs::kIncr, "12\r\n");
  count_single_reply(s, CountAs::kIncr, "NOT_FOUND\r\n");
  count_single_reply(s, CountAs::kDecr, "0\r\n");
  count_single_reply(s, CountAs::kMetaIncr, "VA 1\r\n");
  count_single_reply(s, CountAs::kMetaDecr, "NF\r\n");
  EXPECT_EQ(s.incr_hits.get(), 2u);
  EXPECT_EQ(s.incr_misses.get(), 1u);
  EXPECT_EQ(s.decr_hits.get(), 1u);
  EXPECT_EQ(s.decr_misses.get(), 1u);
  count_single_reply(s, CountAs::kTouch, "TOUCHED\r\n");
  count_single_reply(s, CountAs::kTouch, "NOT_FOUND\r\n");
  EXPECT_EQ(s.touch_hits.get(), 2u);
  EXPECT_EQ(s.touch_misses.get(), 1u);
  // Errors count nothing.
  count_single_reply(s, CountAs::kDelete, "SERVER_ERROR x\r\n");
  EXPECT_EQ(s.delete_hits.get() + s.delete_misses.get(), 4u);
}

}  // namespace
}  // namespace mcguard
