#include "modsync/observability/logging.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>

#include "modsync/common/json_string.hpp"
#include "modsync/common/time.hpp"

namespace modsync::observability {

namespace {

using Field = std::pair<std::string, std::string>;

std::vector<Field>& thread_context() {
  thread_local std::vector<Field> fields;
  return fields;
}

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    case spdlog::level::off:
      return "off";
    case spdlog::level::n_levels:
      break;
  }
  return "unknown";
}

/// "2026-11-26T17:00:00.123Z"
void append_timestamp(std::string& out, spdlog::log_clock::time_point time) {
  append_rfc3339_ms(
      std::chrono::floor<std::chrono::milliseconds>(time.time_since_epoch()).count(), out);
}

/// A logfmt value: bare when it is non-empty and holds no space, `=`, `"`, `\` or control
/// character; otherwise a quoted JSON string.
void append_logfmt_value(std::string& out, std::string_view text) {
  const bool bare = !text.empty() && std::none_of(text.begin(), text.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7f || c == '=' || c == '"' || c == '\\';
  });
  if (bare) {
    out += text;
  } else {
    append_json_string(text, out);
  }
}

std::string_view payload(const spdlog::details::log_msg& msg) {
  return std::string_view(msg.payload.data(), msg.payload.size());
}

class LogfmtFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "ts=";
    append_timestamp(line, msg.time);
    line += " level=";
    line += level_name(msg.level);
    line += " msg=";
    append_json_string(payload(msg), line);
    for (const auto& [key, value] : thread_context()) {
      line += ' ';
      line += key;
      line += '=';
      append_logfmt_value(line, value);
    }
    line += '\n';
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LogfmtFormatter>();
  }
};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"ts\":\"";
    append_timestamp(line, msg.time);
    line += "\",\"level\":\"";
    line += level_name(msg.level);
    line += "\",\"msg\":";
    append_json_string(payload(msg), line);
    for (const auto& [key, value] : thread_context()) {
      line += ',';
      append_json_string(key, line);
      line += ':';
      append_json_string(value, line);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

spdlog::level::level_enum to_spdlog_level(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kTrace:
      return spdlog::level::trace;
    case config::LogLevel::kDebug:
      return spdlog::level::debug;
    case config::LogLevel::kInfo:
      return spdlog::level::info;
    case config::LogLevel::kWarn:
      return spdlog::level::warn;
    case config::LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::unique_ptr<spdlog::formatter> make_log_formatter(config::LogFormat format) {
  switch (format) {
    case config::LogFormat::kLogfmt:
      return std::make_unique<LogfmtFormatter>();
    case config::LogFormat::kJson:
      return std::make_unique<JsonFormatter>();
  }
  return std::make_unique<LogfmtFormatter>();
}

void configure_logging(config::LogFormat format, config::LogLevel level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(make_log_formatter(format));
  // Not registered by name: main() may already have registered a logger called "modsync";
  // set_default_logger replaces it in the registry.
  auto logger = std::make_shared<spdlog::logger>("modsync", std::move(sink));
  logger->set_level(to_spdlog_level(level));
  // Warnings and errors reach the journal or kubectl logs at once, even if the process dies.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
}

void reconfigure_logging(config::LogFormat format, config::LogLevel level) {
  auto logger = spdlog::default_logger();
  logger->set_formatter(make_log_formatter(format));
  logger->set_level(to_spdlog_level(level));
}

ScopedLogContext::ScopedLogContext(std::string key, std::string value) {
  thread_context().emplace_back(std::move(key), std::move(value));
}

ScopedLogContext::~ScopedLogContext() {
  thread_context().pop_back();
}

}  // namespace modsync::observability
