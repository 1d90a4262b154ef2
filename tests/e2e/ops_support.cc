#include "ops_support.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace mcguard::e2e {

HttpReply http_exchange(uint16_t port, std::string_view request, milliseconds timeout) {
  HttpReply reply;
  auto client = Client::connect(port, milliseconds(3000));
  if (!client || !client->send(request, timeout)) return reply;
  std::string received;
  if (!client->wait_for_close(timeout, &received)) return reply;
  const size_t head_end = received.find("\r\n\r\n");
  if (received.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return reply;
  reply.status = std::atoi(received.c_str() + 9);
  reply.head = received.substr(0, head_end);
  reply.body = received.substr(head_end + 4);
  return reply;
}

HttpReply http_get(uint16_t port, std::string_view path, milliseconds timeout) {
  return http_exchange(port, "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n\r\n",
                       timeout);
}

std::unique_ptr<ServerProcess> start_with_admin(McguardOptions options, uint16_t* admin_port,
                                                std::string* error) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    *admin_port = pick_free_port();
    options.admin = "127.0.0.1:" + std::to_string(*admin_port);
    auto server = start_subject(error, options);
    if (server != nullptr) return server;
  }
  return nullptr;
}

std::map<std::string, std::string> stats_of(Client& client, std::string_view args) {
  std::map<std::string, std::string> out;
  const std::string command = args.empty() ? "stats\r\n" : "stats " + std::string(args) + "\r\n";
  if (!client.send(command, milliseconds(3000))) return out;
  ReadResult r = client.read_until(
      [](std::string_view bytes) -> size_t {
        const size_t end = bytes.find("END\r\n");
        return end == std::string_view::npos ? 0 : end + 5;
      },
      milliseconds(5000));
  std::string_view rest = r.bytes;
  while (!rest.empty()) {
    const size_t eol = rest.find("\r\n");
    if (eol == std::string_view::npos) break;
    std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    if (!line.starts_with("STAT ")) continue;
    line.remove_prefix(5);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    out[std::string(line.substr(0, space))] = std::string(line.substr(space + 1));
  }
  return out;
}

long long stat_number(Client& client, const std::string& name, std::string_view args) {
  auto all = stats_of(client, args);
  auto found = all.find(name);
  return found == all.end() ? -1 : std::atoll(found->second.c_str());
}

TempFile::TempFile(std::string_view text) {
  char path[] = "/tmp/mcguard-ops-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd >= 0) ::close(fd);
  path_ = path;
  rewrite(text);
}

TempFile::~TempFile() { ::unlink(path_.c_str()); }

void TempFile::rewrite(std::string_view text) {
  // Written beside and renamed, so a reader never sees half a file.
  const std::string next = path_ + ".next";
  {
    std::ofstream out(next, std::ios::trunc);
    out << text;
  }
  std::rename(next.c_str(), path_.c_str());
}

std::string set_value(Client& client, std::string_view key, size_t size, milliseconds timeout) {
  std::string request = "set " + std::string(key) + " 0 0 " + std::to_string(size) + "\r\n";
  request.append(size, 'v');
  request += "\r\n";
  if (!client.send(request, timeout)) return "(send failed)";
  return client.read_line(timeout).bytes;
}

bool have_promtool() { return ::access("/usr/bin/promtool", X_OK) == 0; }

void expect_promtool_accepts(const std::string& page) {
  TempFile file(page);
  ProgramRun run =
      run_program({"/bin/sh", "-c", "/usr/bin/promtool check metrics < " + file.path()}, {}, {},
                  milliseconds(30000));
  EXPECT_TRUE(run.status.exited && run.status.code == 0) << "promtool check metrics failed:\n"
                                                         << run.output;
}

}  // namespace mcguard::e2e
