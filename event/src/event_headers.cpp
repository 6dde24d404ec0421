#include "modsync/event/event_headers.hpp"

#include "json_append.hpp"
#include "modsync/common/time.hpp"

namespace modsync::event {
namespace {

// Slots in headers_; the schema version goes last so message events can leave it out.
enum Slot : std::size_t {
  kContentType,
  kSpecVersion,
  kId,
  kSource,
  kType,
  kTime,
  kSchemaVersion,
};

}  // namespace

EventHeaders::EventHeaders() {
  headers_[kContentType] = {"content-type", "application/json"};
  headers_[kSpecVersion] = {"ce_specversion", "1.0"};
  headers_[kId].name = "ce_id";
  headers_[kSource].name = "ce_source";
  headers_[kType].name = "ce_type";
  headers_[kTime].name = "ce_time";
  headers_[kSchemaVersion].name = kSchemaVersionHeader;
}

void EventHeaders::fill_common(std::string_view type_suffix, const SourceInfo& source) {
  std::string& id = headers_[kId].value;
  id.clear();
  append_event_id(source, id);
  std::string& type = headers_[kType].value;
  type.assign("modsync.");
  type.append(type_suffix);
  std::string& time = headers_[kTime].value;
  time.clear();
  append_rfc3339_ms(source.commit_time_ms, time);
}

void EventHeaders::fill_change(const TableSchema& table, Op op, const SourceInfo& source) {
  const char letter[] = {'c', 'h', 'a', 'n', 'g', 'e', '.', static_cast<char>(op)};
  fill_common({letter, sizeof letter}, source);
  std::string& src = headers_[kSource].value;
  src.assign("modsync/");
  src.append(table.module);
  src.push_back('/');
  src.append(table.schema);
  src.push_back('.');
  src.append(table.table);
  std::string& version = headers_[kSchemaVersion].value;
  version.clear();
  detail::append_decimal(table.version, version);
  count_ = kMaxHeaders;
}

void EventHeaders::fill_message(std::string_view module, const SourceInfo& source) {
  fill_common("message", source);
  std::string& src = headers_[kSource].value;
  src.assign("modsync/");
  src.append(module);
  count_ = kSchemaVersion;
}

uint32_t schema_version_of(std::optional<std::string_view> header) {
  if (!header) return 1;
  uint32_t version = 0;
  for (char c : *header) version = version * 10 + static_cast<uint32_t>(c - '0');
  return version;
}

const std::string* EventHeaders::find(std::string_view name) const {
  for (std::size_t i = 0; i < count_; ++i)
    if (headers_[i].name == name) return &headers_[i].value;
  return nullptr;
}

}  // namespace modsync::event
