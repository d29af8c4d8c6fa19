#include "deploy/ignore_rules.hpp"

namespace dora::deploy {

namespace {

constexpr std::string_view kDefaults[] = {".git/",   "/out/",        "build/",
                                          "target/", "__pycache__/", "*.pyc"};

// Matches a bracket expression at the start of `pattern` against `c`; `consumed` is its length
// (0 when the bracket is not closed: then '[' is a plain character).
bool match_class(std::string_view pattern, char c, size_t& consumed) {
    size_t i = 1;
    bool negate = false;
    if (i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^')) {
        negate = true;
        ++i;
    }
    bool matched = false;
    bool first = true;
    for (; i < pattern.size() && (first || pattern[i] != ']'); first = false) {
        char low = pattern[i];
        if (low == '\\' && i + 1 < pattern.size()) {
            low = pattern[++i];
        }
        char high = low;
        if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
            high = pattern[i + 2];
            i += 2;
        }
        matched = matched || (c >= low && c <= high);
        ++i;
    }
    if (i >= pattern.size()) {
        consumed = 0;
        return false;
    }
    consumed = i + 1;
    return c != '/' && matched != negate;
}

}  // namespace

bool glob_match(std::string_view p, std::string_view t) {
    while (!p.empty()) {
        if (p.starts_with("**") && (p.size() == 2 || p[2] == '/')) {
            if (p.size() == 2) {
                return true;  // trailing `**`: everything below
            }
            const std::string_view rest = p.substr(3);
            // `**/`: zero or more whole directories.
            for (size_t at = 0;; ++at) {
                if (glob_match(rest, t.substr(at))) {
                    return true;
                }
                at = t.find('/', at);
                if (at == std::string_view::npos) {
                    return false;
                }
            }
        }
        const char c = p.front();
        if (c == '*') {
            p.remove_prefix(1);
            for (size_t n = 0;; ++n) {
                if (glob_match(p, t.substr(n))) {
                    return true;
                }
                if (n >= t.size() || t[n] == '/') {
                    return false;
                }
            }
        }
        if (t.empty()) {
            return false;
        }
        if (c == '?') {
            if (t.front() == '/') return false;
        } else if (c == '[') {
            size_t consumed = 0;
            const bool ok = match_class(p, t.front(), consumed);
            if (consumed != 0) {
                if (!ok) return false;
                p.remove_prefix(consumed);
                t.remove_prefix(1);
                continue;
            }
            if (t.front() != '[') return false;
        } else if (c == '\\' && p.size() > 1) {
            p.remove_prefix(1);
            if (t.front() != p.front()) return false;
        } else if (t.front() != c) {
            return false;
        }
        p.remove_prefix(1);
        t.remove_prefix(1);
    }
    return t.empty();
}

IgnoreRules::IgnoreRules() {
    for (auto rule : kDefaults) {
        add(rule);
    }
}

IgnoreRules IgnoreRules::with(std::string_view doraignore) {
    IgnoreRules rules;
    while (!doraignore.empty()) {
        const size_t end = doraignore.find('\n');
        std::string_view line = doraignore.substr(0, end);
        doraignore =
            end == std::string_view::npos ? std::string_view() : doraignore.substr(end + 1);
        rules.add(line);
    }
    return rules;
}

void IgnoreRules::add(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    while (!line.empty() && line.back() == ' ' && !line.ends_with("\\ ")) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') {
        return;
    }
    Rule rule;
    if (line.front() == '!') {
        rule.negated = true;
        line.remove_prefix(1);
    } else if (line.starts_with("\\!") || line.starts_with("\\#")) {
        line.remove_prefix(1);
    }
    if (!line.empty() && line.back() == '/') {
        rule.directory_only = true;
        line.remove_suffix(1);
    }
    if (line.empty()) {
        return;
    }
    rule.anchored = line.find('/') != std::string_view::npos;
    if (line.front() == '/') {
        line.remove_prefix(1);
    }
    rule.pattern = std::string(line);
    rules_.push_back(std::move(rule));
}

bool IgnoreRules::ignored(std::string_view path, bool is_directory) const {
    const size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    bool out = false;
    for (const auto& rule : rules_) {
        if (rule.directory_only && !is_directory) {
            continue;
        }
        if (glob_match(rule.pattern, rule.anchored ? path : name)) {
            out = !rule.negated;
        }
    }
    return out;
}

}  // namespace dora::deploy
