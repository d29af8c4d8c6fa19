// Files of key material: a private directory (0700), files written whole or not at all (a
// temporary file, fsync, then link or rename), private files (0600) that are refused when another
// user could read them, and the coordinator's default state directory.
//
// Thread safety: free functions; concurrent writers of one path are the caller's business (the
// CA store locks its directory).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::pki {

// $XDG_STATE_HOME/dora/coordinator, else ~/.local/state/dora/coordinator.
[[nodiscard]] Result<std::filesystem::path> default_state_dir();

// Creates `dir` (mode 0700; missing parents with the usual 0755) or checks the existing one: it
// must be a directory of this user that no other user can write to.
[[nodiscard]] Result<> make_private_dir(const std::filesystem::path& dir);

// Writes `content` to `path` with `mode` atomically. Without `replace`, an existing file is an
// error (code EEXIST) naming it and --force.
[[nodiscard]] Result<> write_file(const std::filesystem::path& path, std::string_view content,
                                  mode_t mode, bool replace);

// Reads a file of at most `max_bytes`.
[[nodiscard]] Result<std::string> read_file(const std::filesystem::path& path,
                                            size_t max_bytes = 1 << 20);

// Reads a private key file: refused when it is not this user's or group/others may read or write
// it (the error says `chmod 600`).
[[nodiscard]] Result<std::string> read_private_file(const std::filesystem::path& path);

}  // namespace dora::pki
