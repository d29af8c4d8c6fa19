// Zenoh key expressions (docs/zenoh-protocol.md section 7): validation of the canonical form,
// canonisation, and the set relations `intersects` and `includes` used to route data to
// subscribers.
//
// A key expression is `/`-separated non-empty chunks. `*` is exactly one chunk, `**` zero or more
// chunks, `$*` inside a chunk any substring (possibly empty). A chunk starting with `@` is
// verbatim: it matches only an identical chunk, and neither `*` nor `**` matches it. On the wire
// key expressions are canonical, so string equality is set equality.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::zenoh::keyexpr {

// Ok when `key` is a valid key expression in canonical form; else an error naming the problem
// (empty chunk, `*` inside a chunk, `#`/`?`, unbound `$`, or a rewrite canonize would make).
[[nodiscard]] Result<> validate(std::string_view key);

// Rewrites a valid but non-canonical key expression: `$*$*` -> `$*`, a lone `$*` chunk -> `*`,
// `**/**` -> `**`, `**/*` -> `*/**`. Errors for what no rewrite can fix.
[[nodiscard]] Result<std::string> canonize(std::string_view key);

// Whether some key belongs to both sets. Both must be canonical.
[[nodiscard]] bool intersects(std::string_view a, std::string_view b);

// Whether every key of `b` belongs to `a`. Both must be canonical.
[[nodiscard]] bool includes(std::string_view a, std::string_view b);

// `prefix` + `suffix` as the wire joins a declared scope with a suffix (plain concatenation).
[[nodiscard]] std::string join(std::string_view prefix, std::string_view suffix);

}  // namespace dora::zenoh::keyexpr
