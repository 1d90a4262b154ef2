// Differential tests of the meta commands mg ms md ma mn me with their common
// flags. `me` output is implementation-defined: only its format is checked.
#include "differential.h"

namespace mcguard::e2e {
namespace {

TEST_F(Differential, MetaNoop) {
  expect_same("mn\r\n");
  expect_same("mn\r\nmn\r\nmn\r\n");
}

TEST_F(Differential, MetaGetMiss) {
  expect_same("mg a\r\n");
  expect_same("mg a v\r\n");
  expect_same("mg a v k Oopaque123\r\n");
  expect_same("mg a v q\r\n");  // quiet: a miss says nothing
  expect_same("mg a v q k Ox\r\nmg b q\r\n");
}

TEST_F(Differential, MetaGetHitFlags) {
  expect_same("set a 17 0 5\r\nhello\r\n");
  expect_same("mg a\r\n");
  expect_same("mg a v\r\n");
  expect_same("mg a s f\r\n");
  expect_same("mg a v c f s k Oxyz\r\n");
  expect_same("mg a k v f\r\n");              // return flags in request order
  expect_same("mg a t v\r\n");                // no TTL: t-1
  expect_same("mg a v q\r\n");                // quiet hits still answer
  expect_same("mg a h l v\r\nmg a h l\r\n");  // hit-before and last-access
}

TEST_F(Differential, MetaGetTouchAndBase64Key) {
  expect_same("set a 0 0 2\r\nhi\r\n");
  expect_same("mg a T0 v\r\nmg a t v\r\n");
  expect_same("mg YQ== b v k\r\n");  // "a" in base64
  expect_same("mg a zz\r\n");        // bad flag
}

TEST_F(Differential, MetaGetVivify) { expect_same("mg v1 N30 v c\r\nmg v1 v c\r\n"); }

TEST_F(Differential, MetaSet) {
  expect_same("ms a 2\r\nhi\r\nmg a v f\r\n");
  expect_same("ms a 3 F7 T0\r\nbye\r\nmg a v f t\r\n");
  expect_same("ms a 1 c k Oabc\r\nx\r\nmg a v c\r\n");
  expect_same("ms a 1 q\r\ny\r\nmg a v\r\n");  // quiet success says nothing
  expect_same("ms a 0\r\n\r\nmg a v s\r\n");
  expect_same("ms a S1\r\nz\r\n");  // the old-style S flag instead of a length token
}

TEST_F(Differential, MetaSetModes) {
  expect_same("ms m 1 ME\r\na\r\nms m 1 ME\r\nb\r\nmg m v\r\n");        // add
  expect_same("ms m 1 MA\r\n>\r\nms m 1 MP\r\n<\r\nmg m v\r\n");        // append, prepend
  expect_same("ms missing 1 MR\r\nr\r\nms m 1 MR\r\nr\r\nmg m v\r\n");  // replace
  expect_same("ms missing 1 MA\r\nr\r\nmg missing v\r\n");
  expect_same("ms m 1 MS\r\ns\r\nmg m v\r\n");
  expect_same("ms m 1 MX\r\nx\r\nmg m v\r\n");  // unknown mode
}

TEST_F(Differential, MetaSetCompareCas) {
  expect_same("ms a 1\r\nx\r\n");
  const std::string reference_cas = cas_of(Side::kReference, "a");
  const std::string subject_cas = cas_of(Side::kSubject, "a");
  expect_same([&](Side side) {
    const std::string& cas = side == Side::kReference ? reference_cas : subject_cas;
    return "ms a 1 C" + cas + "\r\ny\r\nms a 1 C" + cas + "\r\nz\r\nmg a v c\r\n";
  });
}

TEST_F(Differential, MetaSetErrors) {
  expect_same("ms\r\n");
  expect_same("ms a\r\n");
  expect_same("ms a abc\r\n");
  expect_same("ms a -1\r\n");
  expect_same("ms a 1 F\r\nx\r\n");
}

TEST_F(Differential, MetaDelete) {
  expect_same("md a\r\nmd a q\r\n");  // misses
  expect_same("ms a 1\r\nx\r\nmd a\r\nmg a v\r\n");
  expect_same("ms a 1\r\nx\r\nmd a q k Oo\r\nmg a v\r\n");
  expect_same("ms a 1\r\nx\r\nmd a C999999\r\nmg a v\r\n");            // CAS mismatch
  expect_same("ms a 1\r\nx\r\nmd a I T30\r\nmg a v c\r\nmg a v\r\n");  // invalidate
}

TEST_F(Differential, MetaArithmetic) {
  expect_same("ma n\r\nma n q\r\n");  // misses: NF
  expect_same("ma n N0 J13 v\r\nma n v\r\nma n D5 v\r\nma n MD D3 v\r\n");
  expect_same("ma n MD D100 v\r\n");  // decr stops at zero
  expect_same("ma n MI D18446744073709551615 v\r\nma n v\r\n");
  expect_same("ma n q D2\r\nmg n v\r\n");
  expect_same("ma n v c t k Oop\r\n");
  expect_same("ms s 3\r\nabc\r\nma s v\r\n");  // non-numeric
  expect_same("ma n Dabc\r\nma n MZ\r\n");
}

TEST_F(Differential, MetaDebug) {
  expect_same("me missing\r\n");
  expect_same("set a 0 0 5\r\nhello\r\nme a\r\n");  // "ME a ..." checked for format only
  expect_same("me\r\n");
}

TEST_F(Differential, MetaAndClassicMixed) {
  expect_same(
      "set a 1 0 1\r\nx\r\nmg a v f\r\nappend a 0 0 1\r\ny\r\nmg a v s\r\n"
      "ms b 1 q\r\nz\r\nget a b\r\nmd a q\r\nmn\r\nget a\r\nincr c 1\r\nma b\r\n");
}

}  // namespace
}  // namespace mcguard::e2e
