#pragma once
// Loads captured pgoutput messages (fixtures/*.hex, written by fixtures/capture.sh).

#include <string>
#include <string_view>
#include <vector>

namespace modsync::pgsource::test {

/// The messages of fixtures/<name>, decoded from hex, in file order; comment lines (#) and
/// blank lines skipped. Throws std::runtime_error if the file is missing or not hex.
std::vector<std::string> load_fixture(std::string_view name);

/// The bytes of `hex` (two digits per byte). Throws std::runtime_error if it is not hex.
std::string from_hex(std::string_view hex);

}  // namespace modsync::pgsource::test
