// Which files of a dataflow's directory stay behind when the dataflow travels to the machines
// that run its nodes: the default exclusions (`.git/`, the logs in `/out/`, build output
// `build/`, `target/`, `__pycache__/`, `*.pyc`) then the directory's `.doraignore`, in gitignore
// syntax: `#` comments, blank lines, `!` re-includes, a trailing `/` matches directories only, a
// pattern with a `/` before its end is anchored to the directory (a leading `/` too), one without
// matches a name at any depth; `*`, `?`, `[a-z]`/`[!a-z]`, `**` (any directories) and `\` escapes.
// The last matching rule wins; what is inside an excluded directory is never looked at.
//
// Thread safety: IgnoreRules is immutable after parse(); ignored() is const and reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dora::deploy {

class IgnoreRules {
  public:
    // The default exclusions only.
    IgnoreRules();
    // The defaults, then the rules of a .doraignore's text.
    [[nodiscard]] static IgnoreRules with(std::string_view doraignore);

    // Whether `path` (relative, '/'-separated, no leading '/') is left out.
    [[nodiscard]] bool ignored(std::string_view path, bool is_directory) const;

  private:
    struct Rule {
        std::string pattern;
        bool negated = false;
        bool directory_only = false;
        bool anchored = false;  // matched against the whole path, not the last name
    };
    void add(std::string_view line);
    std::vector<Rule> rules_;
};

// gitignore glob matching of `pattern` against `text` (`*` and `?` never match '/', `**` as a
// whole path part matches any number of directories). Exposed for tests.
[[nodiscard]] bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace dora::deploy
