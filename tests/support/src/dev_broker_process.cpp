#include "modsync/testing/dev_broker_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace modsync::testing {

DevBrokerProcess::DevBrokerProcess() : DevBrokerProcess(Options{}) {}

std::vector<std::string> DevBrokerProcess::command(const Options& options) {
  std::vector<std::string> argv = {options.binary.empty() ? modsync_binary() : options.binary,
                                   "dev-broker", "--partitions",
                                   std::to_string(options.partitions)};
  for (const auto& [topic, partitions] : options.topics) {
    argv.push_back("--topic");
    argv.push_back(fmt::format("{}:{}", topic, partitions));
  }
  if (options.control) {
    argv.push_back("--control-port");
    argv.push_back("0");
  }
  argv.insert(argv.end(), options.extra_args.begin(), options.extra_args.end());
  return argv;
}

DevBrokerProcess::DevBrokerProcess(Options options) : process_(command(options)) {
  const auto line = process_.read_first_line(options.startup_timeout);
  if (!line) {
    throw std::runtime_error(fmt::format("dev-broker printed no address within {} ms: {}",
                                         options.startup_timeout.count(), process_.describe()));
  }
  if (!line->starts_with("127.0.0.1:") || line->size() <= 10) {
    throw std::runtime_error(
        fmt::format("dev-broker's first line is '{}', expected 127.0.0.1:PORT: {}", *line,
                    process_.describe()));
  }
  bootstrap_ = *line;
  if (!options.control) return;
  // The control address is the second line; it is printed in the same flush as the first.
  const auto deadline = std::chrono::steady_clock::now() + options.startup_timeout;
  for (;;) {
    const std::string out = process_.stdout_text();
    const auto first = out.find('\n');
    const auto second = out.find('\n', first + 1);
    if (second != std::string::npos) {
      control_address_ = out.substr(first + 1, second - first - 1);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline || !process_.running()) {
      throw std::runtime_error(
          fmt::format("dev-broker printed no control address: {}", process_.describe()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string DevBrokerProcess::control(const std::string& command) const {
  if (control_address_.empty()) {
    throw std::runtime_error("dev-broker has no control port: start it with Options::control");
  }
  return send_control_line(control_address_, command);
}

std::string send_control_line(const std::string& address, const std::string& line,
                              std::chrono::milliseconds timeout) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("bad address " + address);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr) != 1) {
    throw std::runtime_error("bad address " + address);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error(
        fmt::format("cannot connect to {}: {}", address, std::strerror(errno)));
  }
  const std::string request = line + "\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    throw std::runtime_error(fmt::format("cannot send to {}", address));
  }
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (const auto nl = reply.find('\n'); nl != std::string::npos) return reply.substr(0, nl);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  throw std::runtime_error(
      fmt::format("no reply from {} to '{}' (got '{}')", address, line, reply));
}

int DevBrokerProcess::stop(std::chrono::milliseconds grace) {
  process_.signal(SIGTERM);
  if (auto status = process_.wait(grace)) return *status;
  process_.kill();
  return process_.wait(std::chrono::seconds(10)).value_or(-1);
}

}  // namespace modsync::testing
