#include "proxy/upstream/auth_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace mcguard {
namespace {

// Longer than any real credentials line: a file this large is not an auth file.
constexpr size_t kMaxAuthFileBytes = 64 * 1024;
// The key of the authenticating set; memcached ignores it.
constexpr const char* kAuthKey = "mcguard_auth";

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

std::optional<UpstreamCredentials> read_auth_file(const std::string& path, std::string* error) {
  auto refuse = [&](const std::string& why) -> std::optional<UpstreamCredentials> {
    *error = "upstream auth file '" + path + "': " + why;
    return std::nullopt;
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return refuse(std::strerror(errno));
  struct stat info {};
  if (fstat(fd, &info) != 0) {
    const int saved = errno;
    close(fd);
    return refuse(std::strerror(saved));
  }
  // Checked on the file opened, so a swap between the check and the read cannot slip by.
  if ((info.st_mode & 077) != 0) {
    close(fd);
    *error = "permissions " + octal_mode(info.st_mode) + " for '" + path +
             "' are too open; it must be readable by its owner only (chmod 600)";
    return std::nullopt;
  }
  std::string text;
  char chunk[4096];
  for (;;) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int saved = errno;
      close(fd);
      return refuse(std::strerror(saved));
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > kMaxAuthFileBytes) {
      close(fd);
      return refuse("larger than 64 KiB; expected one user:password line");
    }
  }
  close(fd);
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return refuse("empty; expected one user:password line");
  const size_t colon = line.find(':');
  if (colon == std::string::npos)
    return refuse("its first line has no ':' (expected user:password)");
  UpstreamCredentials credentials;
  credentials.user = line.substr(0, colon);
  credentials.password = line.substr(colon + 1);
  if (credentials.user.empty()) return refuse("its first line has an empty user");
  // memcached splits the data at the first space: a user with one could never match.
  if (credentials.user.find(' ') != std::string::npos) return refuse("the user contains a space");
  const std::string data = credentials.user + " " + credentials.password;
  // Expired at once (-1): a memcached without -Y stores the set, and must not
  // keep the password where any client could get it.
  credentials.request = std::string("set ") + kAuthKey + " 0 -1 " + std::to_string(data.size()) +
                        "\r\n" + data + "\r\n";
  return credentials;
}

}  // namespace mcguard
