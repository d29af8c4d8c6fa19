#include "zenoh/keyexpr.hpp"

#include <cstdint>
#include <vector>

namespace dora::zenoh::keyexpr {

namespace {

std::vector<std::string_view> split(std::string_view key) {
    std::vector<std::string_view> chunks;
    size_t start = 0;
    for (;;) {
        size_t slash = key.find('/', start);
        if (slash == std::string_view::npos) {
            chunks.push_back(key.substr(start));
            return chunks;
        }
        chunks.push_back(key.substr(start, slash - start));
        start = slash + 1;
    }
}

bool verbatim(std::string_view chunk) { return !chunk.empty() && chunk[0] == '@'; }
bool is_double(std::string_view chunk) { return chunk == "**"; }
bool is_single(std::string_view chunk) { return chunk == "*"; }
bool at_wild(std::string_view s, size_t i) {
    return i + 1 < s.size() && s[i] == '$' && s[i + 1] == '*';
}

// Memo table for the dynamic programs below: -1 unknown, 0 false, 1 true.
class Memo {
  public:
    Memo(size_t rows, size_t cols) : cols_(cols + 1), cells_((rows + 1) * (cols + 1), -1) {}
    int8_t& at(size_t i, size_t j) { return cells_[i * cols_ + j]; }

  private:
    size_t cols_;
    std::vector<int8_t> cells_;
};

// Sub-chunk patterns with `$*` wildcards: do they share a string?
bool glob_intersects(std::string_view p, std::string_view q, size_t i, size_t j, Memo& memo) {
    int8_t& cell = memo.at(i, j);
    if (cell >= 0) {
        return cell == 1;
    }
    bool result = false;
    if (at_wild(p, i)) {
        result = glob_intersects(p, q, i + 2, j, memo) ||
                 (j < q.size() && glob_intersects(p, q, i, at_wild(q, j) ? j + 2 : j + 1, memo));
    } else if (at_wild(q, j)) {
        result = glob_intersects(p, q, i, j + 2, memo) ||
                 (i < p.size() && glob_intersects(p, q, i + 1, j, memo));
    } else if (i == p.size() || j == q.size()) {
        result = i == p.size() && j == q.size();
    } else {
        result = p[i] == q[j] && glob_intersects(p, q, i + 1, j + 1, memo);
    }
    cell = result ? 1 : 0;
    return result;
}

// Does pattern `a` match every string pattern `b` matches?
bool glob_includes(std::string_view a, std::string_view b, size_t i, size_t j, Memo& memo) {
    int8_t& cell = memo.at(i, j);
    if (cell >= 0) {
        return cell == 1;
    }
    bool result = false;
    if (at_wild(a, i)) {
        result = glob_includes(a, b, i + 2, j, memo) ||
                 (j < b.size() && glob_includes(a, b, i, at_wild(b, j) ? j + 2 : j + 1, memo));
    } else if (at_wild(b, j)) {
        result = false;
    } else if (i == a.size() || j == b.size()) {
        result = i == a.size() && j == b.size();
    } else {
        result = a[i] == b[j] && glob_includes(a, b, i + 1, j + 1, memo);
    }
    cell = result ? 1 : 0;
    return result;
}

bool chunk_intersects(std::string_view a, std::string_view b) {
    if (verbatim(a) || verbatim(b)) {
        return a == b;
    }
    if (is_single(a) || is_single(b) || a == b) {
        return true;
    }
    Memo memo(a.size(), b.size());
    return glob_intersects(a, b, 0, 0, memo);
}

bool chunk_includes(std::string_view a, std::string_view b) {
    if (verbatim(a) || verbatim(b)) {
        return a == b;
    }
    if (is_single(a) || a == b) {
        return true;
    }
    if (is_single(b)) {
        return false;
    }
    Memo memo(a.size(), b.size());
    return glob_includes(a, b, 0, 0, memo);
}

using Chunks = std::vector<std::string_view>;

bool chunks_intersect(const Chunks& a, const Chunks& b, size_t i, size_t j, Memo& memo) {
    int8_t& cell = memo.at(i, j);
    if (cell >= 0) {
        return cell == 1;
    }
    bool result = false;
    if (i == a.size() && j == b.size()) {
        result = true;
    } else if (i < a.size() && is_double(a[i])) {
        result = chunks_intersect(a, b, i + 1, j, memo) ||
                 (j < b.size() && !verbatim(b[j]) && chunks_intersect(a, b, i, j + 1, memo));
    } else if (j < b.size() && is_double(b[j])) {
        result = chunks_intersect(a, b, i, j + 1, memo) ||
                 (i < a.size() && !verbatim(a[i]) && chunks_intersect(a, b, i + 1, j, memo));
    } else if (i < a.size() && j < b.size()) {
        result = chunk_intersects(a[i], b[j]) && chunks_intersect(a, b, i + 1, j + 1, memo);
    }
    cell = result ? 1 : 0;
    return result;
}

bool chunks_include(const Chunks& a, const Chunks& b, size_t i, size_t j, Memo& memo) {
    int8_t& cell = memo.at(i, j);
    if (cell >= 0) {
        return cell == 1;
    }
    bool result = false;
    if (i == a.size()) {
        result = j == b.size();
    } else if (is_double(a[i])) {
        result = chunks_include(a, b, i + 1, j, memo) ||
                 (j < b.size() && !verbatim(b[j]) && chunks_include(a, b, i, j + 1, memo));
    } else if (j < b.size() && !is_double(b[j])) {
        result = chunk_includes(a[i], b[j]) && chunks_include(a, b, i + 1, j + 1, memo);
    }
    cell = result ? 1 : 0;
    return result;
}

// Checks one chunk's characters and returns it with `$*$*` runs collapsed.
Result<std::string> canonize_chunk(std::string_view chunk, std::string_view key) {
    if (chunk.empty()) {
        return fail("key expression '{}': empty chunk", key);
    }
    if (chunk == "*" || chunk == "**") {
        return std::string(chunk);
    }
    std::string out;
    for (size_t i = 0; i < chunk.size(); ++i) {
        char c = chunk[i];
        if (c == '#' || c == '?') {
            return fail("key expression '{}': '{}' is not allowed", key, c);
        }
        if (c == '$') {
            if (!at_wild(chunk, i)) {
                return fail("key expression '{}': '$' must be followed by '*'", key);
            }
            if (!out.ends_with("$*")) {
                out += "$*";
            }
            ++i;
            continue;
        }
        if (c == '*') {
            return fail("key expression '{}': '*' inside chunk '{}' (use '$*')", key, chunk);
        }
        out.push_back(c);
    }
    if (out == "$*") {
        out = "*";
    }
    return out;
}

}  // namespace

Result<std::string> canonize(std::string_view key) {
    if (key.empty()) {
        return fail("key expression is empty");
    }
    std::vector<std::string> chunks;
    for (auto chunk : split(key)) {
        auto c = canonize_chunk(chunk, key);
        if (!c) {
            return fail(c.error());
        }
        chunks.push_back(std::move(*c));
    }
    // In each run of `*` and `**` chunks: all the `*` first, then one `**` if there was any.
    std::string out;
    size_t i = 0;
    while (i < chunks.size()) {
        size_t singles = 0;
        bool doubles = false;
        while (i < chunks.size() && (chunks[i] == "*" || chunks[i] == "**")) {
            singles += chunks[i] == "*" ? 1 : 0;
            doubles |= chunks[i] == "**";
            ++i;
        }
        for (size_t s = 0; s < singles; ++s) {
            out += out.empty() ? "*" : "/*";
        }
        if (doubles) {
            out += out.empty() ? "**" : "/**";
        }
        if (i < chunks.size()) {
            if (!out.empty()) {
                out.push_back('/');
            }
            out += chunks[i++];
        }
    }
    return out;
}

namespace {

// Allocation-free check of the canonical form (the hot path: every put validates its key).
bool is_canonical(std::string_view key) {
    if (key.empty()) {
        return false;
    }
    std::string_view previous;
    size_t start = 0;
    for (;;) {
        size_t slash = key.find('/', start);
        std::string_view chunk = key.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (chunk.empty() || chunk == "$*" ||
            (previous == "**" && (chunk == "**" || chunk == "*"))) {
            return false;
        }
        if (chunk != "*" && chunk != "**") {
            for (size_t i = 0; i < chunk.size(); ++i) {
                char c = chunk[i];
                if (c == '#' || c == '?' || c == '*') {
                    return false;
                }
                if (c == '$') {
                    if (!at_wild(chunk, i) || at_wild(chunk, i + 2)) {
                        return false;
                    }
                    ++i;
                }
            }
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        previous = chunk;
        start = slash + 1;
    }
}

}  // namespace

Result<> validate(std::string_view key) {
    if (is_canonical(key)) {
        return {};
    }
    auto canon = canonize(key);
    if (!canon) {
        return fail(canon.error());
    }
    if (*canon != key) {
        return fail("key expression '{}' is not canonical (canonical form: '{}')", key, *canon);
    }
    return {};
}

bool intersects(std::string_view a, std::string_view b) {
    if (a == b) {
        return true;
    }
    Chunks ca = split(a);
    Chunks cb = split(b);
    Memo memo(ca.size(), cb.size());
    return chunks_intersect(ca, cb, 0, 0, memo);
}

bool includes(std::string_view a, std::string_view b) {
    if (a == b) {
        return true;
    }
    Chunks ca = split(a);
    Chunks cb = split(b);
    Memo memo(ca.size(), cb.size());
    return chunks_include(ca, cb, 0, 0, memo);
}

std::string join(std::string_view prefix, std::string_view suffix) {
    std::string out;
    out.reserve(prefix.size() + suffix.size());
    out += prefix;
    out += suffix;
    return out;
}

}  // namespace dora::zenoh::keyexpr
