// read_auth_file: memcached -Y's user:password format, and the refusals that
// keep a password file from being used when others could read it.
#include "proxy/upstream/auth_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace mcguard {
namespace {

class AuthFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/mcguard_auth_XXXXXX";
    const int fd = mkstemp(pattern);
    ASSERT_GE(fd, 0);
    close(fd);
    path_ = pattern;
  }
  void TearDown() override { unlink(path_.c_str()); }

  void write(const std::string& text, mode_t mode = 0600) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << text;
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }

  std::string path_;
  std::string error_;
};

TEST_F(AuthFileTest, ReadsTheFirstLineAsUserAndPassword) {
  write("alice:s3cret:with:colons\nbob:other\n");
  const auto credentials = read_auth_file(path_, &error_);
  ASSERT_TRUE(credentials) << error_;
  EXPECT_EQ(credentials->user, "alice");
  EXPECT_EQ(credentials->password, "s3cret:with:colons");
  EXPECT_EQ(credentials->request, "set mcguard_auth 0 -1 24\r\nalice s3cret:with:colons\r\n");
}

TEST_F(AuthFileTest, AcceptsALineWithoutNewlineOrWithCrlf) {
  write("alice:pw");
  auto credentials = read_auth_file(path_, &error_);
  ASSERT_TRUE(credentials) << error_;
  EXPECT_EQ(credentials->password, "pw");
  write("alice:pw\r\n");
  credentials = read_auth_file(path_, &error_);
  ASSERT_TRUE(credentials) << error_;
  EXPECT_EQ(credentials->password, "pw");
}

TEST_F(AuthFileTest, RefusesAFileOthersMayRead) {
  write("alice:pw\n", 0644);
  EXPECT_FALSE(read_auth_file(path_, &error_));
  EXPECT_EQ(error_, "permissions 0644 for '" + path_ +
                        "' are too open; it must be readable by its owner only (chmod 600)");
  write("alice:pw\n", 0640);
  EXPECT_FALSE(read_auth_file(path_, &error_));
  EXPECT_NE(error_.find("permissions 0640"), std::string::npos) << error_;
  write("alice:pw\n", 0400);
  EXPECT_TRUE(read_auth_file(path_, &error_)) << error_;
}

TEST_F(AuthFileTest, RefusesAnEmptyFile) {
  write("");
  EXPECT_FALSE(read_auth_file(path_, &error_));
  EXPECT_NE(error_.find("empty"), std::string::npos) << error_;
  EXPECT_NE(error_.find(path_), std::string::npos) << error_;
  write("\n");
  EXPECT_FALSE(read_auth_file(path_, &error_));
}

TEST_F(AuthFileTest, RefusesALineWithoutColonOrUser) {
  write("alice pw\n");
  EXPECT_FALSE(read_auth_file(path_, &error_));
  EXPECT_NE(error_.find("no ':'"), std::string::npos) << error_;
  write(":pw\n");
  EXPECT_FALSE(read_auth_file(path_, &error_));
  EXPECT_NE(error_.find("empty user"), std::string::npos) << error_;
}

TEST_F(AuthFileTest, RefusesAMissingFile) {
  EXPECT_FALSE(read_auth_file(path_ + ".missing", &error_));
  EXPECT_NE(error_.find("No such file"), std::string::npos) << error_;
}

TEST(CredentialsBoxTest, StartsEmptyAndServesWhatWasPublishedLast) {
  CredentialsBox box;
  EXPECT_EQ(box.load(), nullptr);
  box.publish({"a", "1", "r1"});
  const auto first = box.load();
  box.publish({"b", "2", "r2"});
  EXPECT_EQ(first->user, "a");  // a connection's copy outlives the swap
  EXPECT_EQ(box.load()->user, "b");
}

}  // namespace
}  // namespace mcguard
