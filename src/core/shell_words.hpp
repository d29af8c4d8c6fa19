// Shell-like text handling for node `args` and `env` values.
//
// `split_shell_words` splits one string into arguments the way a POSIX shell splits a simple
// command line: words separated by unquoted blanks (space, tab, newline); 'single quotes' keep
// everything literally; "double quotes" keep everything except that a backslash escapes
// `$`, `` ` ``, `"`, `\` and newline; outside quotes a backslash escapes the next character and
// backslash-newline is removed. Nothing else of the shell applies: no variable expansion,
// globbing, comments, or operators (`#`, `|`, `>` are ordinary characters).
//
// `expand_env` replaces `$NAME` and `${NAME}` (NAME = [A-Za-z_][A-Za-z0-9_]*) with the value the
// lookup returns, the empty string when it returns nothing (as a shell does for an unset
// variable). A `$` not followed by a name or `{` stays a literal `$`.
//
// Thread safety: pure functions.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dora {

// Fails on an unterminated quote or a trailing backslash, naming the 1-based position.
[[nodiscard]] Result<std::vector<std::string>> split_shell_words(std::string_view text);

using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Fails on `${` without a closing `}` or with a name that is not a valid variable name.
[[nodiscard]] Result<std::string> expand_env(std::string_view value, const EnvLookup& lookup);

// Looks names up in this process's environment (getenv).
[[nodiscard]] std::optional<std::string> process_env_lookup(std::string_view name);

}  // namespace dora
