#pragma once
// The modsync release, as events carry it in source.version.

namespace modsync::event {

/// The release that wrote an event. Kept equal to the CMake project version: the build checks
/// it (event/src/envelope_encoder.cpp), so the two cannot drift apart.
inline constexpr char kModsyncVersion[] = "0.1.0";

}  // namespace modsync::event
