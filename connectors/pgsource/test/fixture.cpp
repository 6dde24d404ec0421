#include "fixture.hpp"

#include <fstream>
#include <stdexcept>

namespace modsync::pgsource::test {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  throw std::runtime_error(std::string("not a hex digit: ") + c);
}

}  // namespace

std::string from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) throw std::runtime_error("odd number of hex digits");
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(hex_digit(hex[i]) * 16 + hex_digit(hex[i + 1])));
  }
  return bytes;
}

std::vector<std::string> load_fixture(std::string_view name) {
  std::string path = std::string(MODSYNC_PG_FIXTURE_DIR) + "/" + std::string(name);
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot open fixture " + path);
  std::vector<std::string> messages;
  std::string line;
  while (std::getline(file, line)) {
    if (line.empty() || line[0] == '#') continue;
    messages.push_back(from_hex(line));
  }
  return messages;
}

}  // namespace modsync::pgsource::test
