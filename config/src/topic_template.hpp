#pragma once
// Private: topic templates such as "{module}.{schema}.{table}".

#include <span>
#include <string>
#include <string_view>

namespace modsync::config::detail {

/// Why `tmpl` is not a valid template using only `allowed` placeholders (each without braces),
/// as an "expected …; got …. Fix: …." message; empty when valid. Literal text must be legal in
/// a Kafka topic name: [A-Za-z0-9._-].
std::string check_topic_template(std::string_view tmpl, std::span<const std::string_view> allowed);

struct TemplateValues {
  std::string_view module, schema, table, prefix;
};

/// Replaces each placeholder; assumes check_topic_template() accepted the template.
std::string expand_topic_template(std::string_view tmpl, const TemplateValues& values);

}  // namespace modsync::config::detail
