#pragma once
// Names the calling thread for top, perf and gdb (at most 15 characters: longer names are cut).

#include <pthread.h>

#include <string>

namespace modsync::apply {

inline void set_thread_name(std::string name) {
  if (name.size() > 15) name.resize(15);
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace modsync::apply
