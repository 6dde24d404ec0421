#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "modsync/common/error.hpp"
#include "snapshotter.hpp"

namespace modsync::capture {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("a snapshot resume key survives its record", "[snapshot]") {
  const std::vector<std::string> key{"t1", "4\"2", "ü\\n", ""};
  const std::string json = encode_key_list(key);
  CHECK(json == R"(["t1","4\"2","ü\\n",""])");
  CHECK(decode_key_list(json) == key);
  CHECK(decode_key_list("").empty());
  CHECK(encode_key_list({}) == "[]");
}

TEST_CASE("a malformed resume key is an error naming the fix", "[snapshot]") {
  for (const std::string bad : {"{", R"({"a":1})", "[1,2]"}) {
    INFO(bad);
    CHECK_THROWS_AS(decode_key_list(bad), Error);
    CHECK_THROWS_WITH(decode_key_list(bad),
                      Contains("malformed resume key") && Contains("modsync resnapshot"));
  }
}

}  // namespace
}  // namespace modsync::capture
