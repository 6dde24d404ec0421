// The dev broker's control commands (docs/dev-broker.md, "Fault injection"): one line in, one
// line out, each a thin call into librdkafka's mock cluster API (rdkafka_mock.h).

#include <strings.h>

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "modsync/kafka/dev_broker.hpp"

namespace modsync::kafka {
namespace {

struct ApiName {
  std::string_view name;
  int16_t key;
};

// The requests modsync's clients send (Kafka protocol ApiKey numbers).
constexpr ApiName kApis[] = {
    {"Produce", 0},          {"Fetch", 1},
    {"ListOffsets", 2},      {"Metadata", 3},
    {"OffsetCommit", 8},     {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},
    {"Heartbeat", 12},       {"LeaveGroup", 13},
    {"SyncGroup", 14},       {"ApiVersions", 18},
    {"InitProducerId", 22},  {"OffsetForLeaderEpoch", 23},
};

constexpr std::string_view kHelp =
    "ok commands: ping | request-errors API ERR [ERR...] | clear-request-errors API | "
    "broker-down ID | broker-up ID | broker-rtt ID MS | topic-error TOPIC ERR";

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

bool parse_int(std::string_view s, long long& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// A name from librdkafka's list (NOT_LEADER_FOR_PARTITION, _TRANSPORT, …) or a number.
bool parse_error(std::string_view s, rd_kafka_resp_err_t& out) {
  long long n = 0;
  if (parse_int(s, n)) {
    out = static_cast<rd_kafka_resp_err_t>(n);
    return true;
  }
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name && iequals(s, descs[i].name)) {
      out = descs[i].code;
      return true;
    }
  }
  return false;
}

bool parse_api(std::string_view s, int16_t& out) {
  long long n = 0;
  if (parse_int(s, n) && n >= 0 && n < 100) {
    out = static_cast<int16_t>(n);
    return true;
  }
  for (const auto& api : kApis) {
    if (iequals(s, api.name)) {
      out = api.key;
      return true;
    }
  }
  return false;
}

std::string api_list() {
  std::string out;
  for (const auto& api : kApis) out += fmt::format("{}{}", out.empty() ? "" : ", ", api.name);
  return out;
}

std::string result(rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return "ok";
  return fmt::format("error: {}", rd_kafka_err2str(err));
}

}  // namespace

std::string DevBroker::control(std::string_view line) {
  const auto words = split_words(line);
  if (words.empty()) return "error: empty command. Fix: send `help` for the list";
  const std::string_view cmd = words[0];
  auto usage = [&](std::string_view form) { return fmt::format("error: usage: {}", form); };
  auto bad_api = [&](std::string_view s) {
    return fmt::format("error: unknown API '{}'. Fix: use a number or one of {}", s, api_list());
  };
  auto bad_error = [&](std::string_view s) {
    return fmt::format(
        "error: unknown error '{}'. Fix: use a number or a librdkafka error name without the "
        "RD_KAFKA_RESP_ERR_ prefix, e.g. NOT_LEADER_FOR_PARTITION",
        s);
  };
  rd_kafka_mock_cluster_t* mc = mock();

  if (cmd == "ping") return "ok";
  if (cmd == "help") return std::string(kHelp);
  if (cmd == "request-errors") {
    if (words.size() < 3) return usage("request-errors API ERR [ERR...]");
    int16_t api = 0;
    if (!parse_api(words[1], api)) return bad_api(words[1]);
    std::vector<rd_kafka_resp_err_t> errors;
    for (size_t i = 2; i < words.size(); ++i) {
      rd_kafka_resp_err_t e{};
      if (!parse_error(words[i], e)) return bad_error(words[i]);
      errors.push_back(e);
    }
    rd_kafka_mock_push_request_errors_array(mc, api, errors.size(), errors.data());
    if (api == 0) {
      spdlog::warn(
          "dev broker: Produce errors pushed. The mock does not check idempotent sequence "
          "numbers: a producer with several requests in flight is told a failed request's "
          "messages were delivered when a later request succeeds, and they are not stored. "
          "Fix: give the producer max.in.flight.requests.per.connection=1 for exact results "
          "(docs/dev-broker.md, \"Produce errors lose pipelined messages\")");
    }
    return "ok";
  }
  if (cmd == "clear-request-errors") {
    if (words.size() != 2) return usage("clear-request-errors API");
    int16_t api = 0;
    if (!parse_api(words[1], api)) return bad_api(words[1]);
    rd_kafka_mock_clear_request_errors(mc, api);
    return "ok";
  }
  if (cmd == "broker-down" || cmd == "broker-up" || cmd == "broker-rtt") {
    const bool rtt = cmd == "broker-rtt";
    if (words.size() != (rtt ? 3u : 2u))
      return usage(rtt ? "broker-rtt ID MS" : std::string(cmd) + " ID");
    long long id = 0;
    if (!parse_int(words[1], id) || id < 1 || id > 64) {
      return fmt::format("error: bad broker id '{}'. Fix: use 1..--brokers", words[1]);
    }
    const auto broker = static_cast<int32_t>(id);
    if (rtt) {
      long long ms = 0;
      if (!parse_int(words[2], ms) || ms < 0 || ms > 600000) {
        return fmt::format("error: bad round-trip time '{}'. Fix: use 0..600000 milliseconds",
                           words[2]);
      }
      return result(rd_kafka_mock_broker_set_rtt(mc, broker, static_cast<int>(ms)));
    }
    return result(cmd == "broker-down" ? rd_kafka_mock_broker_set_down(mc, broker)
                                       : rd_kafka_mock_broker_set_up(mc, broker));
  }
  if (cmd == "topic-error") {
    if (words.size() != 3) return usage("topic-error TOPIC ERR");
    rd_kafka_resp_err_t e{};
    if (!parse_error(words[2], e)) return bad_error(words[2]);
    rd_kafka_mock_topic_set_error(mc, std::string(words[1]).c_str(), e);
    return "ok";
  }
  return fmt::format("error: unknown command '{}'. Fix: send `help` for the list", cmd);
}

}  // namespace modsync::kafka
