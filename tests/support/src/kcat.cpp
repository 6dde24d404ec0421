#include "modsync/testing/kcat.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <fmt/format.h>
#include <rapidjson/document.h>

#include "modsync/testing/child_process.hpp"

namespace modsync::testing {
namespace {

[[noreturn]] void bad_line(std::string_view line, std::string_view why) {
  throw std::runtime_error(fmt::format("unexpected kcat -J line ({}): {}", why, line));
}

}  // namespace

KcatMessage parse_kcat_json_line(std::string_view line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) bad_line(line, "not a JSON object");
  KcatMessage m;
  const auto topic = doc.FindMember("topic");
  const auto partition = doc.FindMember("partition");
  const auto offset = doc.FindMember("offset");
  if (topic == doc.MemberEnd() || !topic->value.IsString()) bad_line(line, "no topic");
  if (partition == doc.MemberEnd() || !partition->value.IsInt()) bad_line(line, "no partition");
  if (offset == doc.MemberEnd() || !offset->value.IsInt64()) bad_line(line, "no offset");
  m.topic.assign(topic->value.GetString(), topic->value.GetStringLength());
  m.partition = partition->value.GetInt();
  m.offset = offset->value.GetInt64();

  const auto key = doc.FindMember("key");
  if (key != doc.MemberEnd() && key->value.IsString()) {
    m.key.emplace(key->value.GetString(), key->value.GetStringLength());
  } else if (key != doc.MemberEnd() && !key->value.IsNull()) {
    bad_line(line, "key is neither string nor null");
  }
  const auto payload = doc.FindMember("payload");
  if (payload == doc.MemberEnd() || payload->value.IsNull()) {
    m.null_value = true;
  } else if (payload->value.IsString()) {
    m.value.assign(payload->value.GetString(), payload->value.GetStringLength());
  } else {
    bad_line(line, "payload is neither string nor null");
  }
  const auto headers = doc.FindMember("headers");
  if (headers != doc.MemberEnd()) {
    // kcat flattens headers into [name, value, name, value, …]; a null value prints as null.
    if (!headers->value.IsArray() || headers->value.Size() % 2 != 0) {
      bad_line(line, "headers is not a name/value array");
    }
    const auto& arr = headers->value;
    for (rapidjson::SizeType i = 0; i < arr.Size(); i += 2) {
      if (!arr[i].IsString()) bad_line(line, "header name is not a string");
      std::string value;
      if (arr[i + 1].IsString()) value.assign(arr[i + 1].GetString(), arr[i + 1].GetStringLength());
      m.headers.emplace_back(std::string(arr[i].GetString(), arr[i].GetStringLength()),
                             std::move(value));
    }
  }
  return m;
}

std::vector<KcatMessage> kcat_consume(const std::string& brokers, const std::string& topic,
                                      size_t expected_count, std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  std::vector<KcatMessage> best;
  for (;;) {
    ChildProcess kcat(
        {"kcat", "-C", "-b", brokers, "-t", topic, "-o", "beginning", "-e", "-J", "-q"});
    const auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - Clock::now(), Clock::duration(std::chrono::milliseconds(1))));
    const auto status = kcat.wait(remaining);
    if (!status) {
      kcat.kill();
      return best;
    }
    // A non-zero status (e.g. the topic does not exist yet) is one more reason to retry.
    if (*status == 0) {
      std::vector<KcatMessage> got;
      const std::string out = kcat.stdout_text();
      size_t start = 0;
      while (start < out.size()) {
        size_t end = out.find('\n', start);
        if (end == std::string::npos) end = out.size();
        const std::string_view line(out.data() + start, end - start);
        if (!line.empty()) got.push_back(parse_kcat_json_line(line));
        start = end + 1;
      }
      std::sort(got.begin(), got.end(), [](const KcatMessage& a, const KcatMessage& b) {
        return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
      });
      best = std::move(got);
      if (best.size() >= expected_count) return best;
    }
    if (Clock::now() >= deadline) return best;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace modsync::testing
