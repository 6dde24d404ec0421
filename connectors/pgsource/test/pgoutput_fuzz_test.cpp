// A bounded, deterministic mutation test: real messages with random bytes flipped, cut or
// extended must either decode, with every view inside the input, or throw DecodeError.

#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <variant>

#include "fixture.hpp"
#include "modsync/pgsource/pgoutput_decoder.hpp"

namespace modsync::pgsource {
namespace {

constexpr uint32_t kSeed = 20240229;
constexpr int kIterations = 20000;

bool inside(std::string_view view, std::string_view input) {
  if (view.empty()) return true;
  return view.data() >= input.data() && view.data() + view.size() <= input.data() + input.size();
}

bool row_inside(event::RowImage row, std::string_view input) {
  for (const auto& value : row) {
    if (!inside(value.data, input)) return false;
  }
  return true;
}

// Whether every view in `message` points into `input`.
bool views_inside(const Message& message, std::string_view input) {
  return std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Origin>) return inside(m.name, input);
        if constexpr (std::is_same_v<T, Type>) {
          return inside(m.nspname, input) && inside(m.name, input);
        }
        if constexpr (std::is_same_v<T, Insert>) return row_inside(m.new_row, input);
        if constexpr (std::is_same_v<T, Update>) {
          return row_inside(m.old_row, input) && row_inside(m.new_row, input);
        }
        if constexpr (std::is_same_v<T, Delete>) return row_inside(m.old_row, input);
        if constexpr (std::is_same_v<T, LogicalMessage>) {
          return inside(m.prefix, input) && inside(m.content, input);
        }
        return true;
      },
      message);
}

TEST_CASE("Mutated messages decode or throw DecodeError, nothing else", "[pgoutput][fuzz]") {
  std::vector<std::string> messages = test::load_fixture("pgoutput_v1.hex");
  for (auto& binary : test::load_fixture("pgoutput_v1_binary.hex")) {
    messages.push_back(std::move(binary));
  }
  REQUIRE_FALSE(messages.empty());
  std::mt19937 rng(kSeed);
  PgOutputDecoder decoder;
  int decoded = 0;
  int rejected = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string bytes = messages[rng() % messages.size()];
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) {
      // Bias towards the header, where the lengths and counts are.
      size_t limit = (rng() % 2 == 0) ? std::min<size_t>(bytes.size(), 32) : bytes.size();
      bytes[rng() % limit] = static_cast<char>(rng());
    }
    switch (rng() % 4) {
      case 0:
        bytes.resize(rng() % (bytes.size() + 1));
        break;
      case 1:
        bytes.append(1 + rng() % 8, static_cast<char>(rng()));
        break;
      default:
        break;
    }
    // Exactly sized, so valgrind or ASan would flag a read past the end.
    bytes.shrink_to_fit();
    INFO("iteration " << i);
    try {
      Message message = decoder.decode(bytes);
      REQUIRE(views_inside(message, bytes));
      ++decoded;
    } catch (const DecodeError&) {
      ++rejected;
    }
  }
  // Both outcomes must occur, or the mutations are not exercising the decoder.
  CHECK(decoded > 100);
  CHECK(rejected > 100);
}

}  // namespace
}  // namespace modsync::pgsource
