// Test support: an environment variable set (or removed) for one scope of the test process and
// restored when the scope ends, also when an assertion returns early. For what the test process
// itself reads; a child process gets its environment through SpawnOptions::env instead.
//
// Thread safety: none. The environment is process-wide: use only while no other thread reads it.
#pragma once

#include <optional>
#include <string>

namespace dora::testing {

class ScopedEnv {
  public:
    // Sets `name` to `value`, or removes it when `value` is std::nullopt.
    ScopedEnv(std::string name, std::optional<std::string> value);
    ~ScopedEnv();
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    std::string name_;
    std::optional<std::string> previous_;
};

}  // namespace dora::testing
