#include "port_owner.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_set>

namespace mcguard::e2e {
namespace {

constexpr const char* kListenState = "0A";  // TCP_LISTEN in /proc/net/tcp's "st" column

// Adds the inodes of the sockets listening on `port` that `table` lists.
void add_listener_inodes(const char* table, uint16_t port, std::unordered_set<uint64_t>* inodes) {
  std::ifstream in(table);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ..."
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
    uint64_t inode = 0;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode)) {
      continue;
    }
    const size_t colon = local.rfind(':');
    if (colon == std::string::npos || state != kListenState) continue;
    if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) inodes->insert(inode);
  }
}

}  // namespace

bool holds_listener(pid_t pid, uint16_t port) {
  std::unordered_set<uint64_t> listening;
  add_listener_inodes("/proc/net/tcp", port, &listening);
  add_listener_inodes("/proc/net/tcp6", port, &listening);
  if (listening.empty()) return false;
  const std::string fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = opendir(fd_dir.c_str());
  if (dir == nullptr) return false;
  bool holds = false;
  while (dirent* entry = readdir(dir)) {
    char target[64];
    const std::string link = fd_dir + "/" + entry->d_name;
    const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    unsigned long long inode = 0;
    if (std::sscanf(target, "socket:[%llu]", &inode) == 1 && listening.count(inode) > 0) {
      holds = true;
      break;
    }
  }
  closedir(dir);
  return holds;
}

}  // namespace mcguard::e2e
