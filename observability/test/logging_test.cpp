#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <sstream>
#include <thread>

#include <spdlog/sinks/ostream_sink.h>

#include "modsync/observability/logging.hpp"

using namespace modsync::observability;
using modsync::config::LogFormat;

namespace {

// 2026-11-26T17:00:00.123Z
const spdlog::log_clock::time_point kTime{std::chrono::milliseconds(1795712400123)};

std::string format(LogFormat format, spdlog::level::level_enum level, std::string_view text) {
  auto formatter = make_log_formatter(format);
  spdlog::details::log_msg msg(kTime, spdlog::source_loc{}, "modsync", level,
                               spdlog::string_view_t(text.data(), text.size()));
  spdlog::memory_buf_t buf;
  formatter->format(msg, buf);
  return std::string(buf.data(), buf.size());
}

}  // namespace

TEST_CASE("logfmt lines") {
  CHECK(format(LogFormat::kLogfmt, spdlog::level::info, "capture streaming") ==
        "ts=2026-11-26T17:00:00.123Z level=info msg=\"capture streaming\"\n");
  CHECK(format(LogFormat::kLogfmt, spdlog::level::err, "bad \"x\"\nline2\t\\ \x01") ==
        "ts=2026-11-26T17:00:00.123Z level=error msg=\"bad \\\"x\\\"\\nline2\\t\\\\ "
        "\\u0001\"\n");
  CHECK(format(LogFormat::kLogfmt, spdlog::level::warn, "") ==
        "ts=2026-11-26T17:00:00.123Z level=warn msg=\"\"\n");
}

TEST_CASE("JSON lines") {
  CHECK(format(LogFormat::kJson, spdlog::level::debug, "snapshot done") ==
        R"({"ts":"2026-11-26T17:00:00.123Z","level":"debug","msg":"snapshot done"})"
        "\n");
  CHECK(format(LogFormat::kJson, spdlog::level::critical, "a\"b\\c\nd\re\x1f") ==
        R"({"ts":"2026-11-26T17:00:00.123Z","level":"critical","msg":"a\"b\\c\nd\re\u001f"})"
        "\n");
  // UTF-8 passes through untouched.
  CHECK(format(LogFormat::kJson, spdlog::level::info, "caf\xc3\xa9") ==
        R"({"ts":"2026-11-26T17:00:00.123Z","level":"info","msg":"café"})"
        "\n");
}

TEST_CASE("scoped context fields follow the message, on this thread only") {
  {
    ScopedLogContext pair("pair", "orders-to-shipping");
    ScopedLogContext table("table", "public.order items");
    CHECK(format(LogFormat::kLogfmt, spdlog::level::info, "row skipped") ==
          "ts=2026-11-26T17:00:00.123Z level=info msg=\"row skipped\" pair=orders-to-shipping "
          "table=\"public.order items\"\n");
    CHECK(format(LogFormat::kJson, spdlog::level::info, "row skipped") ==
          R"({"ts":"2026-11-26T17:00:00.123Z","level":"info","msg":"row skipped",)"
          R"("pair":"orders-to-shipping","table":"public.order items"})"
          "\n");
    std::string other;
    std::thread([&] { other = format(LogFormat::kLogfmt, spdlog::level::info, "x"); }).join();
    CHECK(other == "ts=2026-11-26T17:00:00.123Z level=info msg=\"x\"\n");
  }
  CHECK(format(LogFormat::kLogfmt, spdlog::level::info, "after") ==
        "ts=2026-11-26T17:00:00.123Z level=info msg=\"after\"\n");
  ScopedLogContext empty("note", "");
  CHECK(format(LogFormat::kLogfmt, spdlog::level::info, "e") ==
        "ts=2026-11-26T17:00:00.123Z level=info msg=\"e\" note=\"\"\n");
}

TEST_CASE("a logger with the formatter writes through a sink and filters by level") {
  std::ostringstream stream;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
  sink->set_formatter(make_log_formatter(LogFormat::kJson));
  spdlog::logger logger("test", sink);
  logger.set_level(to_spdlog_level(modsync::config::LogLevel::kWarn));
  logger.info("hidden");
  logger.warn("pair {} failed: {}", "p", "password=*** rejected");
  const std::string out = stream.str();
  CHECK(out.find("hidden") == std::string::npos);
  CHECK(out.find(R"("level":"warn","msg":"pair p failed: password=*** rejected"})") !=
        std::string::npos);
  CHECK(std::count(out.begin(), out.end(), '\n') == 1);
}
