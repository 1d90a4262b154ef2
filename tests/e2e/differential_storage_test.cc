// Differential tests of the storage commands: set add replace append prepend
// cas, with and without noreply.
#include "differential.h"

namespace mcguard::e2e {
namespace {

TEST_F(Differential, SetThenGet) {
  expect_same("set a 0 0 1\r\nx\r\nget a\r\n");
  expect_same("set b 42 0 5\r\nhello\r\nget b\r\nget nothing\r\n");
  // Flags are 32 bits; a zero-length value is a valid value.
  expect_same("set c 4294967295 0 0\r\n\r\nget c\r\n");
  // Overwrite with a different length and flags.
  expect_same("set b 7 0 11\r\nhello world\r\nget b\r\n");
  // A relative TTL far in the future, and an absolute one in the past.
  expect_same("set t 0 1000 2\r\nok\r\nget t\r\nset p 0 1000000000 2\r\nok\r\nget p\r\n");
  // A negative TTL expires the item at once.
  expect_same("set n 0 -1 2\r\nok\r\nget n\r\n");
}

TEST_F(Differential, SetWithBadFlagsOrTtl) {
  expect_same("set a 0 0 1\r\nx\r\n");
  expect_same("set a abc 0 1\r\ny\r\nget a\r\n");
  expect_same("set a 4294967296 0 1\r\ny\r\nget a\r\n");
  expect_same("set a -1 0 1\r\ny\r\nget a\r\n");
  expect_same("set a 0 abc 1\r\ny\r\nget a\r\n");
}

TEST_F(Differential, Add) {
  expect_same("add a 0 0 1\r\nx\r\nget a\r\n");
  expect_same("add a 0 0 1\r\ny\r\nget a\r\n");  // NOT_STORED, value unchanged
}

TEST_F(Differential, Replace) {
  expect_same("replace a 0 0 1\r\nx\r\nget a\r\n");  // NOT_STORED on a miss
  expect_same("set a 0 0 1\r\nx\r\nreplace a 3 0 2\r\nyz\r\nget a\r\n");
}

TEST_F(Differential, AppendAndPrepend) {
  expect_same("append a 0 0 1\r\nx\r\nprepend a 0 0 1\r\nx\r\nget a\r\n");  // misses
  // The flags of append/prepend are ignored: the item keeps its own.
  expect_same(
      "set a 9 0 3\r\nmid\r\nappend a 1 0 4\r\n-end\r\nprepend a 2 0 6\r\nstart-\r\nget a\r\n");
  expect_same("append a 0 0 0\r\n\r\nprepend a 0 0 0\r\n\r\nget a\r\n");
  // The CAS changes with every append.
  expect_same("gets a\r\nappend a 0 0 1\r\n!\r\ngets a\r\n");
}

TEST_F(Differential, CasMatchesMismatchesAndMisses) {
  expect_same("cas a 0 0 1 1\r\nx\r\n");  // NOT_FOUND
  expect_same("set a 0 0 1\r\nx\r\ngets a\r\n");
  const std::string reference_cas = cas_of(Side::kReference, "a");
  const std::string subject_cas = cas_of(Side::kSubject, "a");
  ASSERT_FALSE(reference_cas.empty());
  ASSERT_FALSE(subject_cas.empty());
  auto with_cas = [&](std::string_view before, std::string_view after) {
    return [=](Side side) {
      return std::string(before) + (side == Side::kReference ? reference_cas : subject_cas) +
             std::string(after);
    };
  };
  expect_same(with_cas("cas a 5 0 1 ", "\r\ny\r\ngets a\r\n"));  // STORED
  expect_same(with_cas("cas a 0 0 1 ", "\r\nz\r\nget a\r\n"));   // EXISTS: the CAS is stale
  expect_same("cas a 0 0 1 abc\r\nz\r\nget a\r\n");              // bad CAS token
}

TEST_F(Differential, CasNoreply) {
  expect_same("set a 0 0 1\r\nx\r\n");
  const std::string reference_cas = cas_of(Side::kReference, "a");
  const std::string subject_cas = cas_of(Side::kSubject, "a");
  expect_same([&](Side side) {
    const std::string& cas = side == Side::kReference ? reference_cas : subject_cas;
    return "cas a 0 0 1 " + cas + " noreply\r\ny\r\nget a\r\ncas a 0 0 1 " + cas +
           " noreply\r\nz\r\nget a\r\ncas missing 0 0 1 1 noreply\r\nq\r\nget missing\r\n";
  });
}

TEST_F(Differential, StorageNoreply) {
  expect_same(
      "set a 0 0 1 noreply\r\nx\r\n"
      "add a 0 0 1 noreply\r\ny\r\n"
      "add b 0 0 1 noreply\r\nb\r\n"
      "replace a 1 0 2 noreply\r\nxx\r\n"
      "replace missing 0 0 1 noreply\r\nm\r\n"
      "append a 0 0 1 noreply\r\n>\r\n"
      "prepend a 0 0 1 noreply\r\n<\r\n"
      "append missing 0 0 1 noreply\r\nm\r\n"
      "get a b missing\r\n");
}

TEST_F(Differential, NoreplyWithErrors) {
  // Errors are reported (or not) exactly as memcached does, noreply or not.
  expect_same("set a 0 0 x noreply\r\nget a\r\n");
  expect_same("set a 0 0 1 noreply\r\nxyz\r\nget a\r\n");
  expect_same("incr a 1 noreply\r\nget a\r\n");
}

}  // namespace
}  // namespace mcguard::e2e
