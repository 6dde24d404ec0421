// libFuzzer target: a module pair's YAML file through the config loader, as `modsync validate`
// and `modsync run` read it.
//
// Input: the file's bytes (fuzz/corpus/config/ holds config/examples and variants). The
// environment holds ${SET} = "value" and ${PASSWORD} = a password; every other variable is unset.
//
// Oracles: load_file throws ConfigError and nothing else; every diagnostic names the fix; a
// file that loads can be described, and its description never shows the password.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "modsync/config/config.hpp"
#include "modsync/config/config_error.hpp"

namespace {

constexpr std::string_view kPassword = "Fuzz-S3cret-7";

[[noreturn]] void finding(const std::string& what) {
  fprintf(stderr, "config_fuzzer: %s\n", what.c_str());
  abort();
}

const std::filesystem::path& file() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("modsync-config-fuzz-" + std::to_string(::getpid()) + ".yaml");
  return path;
}

std::optional<std::string> env(const std::string& name) {
  if (name == "SET") return "value";
  if (name == "PASSWORD") return std::string(kPassword);
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream out(file(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const modsync::config::PairConfig pair = modsync::config::load_file(file(), env);
    const std::string described = modsync::config::describe(pair);
    // ${PASSWORD} may land in any field; only when it is a DSN's password (and nowhere else)
    // must the description hide it.
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::string keyword = "password=" + std::string(kPassword);
    auto is_password = [&](const std::string& dsn) { return dsn.find(keyword) != dsn.npos; };
    const size_t reference = text.find("${PASSWORD}");
    const bool once = reference != text.npos && text.find("${PASSWORD}", reference + 1) == text.npos &&
                      text.find(kPassword) == text.npos;
    if (once && ((pair.source && is_password(pair.source->dsn)) ||
                 (pair.sink && is_password(pair.sink->dsn))) &&
        described.find(kPassword) != std::string::npos) {
      finding("describe() shows a DSN's password:\n" + described);
    }
    if (pair.source) {
      for (const auto& table : pair.source->tables) {
        (void)modsync::config::topic_for(*pair.source, pair.kafka.topic_prefix, table.schema,
                                         table.table);
      }
    }
  } catch (const modsync::config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) {
      if (d.message.find("Fix") == std::string::npos) {
        finding("a diagnostic without a fix: " + d.to_string());
      }
    }
  }
  return 0;
}
